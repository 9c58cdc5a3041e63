"""U-Boot: ``boot/loader/uEnv.txt`` with ``kernel_image``/``ramdisk_image``/``bootargs``
(suffixed 2, 3... for the older entries), plus the tree's own
``usr/lib/ostree-boot/uEnv.txt`` after the first entry's arguments.
"""

import os

from ostree_py.errors import OstreeError
from ostree_py.sysroot.kargs import KernelArgs
from ostree_py.sysroot.bootloader import Bootloader, join_lines

CONFIG_PATH = "boot/loader/uEnv.txt"


class Uboot(Bootloader):
    name = "U-Boot"

    def query(self) -> bool:
        return os.path.lexists(self.sysroot.p(CONFIG_PATH))

    def _system_uenv(self, bootargs: str, new_lines: list) -> None:
        ostree_arg = KernelArgs.from_string(bootargs).get_last_value("ostree")
        if not ostree_arg:
            raise OstreeError("No ostree= kernel argument found in boot loader configuration file")
        rel = ostree_arg[1:] + "/usr/lib/ostree-boot/uEnv.txt"
        try:
            with open(self.sysroot.p(rel), encoding="utf-8") as f:
                new_lines.append(f.read())
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError) as e:
            raise OstreeError(f"Reading {rel}: {e}") from None

    def write_config(self, bootversion: int, deployments) -> None:
        try:
            with open(self.sysroot.p(CONFIG_PATH), encoding="utf-8") as f:
                f.read()
        except OSError as e:
            raise OstreeError(f"openat({CONFIG_PATH}): {os.strerror(e.errno)}") from None
        new_lines = []
        for i, cfg in enumerate(self.sysroot.read_loader_configs(bootversion)):
            sfx = "" if i == 0 else str(i + 1)
            val = cfg.get("linux")
            if val is None:
                raise OstreeError('No "linux" key in bootloader config')
            new_lines.append(f"kernel_image{sfx}=/boot{val}")
            for key, var in (("initrd", "ramdisk_image"), ("devicetree", "fdt_file"), ("fdtdir", "fdtdir")):
                val = cfg.get(key)
                if val is not None:
                    new_lines.append(f"{var}{sfx}=/boot{val}")
            val = cfg.get("options")
            if val is not None:
                new_lines.append(f"bootargs{sfx}={val}")
                if i == 0:
                    self._system_uenv(val, new_lines)
        from ostree_py.util.fs import write_atomic
        write_atomic(self.sysroot.p(f"boot/loader.{bootversion}/uEnv.txt"),
                          join_lines(new_lines).encode("utf-8"), 0o644, chmod=True)
