"""SYSLINUX: ``boot/syslinux/syslinux.cfg`` (a link to ``loader/syslinux.cfg``).

Non-ostree LABEL blocks of the current config are kept; ostree's are
regenerated from the BLS entries (``KERNEL /boot/...``), and the DEFAULT
line too when it named an ostree entry or was missing.
"""

import os

from ostree_py.errors import OstreeError
from ostree_py.sysroot.bootloader import Bootloader, join_lines

CONFIG_PATH = "boot/syslinux/syslinux.cfg"


class Syslinux(Bootloader):
    name = "syslinux"

    def query(self) -> bool:
        return os.path.lexists(self.sysroot.p(CONFIG_PATH))

    def write_config(self, bootversion: int, deployments) -> None:
        try:
            with open(self.sysroot.p(CONFIG_PATH), encoding="utf-8") as f:
                contents = f.read()
        except OSError as e:
            raise OstreeError(f"openat({CONFIG_PATH}): {os.strerror(e.errno)}") from None
        lines = contents.split("\n")
        new_lines, tmp_lines = [], []
        kernel_arg = None
        saw_default = regenerate_default = parsing_label = False
        for line in lines + [None]:
            if parsing_label and (line is None or not line.startswith("\t")):
                parsing_label = False
                if kernel_arg is None:
                    raise OstreeError("No KERNEL argument found after LABEL")
                if not kernel_arg.startswith("/ostree/") and not kernel_arg.startswith("/boot/ostree/"):
                    new_lines.extend(tmp_lines)
                tmp_lines = []
            if line is None:
                break
            skip = False
            if not parsing_label and line.startswith("LABEL "):
                parsing_label = True
                tmp_lines = []
            elif parsing_label and line.startswith("\tKERNEL "):
                kernel_arg = line[len("\tKERNEL "):]
            elif not parsing_label and line.startswith("DEFAULT "):
                saw_default = True
                if line.startswith("DEFAULT ostree:") or "(ostree" in line:
                    regenerate_default = True
                skip = True
            if not skip:
                (tmp_lines if parsing_label else new_lines).append(line)
        if not saw_default:
            regenerate_default = True
        # entries that already start with /boot ([sysroot] bootprefix) get no second one
        prefix = "" if self.sysroot.bootprefix() else "/boot"
        for i, cfg in enumerate(self.sysroot.read_loader_configs(bootversion)):
            title = cfg.get("title") or "(Untitled)"
            if regenerate_default and i == 0:
                new_lines.append(f"DEFAULT {title}")
            new_lines.append(f"LABEL {title}")
            val = cfg.get("linux")
            if val is None:
                raise OstreeError('No "linux" key in bootloader config')
            new_lines.append(f"\tKERNEL {prefix}{val}")
            for key, word in (("initrd", "INITRD"), ("devicetree", "DEVICETREE")):
                val = cfg.get(key)
                if val is not None:
                    new_lines.append(f"\t{word} {prefix}{val}")
            val = cfg.get("options")
            if val is not None:
                new_lines.append(f"\tAPPEND {val}")
        from ostree_py.util.fs import write_atomic
        write_atomic(self.sysroot.p(f"boot/loader.{bootversion}/syslinux.cfg"),
                          join_lines(new_lines).encode("utf-8"), 0o644, chmod=True)
