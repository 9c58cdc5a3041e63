"""Boot Loader Specification entries (``/boot/loader/entries/ostree-*.conf``).

An entry is ``KEY VALUE`` lines. ostree writes ``title``, ``version``,
``options``, ``devicetree``, ``linux``, ``initrd`` in that order, then any
extra initrds, then other keys (``fdtdir``, bls-append values) in the order
GLib's hash table gives them.
"""

import os

from ostree_py.errors import OstreeError

_ORDER = ("title", "version", "options", "devicetree", "linux", "initrd")


class BootConfig:
    """One BLS entry: a key -> value map plus overlay initrds."""

    __slots__ = ("options", "overlay_initrds")

    def __init__(self, options: dict | None = None):
        self.options: dict[str, str] = dict(options or {})
        self.overlay_initrds: list[str] = []

    def get(self, key: str, default=None):
        return self.options.get(key, default)

    def set(self, key: str, value: str) -> None:
        self.options[key] = value

    def copy(self) -> "BootConfig":
        c = BootConfig(self.options)
        c.overlay_initrds = list(self.overlay_initrds)
        return c

    @classmethod
    def parse(cls, text: str) -> "BootConfig":
        """Parse an entry: lines starting with a letter split at the first space or tab."""
        bc = cls()
        for line in text.split("\n"):
            if not line[:1].isascii() or not line[:1].isalpha():
                continue
            for i, ch in enumerate(line):
                if ch in " \t":
                    key, value = line[:i], line[i + 1:]
                    break
            else:
                continue
            if key == "initrd" and "initrd" in bc.options:
                bc.overlay_initrds.append(value)
            else:
                bc.options[key] = value
        return bc

    @classmethod
    def load(cls, path: str) -> "BootConfig":
        with open(path, "rb") as f:
            data = f.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise OstreeError(f"Invalid UTF-8 in {os.path.basename(path)}") from None
        return cls.parse(text)

    def to_text(self) -> str:
        out = []
        for k in _ORDER:
            if k in self.options:
                out.append(f"{k} {self.options[k]}\n")
        for i in self.overlay_initrds:
            out.append(f"initrd {i}\n")
        extra = [k for k in self.options if k not in _ORDER]
        if len(extra) > 1:
            from ostree_py.core.ghash import GHashTable
            t = GHashTable()
            for k in self.options:
                t[k] = None
            extra = [k for k in t.keys() if k not in _ORDER]
        for k in extra:
            out.append(f"{k} {self.options[k]}\n")
        return "".join(out)
