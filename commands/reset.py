"""``ostree-py reset``: point a ref at another commit."""

USAGE = "REF COMMIT"
NEEDS_REPO = True


def run(ctx, opts, args):
    from ostree_py.errors import UsageError
    from ostree_py.ops.reset import reset_ref
    if len(args) < 2:
        raise UsageError("A REF and COMMIT argument is required")
    reset_ref(ctx.repo, args[0], args[1])
    return 0
