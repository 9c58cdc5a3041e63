"""``ostree static-delta delete DELTA``: remove a delta's directory."""

from ostree_py.errors import OstreeError

USAGE = ""
NEEDS_REPO = True


def run(ctx, opts, args):
    from ostree_py.deltas import delete_delta
    if not args:
        raise OstreeError("DELTA must be specified")
    delete_delta(ctx.repo, args[0])
    return 0
