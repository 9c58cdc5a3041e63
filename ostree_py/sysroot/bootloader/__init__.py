"""Bootloader backends: write a bootloader's own config from the new BLS entries.

``sysroot.bootloader`` in the repo config picks one (``none``, ``auto``,
``grub2``, ``syslinux``, ``uboot``, ``zipl``); ``auto`` (the default) probes
syslinux, grub2 and U-Boot in that order, and with none found only BLS
entries are written (a BLS-reading bootloader needs nothing else).
"""

from ostree_py.errors import OstreeError

BOOTLOADER_CHOICES = ("none", "auto", "grub2", "syslinux", "uboot", "zipl")


class Bootloader:
    """The interface of a backend."""

    name = "none"

    def __init__(self, sysroot):
        self.sysroot = sysroot

    def query(self) -> bool:
        """Whether this bootloader is in use in the sysroot."""
        return False

    def write_config(self, bootversion: int, deployments) -> None:
        """Write ``boot/loader.BOOTVERSION/<config>`` from that version's BLS entries."""

    def is_atomic(self) -> bool:
        return True

    def post_bls_sync(self, bootversion: int) -> None:
        """Work after the loader swap (zipl would run its installer here)."""


def _by_name(sysroot, name: str):
    if name == "none":
        return None
    if name == "grub2":
        from ostree_py.sysroot.bootloader.grub2 import Grub2
        return Grub2(sysroot)
    if name == "syslinux":
        from ostree_py.sysroot.bootloader.syslinux import Syslinux
        return Syslinux(sysroot)
    if name == "uboot":
        from ostree_py.sysroot.bootloader.uboot import Uboot
        return Uboot(sysroot)
    if name == "zipl":
        raise OstreeError("sysroot.bootloader zipl is not supported by ostree-py")
    raise OstreeError(f"Invalid sysroot.bootloader: {name}")


def query_bootloader(sysroot):
    """The backend to use for ``sysroot`` (None: BLS entries only)."""
    cfg = sysroot.repo.config
    name = cfg.get("sysroot", "bootloader", "auto") if cfg is not None else "auto"
    if name not in BOOTLOADER_CHOICES:
        raise OstreeError(f"Invalid sysroot.bootloader: {name}")
    if name != "auto":
        return _by_name(sysroot, name)
    for probe in ("syslinux", "grub2", "uboot"):
        bl = _by_name(sysroot, probe)
        if bl.query():
            return bl
    return None


def join_lines(lines) -> str:
    """_ostree_sysroot_join_lines: newline-terminated, leading and repeated empty lines dropped."""
    out = []
    prev_empty = False
    for i, line in enumerate(lines):
        if line == "":
            if prev_empty or i == 0:
                continue
            prev_empty = True
        out.append(line + "\n")
    return "".join(out)
