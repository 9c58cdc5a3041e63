"""Kernel command line arguments, kept in order with repeated keys (OstreeKernelArgs).

A command line is a list of ``key`` or ``key=value`` items; a key may repeat
(``console=ttyS0 console=tty0``). Replacing a key keeps its first position;
appending always adds at the end. As in ostree 2024.5 and later, a string
given to append or delete, or parsed as an ``options`` line, is split on
single spaces outside double quotes (``test="1 2"`` stays one argument, with
its quotes); ostree 2022.7 split on every space.
"""

from ostree_py.errors import OstreeError


class KernelArgsError(OstreeError):
    """A kernel argument operation that cannot be done (e.g. deleting a missing key)."""


def split_args(text: str) -> list[str]:
    """``text`` split on single spaces outside double quotes, after leading spaces.

    As ostree's split_kernel_args: two spaces in a row give an empty argument.
    Where ostree aborts (a quote left open) the rest is kept as the last argument.
    """
    start = len(text) - len(text.lstrip(" "))
    out, quoted = [], False
    for i in range(start, len(text)):
        c = text[i]
        if c == '"':
            quoted = not quoted
        elif c == " " and not quoted:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def _split(arg: str):
    key, eq, value = arg.partition("=")
    return key, (value if eq else None)


class KernelArgs:
    """An ordered multimap of kernel arguments."""

    __slots__ = ("_order",)

    def __init__(self, args=()):
        self._order: list[list] = []  # [key, value|None]
        for a in args:
            self.append(a)

    @classmethod
    def from_string(cls, options: str | None) -> "KernelArgs":
        """Parse an ``options`` line (None gives an empty set)."""
        k = cls()
        if options is not None:
            for a in split_args(options):
                k.append(a)
        return k

    def _entries(self, key: str) -> list:
        return [e for e in self._order if e[0] == key]

    def contains(self, arg: str) -> bool:
        """Whether the key of ``arg`` is present."""
        return any(e[0] == _split(arg)[0] for e in self._order)

    def append(self, arg: str) -> None:
        """Add ``arg`` (each of its space-separated arguments) at the end, even if its key is
        already there."""
        for a in split_args(arg):
            self._order.append(list(_split(a)))

    def append_argv(self, argv, prefixes=()) -> None:
        """Append each argument not starting with one of ``prefixes``."""
        for a in argv or ():
            if not any(a.startswith(p) for p in prefixes):
                self.append(a)

    def append_if_missing(self, arg: str) -> None:
        if not self.contains(arg):
            self.append(arg)

    def replace(self, arg: str) -> None:
        """Set ``arg``'s key to this single value, where the key first appeared (else at the end)."""
        key, value = _split(arg)
        idx = next((i for i, e in enumerate(self._order) if e[0] == key), None)
        if idx is None:
            self._order.append([key, value])
            return
        self._order = [e for e in self._order if e[0] != key]
        self._order.insert(idx, [key, value])

    def replace_argv(self, argv) -> None:
        for a in argv or ():
            self.replace(a)

    def append_proc_cmdline(self, path: str = "/proc/cmdline") -> None:
        """Append the running kernel's arguments, less those the bootloader adds."""
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError as e:
            raise OstreeError(f"Error opening file “{path}”: {e.strerror}") from None
        self.append_argv(text.rstrip().split(" "), ("BOOT_IMAGE=", "initrd="))

    def delete(self, arg: str) -> None:
        """Delete ``key`` (if it has one value) or ``key=value``, for each space-separated
        argument of ``arg`` in turn; errors as the reference's."""
        for a in split_args(arg):
            self._delete_one(a)

    def _delete_one(self, arg: str) -> None:
        key, value = _split(arg)
        entries = self._entries(key)
        if not entries:
            raise KernelArgsError(f"No key '{key}' found")
        if len(entries) == 1:
            if value is not None and value != entries[0][1]:
                raise KernelArgsError(f"No karg '{key}={value}' found")
            self._order = [e for e in self._order if e[0] != key]
            return
        for e in entries:
            if e[1] == value:
                self._order.remove(e)
                return
        if value is None:
            raise KernelArgsError(f"Multiple values for key '{arg}' found")
        raise KernelArgsError(f"No karg '{arg}' found")

    def delete_if_present(self, arg: str) -> None:
        if self.contains(arg):
            self.delete(arg)

    def get_last_value(self, key: str) -> str | None:
        entries = self._entries(key)
        return entries[-1][1] if entries else None

    def to_list(self) -> list[str]:
        return [k if v is None else f"{k}={v}" for k, v in self._order]

    def __str__(self) -> str:
        return " ".join(self.to_list())

    def __repr__(self) -> str:
        return f"KernelArgs({self.to_list()!r})"
