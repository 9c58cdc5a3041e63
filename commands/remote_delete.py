"""``ostree remote delete``: remove a remote (its refs stay, as in the reference)."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename
from ostree_py.errors import UsageError

USAGE = "NAME"
NEEDS_REPO = False


def options(
    if_exists: Annotated[bool, typer.Option("--if-exists",
        help="Do nothing if the provided remote does not exist")] = False,
    repo: Annotated[str | None, typer.Option("--repo", metavar="PATH", parser=filename,
        help="Path to OSTree repository (defaults to /sysroot/ostree/repo)")] = None,
    sysroot: Annotated[str | None, typer.Option("--sysroot", metavar="PATH", parser=filename,
        help="Use sysroot at PATH (overrides --repo)")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.repo import remotes
    from ostree_py.commands.remote_add import open_repo_or_sysroot
    repo = open_repo_or_sysroot(ctx, opts)
    if not args:
        raise UsageError("NAME must be specified")
    remotes.delete_remote(repo, args[0], if_exists=opts.if_exists)
    return 0
