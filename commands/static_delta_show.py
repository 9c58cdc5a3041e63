"""``ostree static-delta show DELTA``: describe a delta (superblock, fallbacks, parts)."""

from ostree_py.errors import OstreeError

USAGE = ""
NEEDS_REPO = True


def run(ctx, opts, args):
    from ostree_py.deltas import show_delta
    if not args:
        raise OstreeError("DELTA must be specified")
    show_delta(ctx.repo, args[0], ctx.stdout)
    return 0
