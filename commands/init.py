"""``ostree init``: create a repository."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_REPO = True
OPEN_REPO = False


def options(
    mode: Annotated[str | None, typer.Option("--mode",
        help="Initialize repository in given mode (bare, bare-user, bare-user-only, archive)")] = None,
    collection_id: Annotated[str | None, typer.Option("--collection-id", metavar="COLLECTION-ID",
        help="Globally unique ID for this repository as an collection of refs for redistribution to other repositories")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.repo.repo_init import create_repo
    create_repo(ctx.repo_path, opts.mode if opts.mode is not None else "bare", opts.collection_id)
    return 0
