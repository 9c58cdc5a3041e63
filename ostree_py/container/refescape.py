"""Arbitrary strings as ostree ref names, escaped as ostree-ext escapes them.

Alphanumerics pass through, as does ``-`` except at the start of a path
component (ostree refs forbid it there); ``/`` passes through when it
follows an alphanumeric and is not last (so no empty path component can
appear); ``_`` becomes ``__``; every other character is ``_HEX_``, its code
point in upper-case hexadecimal, at least two digits (``:`` is ``_3A_``).
The escaped string follows a prefix and a ``/``: ``ostree/container/blob/
sha256_3A_...``. Unescaping reverses it exactly.
"""

from __future__ import annotations

from ostree_py.errors import ContainerError


def escape_for_ref(s: str) -> str:
    """``s`` escaped (module docstring); refuse the empty string and NUL."""
    if not s:
        raise ContainerError("Invalid empty string for ref")
    out = []
    prev_alnum = False
    last = len(s) - 1
    for i, c in enumerate(s):
        alnum = c.isascii() and c.isalnum()
        if c == "\0":
            raise ContainerError("Invalid embedded NUL in string for ostree ref")
        if alnum or (c == "-" and out and out[-1][-1] != "/"):
            # (a ref component cannot start with "-": there it is escaped)
            out.append(c)
        elif c == "/" and prev_alnum and i < last:
            out.append(c)
        elif c == "_":
            out.append("__")
        else:
            out.append(f"_{ord(c):02X}_")
        prev_alnum = alnum
    return "".join(out)


def unescape_for_ref(s: str) -> str:
    """The string ``s`` was escaped from; raise ContainerError if it is not an escape."""
    out = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if (c.isascii() and c.isalnum()) or c in "-/":
            out.append(c)
            i += 1
        elif c == "_":
            if i + 1 < n and s[i + 1] == "_":
                out.append("_")
                i += 2
                continue
            end = s.find("_", i + 1)
            if end < 0:
                end = n
            try:
                out.append(chr(int(s[i + 1:end], 16)))
            except (ValueError, OverflowError):
                raise ContainerError(f"Invalid escape in ref: {s}") from None
            i = end + 1
        else:
            raise ContainerError(f"Invalid character {c} in ref: {s}")
    return "".join(out)


def prefix_escape_for_ref(prefix: str, s: str) -> str:
    """``PREFIX/ESCAPED``."""
    return f"{prefix}/{escape_for_ref(s)}"


def unprefix_unescape_ref(prefix: str, ref: str) -> str:
    """The string behind the ref ``PREFIX/ESCAPED``."""
    if not ref.startswith(prefix + "/"):
        raise ContainerError(f"ref does not match expected prefix {prefix}/: {ref}")
    return unescape_for_ref(ref[len(prefix) + 1:])
