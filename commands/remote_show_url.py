"""``ostree remote show-url``: print a remote's URL."""

from ostree_py.errors import UsageError

USAGE = "NAME"
NEEDS_REPO = True


def run(ctx, opts, args):
    from ostree_py.repo import remotes
    if not args:
        raise UsageError("NAME must be specified")
    ctx.stdout.write(remotes.get_url(ctx.repo, args[0]) + "\n")
    return 0
