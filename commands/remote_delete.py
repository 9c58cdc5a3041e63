"""``ostree remote delete``: remove a remote (its refs stay, as in the reference)."""

from ostree_py.commands._cli import Option
from ostree_py.errors import UsageError

SUMMARY = "Delete a remote repository"
USAGE = "NAME"
NEEDS_REPO = False
OPTIONS = [
    Option("if-exists", help="Do nothing if the provided remote does not exist"),
    Option("repo", kind="filename", arg="PATH",
           help="Path to OSTree repository (defaults to /sysroot/ostree/repo)"),
    Option("sysroot", kind="filename", arg="PATH", help="Use sysroot at PATH (overrides --repo)"),
]


def run(ctx, opts, args):
    from ostree_py.repo import remotes
    from ostree_py.commands.remote_add import open_repo_or_sysroot
    repo = open_repo_or_sysroot(ctx, opts)
    if not args:
        raise UsageError("NAME must be specified")
    remotes.delete_remote(repo, args[0], if_exists=opts.if_exists)
    return 0
