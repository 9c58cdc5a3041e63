"""``ostree-py reset``: point a ref at another commit."""

SUMMARY = "Reset a REF to a previous COMMIT"
USAGE = "REF COMMIT"
NEEDS_REPO = True
OPTIONS = []


def run(ctx, opts, args):
    from ostree_py.errors import UsageError
    from ostree_py.ops.reset import reset_ref
    if len(args) < 2:
        raise UsageError("A REF and COMMIT argument is required")
    reset_ref(ctx.repo, args[0], args[1])
    return 0
