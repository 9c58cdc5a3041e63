"""``ostree static-delta indexes``: the targets that have a delta index."""

USAGE = ""
NEEDS_REPO = True


def run(ctx, opts, args):
    from ostree_py.deltas.indexes import list_indexes
    names = list_indexes(ctx.repo)
    if not names:
        ctx.stdout.write("(No static deltas indexes)\n")
    for name in names:
        ctx.stdout.write(name + "\n")
    return 0
