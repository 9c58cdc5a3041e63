"""``ostree-py admin cleanup``: remove unused deployments, boot files and repository objects."""

USAGE = ""
NEEDS_SYSROOT = True


def run(ctx, opts, args):
    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts)
    sr.cleanup()
    return 0
