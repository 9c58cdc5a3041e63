"""Shared set-up of the sysroot commands (``admin``, and rpm-ostree-py's): find,
lock and load the sysroot, held for as long as the command runs.

ostree_admin_option_context_parse: the sysroot is --sysroot, else
$OSTREE_SYSROOT, else /; commands that change it hold ``ostree/lock``
(printing "Waiting for sysroot lock..." when another process has it).
"""

import contextlib


def sysroot_path(ctx, opts) -> str:
    return opts.sysroot or ctx.environ.get("OSTREE_SYSROOT") or "/"


def _line_writer(stream):
    def write(text):
        stream.write(text + "\n")
        try:
            stream.flush()
        except (AttributeError, ValueError):
            pass
    return write


@contextlib.contextmanager
def locked(sr, on_wait=None):
    """``with locked(sr):`` hold the sysroot lock, released however the block ends."""
    sr.lock(on_wait=on_wait)
    try:
        yield sr
    finally:
        sr.unlock()


def load_sysroot(ctx, path: str, *, message=None, lock: bool = True, load: bool = True, on_wait=None):
    """A Sysroot at ``path``, initialized and (with ``load``) loaded; with ``lock``
    its lock is held until the command ends (``ctx.resources``, the dispatcher's
    ExitStack). Its warnings go to stderr; its messages to ``message`` (None: dropped)."""
    from ostree_py.sysroot import Sysroot
    kwargs = {"message": message} if message is not None else {}
    sr = Sysroot(path, ctx.environ, warning=_line_writer(ctx.stderr), **kwargs)
    sr.initialize()
    if load:
        if lock:
            if ctx.resources is None:
                raise RuntimeError("the sysroot lock needs the command's resources (run through the dispatcher)")
            ctx.resources.enter_context(locked(sr, on_wait))
        sr.load()
    return sr


def open_sysroot(ctx, opts, lock: bool = True, load: bool = True):
    """The admin commands' sysroot: --sysroot's, messages to stdout, warnings to stderr."""
    message = _line_writer(ctx.stdout)
    return load_sysroot(ctx, sysroot_path(ctx, opts), message=message, lock=lock, load=load,
                        on_wait=lambda: message("Waiting for sysroot lock..."))


def parse_index(text: str) -> int:
    """atoi(): leading digits (with sign), 0 when there are none."""
    import re
    m = re.match(r"\s*([+-]?\d+)", text)
    if not m:
        return 0
    n = int(m.group(1))
    return max(min(n, 2**31 - 1), -2**31)


def parse_strtoull_index(text: str) -> tuple[int, bool]:
    """An INDEX read as g_ascii_strtoull reads it: optional leading spaces and sign, then
    digits ("" is 0); text after them is "error: Invalid index: TEXT". Returns the unsigned
    64-bit value (a negative number wraps; an overflow is 2**64-1) and whether it overflowed."""
    from ostree_py.errors import OstreeError
    s = text.lstrip(" \t\n\v\f\r")
    neg = s[:1] == "-"
    if s[:1] in ("+", "-"):
        s = s[1:]
    digits = len(s) - len(s.lstrip("0123456789"))
    if s[digits:] != "":
        raise OstreeError(f"Invalid index: {text}")
    value = int(s[:digits]) if digits else 0
    if value >= 2**64:
        return 2**64 - 1, True
    return (2**64 - value if neg and value else value), False


def c_int(value: int) -> int:
    """``value`` converted to a C int (two's complement, 32 bits), as ostree passes indexes."""
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value
