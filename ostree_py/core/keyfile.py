"""GKeyFile-compatible reading and writing (repo config, origin files, remotes.d).

Groups and keys keep their order and comments survive a load/save cycle, as
with GLib's g_key_file_to_data(). Values are unescaped on get (\\s \\n \\t \\r
\\\\) and escaped on set; lists are ';'-separated.
"""

import errno
import os
import stat

from ostree_py.errors import OstreeError


# GLib's g_ascii_isspace: no vertical tab (a key or value keeps its \v)
_ASCII_SPACE = " \t\n\f\r"


class KeyFileError(OstreeError):
    """A malformed key file, or a missing group or key."""


def unescape_value(v: str, separator: str | None = None) -> str:
    """GLib's unescaping; in a list item (``separator``) an escaped separator is itself."""
    if "\\" not in v:
        return v
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            n = v[i + 1]
            if n == separator:
                out.append(n)
            else:
                out.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(n, "\\" + n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_list(raw: str, sep: str = ";") -> list[str]:
    """g_key_file_get_string_list with separator ``sep``: a raw value's items,
    unescaped (a trailing separator ends the list, it adds no empty item)."""
    items, cur, i = [], [], 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            cur.append(raw[i:i + 2])
            i += 2
            continue
        if c == sep:
            items.append(unescape_value("".join(cur), sep))
            cur = []
        else:
            cur.append(c)
        i += 1
    if cur:
        items.append(unescape_value("".join(cur), sep))
    return items


def escape_value(v: str) -> str:
    r"""g_key_file_set_string's escaping: leading blanks as \s / \t, then newlines, CRs, backslashes."""
    out = []
    leading = True
    for c in v:
        if c == " ":
            out.append("\\s" if leading else " ")
        elif c == "\t":
            out.append("\\t" if leading else "\t")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\\":
            out.append("\\\\")
            leading = False
        else:
            out.append(c)
            leading = False
    return "".join(out)


class KeyFile:
    """An ordered key file. Lines are kept as (kind, data) so comments round-trip."""

    def __init__(self):
        # group name -> list of entries: ("kv", key, raw_value) or ("comment", text)
        self._groups: dict[str, list] = {}
        self._head: list[str] = []  # comments before the first group

    @classmethod
    def parse(cls, text: str, source: str = "key file") -> "KeyFile":
        kf = cls()
        cur = None
        # GLib splits on "\n" only (str.splitlines would also split on \x1c, \x85,
        # \u2028...), drops a line's trailing "\r", and strips ASCII blanks only.
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for lineno, line in enumerate(lines, 1):
            if line.endswith("\r"):
                line = line[:-1]
            s = line.strip(_ASCII_SPACE)
            if not s or s.startswith("#"):
                if cur is None:
                    kf._head.append(line)
                else:
                    kf._groups[cur].append(("comment", line))
                continue
            if s.startswith("["):
                if not s.endswith("]"):
                    raise KeyFileError(f"Key file contains line “{line}” which is not a key-value pair, group, or comment")
                cur = s[1:-1]
                kf._groups.setdefault(cur, [])
                continue
            if "=" not in s:
                raise KeyFileError(f"Key file contains line “{line}” which is not a key-value pair, group, or comment")
            if cur is None:
                raise KeyFileError("Key file does not start with a group")
            k, v = line.split("=", 1)
            k = k.strip(_ASCII_SPACE)
            v = v.lstrip(_ASCII_SPACE)
            ent = kf._groups[cur]
            for i, e in enumerate(ent):
                if e[0] == "kv" and e[1] == k:
                    ent[i] = ("kv", k, v)
                    break
            else:
                ent.append(("kv", k, v))
        return kf

    @classmethod
    def load(cls, path: str) -> "KeyFile":
        # O_NONBLOCK and a regular-file check: a FIFO or device (a symlink
        # to /dev/zero) in place of the file must not hang the reader
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
            if not stat.S_ISREG(mode):
                raise OSError(errno.EINVAL, "Not a regular file", path)
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        with open(fd, encoding="utf-8", errors="surrogateescape") as f:
            return cls.parse(f.read(), path)

    def to_text(self) -> str:
        parts = []
        for line in self._head:
            parts.append(line + "\n")
        first = True
        for g, ents in self._groups.items():
            if not first and not (parts and parts[-1] == "\n"):
                parts.append("\n")
            first = False
            parts.append(f"[{g}]\n")
            # trailing blank comment lines are normalised like GLib
            body = list(ents)
            while body and body[-1][0] == "comment" and not body[-1][1].strip():
                body.pop()
            for e in body:
                parts.append(e[1] + "\n" if e[0] == "comment" else f"{e[1]}={e[2]}\n")
        return "".join(parts)

    def groups(self) -> list[str]:
        return list(self._groups)

    def has_group(self, group: str) -> bool:
        return group in self._groups

    def keys(self, group: str) -> list[str]:
        if group not in self._groups:
            raise KeyFileError(f"Key file does not have group “{group}”")
        return [e[1] for e in self._groups[group] if e[0] == "kv"]

    def has_key(self, group: str, key: str) -> bool:
        return any(e[0] == "kv" and e[1] == key for e in self._groups.get(group, ()))

    def get_raw(self, group: str, key: str) -> str:
        if group not in self._groups:
            raise KeyFileError(f"Key file does not have group “{group}”")
        for e in self._groups[group]:
            if e[0] == "kv" and e[1] == key:
                return e[2]
        raise KeyFileError(f"Key file does not have key “{key}” in group “{group}”")

    def get(self, group: str, key: str, default=None):
        """The unescaped string value, or ``default`` when absent."""
        try:
            return unescape_value(self.get_raw(group, key))
        except KeyFileError:
            return default

    def get_string(self, group: str, key: str) -> str:
        """The unescaped string value; raise when absent."""
        return unescape_value(self.get_raw(group, key))

    def get_boolean(self, group: str, key: str, default: bool | None = None) -> bool:
        try:
            raw = self.get_raw(group, key).strip()
        except KeyFileError:
            if default is None:
                raise
            return default
        if raw in ("true", "1"):
            return True
        if raw in ("false", "0"):
            return False
        raise KeyFileError(f"Key file contains key “{key}” which has a value that cannot be interpreted.")

    def get_int(self, group: str, key: str, default: int | None = None) -> int:
        try:
            raw = self.get_raw(group, key).strip()
        except KeyFileError:
            if default is None:
                raise
            return default
        try:
            return int(raw)
        except ValueError:
            raise KeyFileError(f"Key file contains key “{key}” in group “{group}” which has a value that cannot be interpreted.") from None

    def get_list(self, group: str, key: str, default=None) -> list[str]:
        try:
            raw = self.get_raw(group, key)
        except KeyFileError:
            if default is None:
                raise
            return default
        return split_list(raw, ";")

    def set_raw(self, group: str, key: str, raw: str) -> None:
        ents = self._groups.setdefault(group, [])
        for i, e in enumerate(ents):
            if e[0] == "kv" and e[1] == key:
                ents[i] = ("kv", key, raw)
                return
        # insert after the last key, before trailing comments/blank lines
        pos = len(ents)
        while pos > 0 and ents[pos - 1][0] == "comment" and not ents[pos - 1][1].strip():
            pos -= 1
        ents.insert(pos, ("kv", key, raw))

    def set(self, group: str, key: str, value: str) -> None:
        self.set_raw(group, key, escape_value(value))

    def set_boolean(self, group: str, key: str, value: bool) -> None:
        self.set_raw(group, key, "true" if value else "false")

    def set_list(self, group: str, key: str, values) -> None:
        self.set_raw(group, key, "".join(escape_value(v).replace(";", "\\;") + ";" for v in values))

    def remove_key(self, group: str, key: str) -> None:
        if group not in self._groups:
            raise KeyFileError(f"Key file does not have group “{group}”")
        ents = self._groups[group]
        for i, e in enumerate(ents):
            if e[0] == "kv" and e[1] == key:
                del ents[i]
                return
        raise KeyFileError(f"Key file does not have key “{key}” in group “{group}”")

    def remove_group(self, group: str) -> None:
        if group not in self._groups:
            raise KeyFileError(f"Key file does not have group “{group}”")
        del self._groups[group]

    def add_group(self, group: str) -> None:
        self._groups.setdefault(group, [])
