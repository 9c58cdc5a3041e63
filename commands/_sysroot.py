"""Shared set-up of the ``admin`` commands: find, lock and load the sysroot.

ostree_admin_option_context_parse: the sysroot is --sysroot, else
$OSTREE_SYSROOT, else /; commands that change it hold ``ostree/lock``
(printing "Waiting for sysroot lock..." when another process has it).
"""


def sysroot_path(ctx, opts) -> str:
    return opts.sysroot or ctx.environ.get("OSTREE_SYSROOT") or "/"


def open_sysroot(ctx, opts, lock: bool = True, load: bool = True):
    """A loaded ostree_py.sysroot.Sysroot: its messages go to stdout, its warnings to stderr."""
    from ostree_py.sysroot import Sysroot

    def line_writer(stream):
        def write(text):
            stream.write(text + "\n")
            try:
                stream.flush()
            except (AttributeError, ValueError):
                pass
        return write

    message = line_writer(ctx.stdout)
    sr = Sysroot(sysroot_path(ctx, opts), ctx.environ, message=message, warning=line_writer(ctx.stderr))
    sr.initialize()
    if load:
        if lock:
            sr.lock(on_wait=lambda: message("Waiting for sysroot lock..."))
            import atexit
            atexit.register(sr.unlock)
        sr.load()
    return sr


def parse_index(text: str) -> int:
    """atoi(): leading digits (with sign), 0 when there are none."""
    import re
    m = re.match(r"\s*([+-]?\d+)", text)
    if not m:
        return 0
    n = int(m.group(1))
    return max(min(n, 2**31 - 1), -2**31)
