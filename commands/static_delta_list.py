"""``ostree static-delta list``: the static deltas in the repository."""

USAGE = ""
NEEDS_REPO = True


def run(ctx, opts, args):
    from ostree_py.deltas import list_deltas
    names = list_deltas(ctx.repo)
    if not names:
        ctx.stdout.write("(No static deltas)\n")
    for name in names:
        ctx.stdout.write(name + "\n")
    return 0
