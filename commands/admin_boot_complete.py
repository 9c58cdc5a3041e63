"""``ostree-py admin boot-complete``: report a failed staged finalization of the previous boot (hidden).

Run by a systemd unit on a system booted with ostree; elsewhere it does
nothing, as the reference does.
"""

USAGE = ""
NEEDS_SYSROOT = True

FAILURE_STAMP = "ostree/finalize-failure.stamp"


def run(ctx, opts, args):
    import os

    from ostree_py.errors import OstreeError

    from ._sysroot import open_sysroot
    if not os.path.exists("/run/ostree-booted"):
        return 0
    sr = open_sysroot(ctx, opts)
    path = sr.p("boot/" + FAILURE_STAMP)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            data = f.read()
    except FileNotFoundError:
        return 0
    try:
        os.unlink(path)
    except OSError:
        pass
    raise OstreeError(f"ostree-finalize-staged.service failed on previous boot: {data}")
