"""GRUB 2: ``boot/grub2/grub.cfg`` or ``boot/grub/grub.cfg`` (BIOS), or
``boot/efi/EFI/*/grub.cfg``. The config is made by an external generator:
``$OSTREE_GRUB2_EXEC`` (the upstream tests' ostree-grub-generator), else
``grub-mkconfig``, run as ``EXEC -o boot/loader.N/grub.cfg`` with
``_OSTREE_GRUB2_BOOTVERSION`` set.
"""

import os
import subprocess

from ostree_py.errors import OstreeError
from ostree_py.sysroot.bootloader import Bootloader

MKCONFIG = "/usr/sbin/grub-mkconfig"


class Grub2(Bootloader):
    name = "grub2"

    def __init__(self, sysroot):
        super().__init__(sysroot)
        self.is_efi = False
        self.config_path_efi = None

    def query(self) -> bool:
        for rel in ("boot/grub/grub.cfg", "boot/grub2/grub.cfg"):
            if os.path.exists(self.sysroot.p(rel)):
                return True
        efi = self.sysroot.p("boot/efi/EFI")
        if os.path.isdir(efi):
            for e in os.scandir(efi):
                if e.name == "BOOT" or not e.is_dir(follow_symlinks=False):
                    continue
                cfg = os.path.join(e.path, "grub.cfg")
                if os.path.exists(cfg):
                    self.config_path_efi = cfg
                    self.is_efi = True
                    return True
        return False

    def is_atomic(self) -> bool:
        return not self.is_efi

    def write_config(self, bootversion: int, deployments) -> None:
        exe = os.environ.get("OSTREE_GRUB2_EXEC") or MKCONFIG
        system_mkconfig = exe.endswith(MKCONFIG)
        if system_mkconfig and self.sysroot.booted_deployment is None and self.sysroot.path != "/":
            raise OstreeError("Running grub2-mkconfig inside a deployment (chroot) is not supported by "
                              "ostree-py; set OSTREE_GRUB2_EXEC to a generator")
        if self.is_efi:
            new_path = os.path.join(os.path.dirname(self.config_path_efi), "grub.cfg.new")
            if os.path.lexists(new_path):
                os.unlink(new_path)
        else:
            new_path = self.sysroot.p(f"boot/loader.{bootversion}/grub.cfg")
        env = dict(os.environ, _OSTREE_GRUB2_BOOTVERSION=str(bootversion))
        if self.is_efi:
            env["_OSTREE_GRUB2_IS_EFI"] = "1"
        quiet = not os.environ.get("OSTREE_DEBUG_GRUB2")
        try:
            p = subprocess.run([exe, "-o", new_path], env=env,
                               stdout=subprocess.DEVNULL if quiet else None,
                               stderr=subprocess.DEVNULL if quiet else None)
        except OSError as e:
            raise OstreeError(f"Failed to execute child process “{exe}” ({os.strerror(e.errno)})") from None
        if p.returncode != 0:
            raise OstreeError(f"{exe}: Child process exited with code {p.returncode}")
        fd = os.open(new_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)
        if self.is_efi:
            import shutil
            old = os.path.join(os.path.dirname(self.config_path_efi), "grub.cfg.old")
            if os.path.lexists(old):
                os.unlink(old)
            shutil.copy2(self.config_path_efi, old)
            os.unlink(self.config_path_efi)
            os.rename(new_path, self.config_path_efi)
