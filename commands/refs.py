"""``ostree refs``: list, create, alias and delete refs.

``-r/--revision`` (ostree 2023.x) prints REF<TAB>CHECKSUM in listings.

Listings are sorted by name (the reference prints them in hash-table order).
"""

from typing import Annotated

import typer

from ostree_py.errors import OstreeError

USAGE = "[PREFIX]"
NEEDS_REPO = True


def options(
    delete: Annotated[bool, typer.Option("--delete",
        help="Delete refs which match PREFIX, rather than listing them")] = False,
    list: Annotated[bool, typer.Option("--list", help="Do not remove the prefix from the refs")] = False,
    revision: Annotated[bool, typer.Option("--revision", "-r", help="Show revisions in listing")] = False,
    alias: Annotated[bool, typer.Option("--alias", "-A",
        help="If used with --create, create an alias, otherwise just list aliases")] = False,
    create: Annotated[str | None, typer.Option("--create", metavar="NEWREF",
        help="Create a new ref for an existing commit")] = None,
    collections: Annotated[bool, typer.Option("--collections", "-c",
        help="Enable listing collection IDs for refs")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing refs when creating")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.ops import refs_cmd
    repo = ctx.repo
    if args:
        if opts.create is not None and len(args) > 1:
            raise OstreeError("You must specify only 1 existing ref when creating a new ref")
        for prefix in args:
            _do(ctx, repo, opts, prefix, refs_cmd)
    else:
        if opts.delete:
            raise OstreeError("At least one PREFIX is required when deleting refs")
        if opts.create is not None:
            raise OstreeError("You must specify a revision when creating a new ref")
        _do(ctx, repo, opts, None, refs_cmd)
    return 0


def _do(ctx, repo, opts, prefix, refs_cmd):
    if opts.collections:
        if opts.create is not None:
            refs_cmd.create_collection_ref(repo, prefix, opts.create, opts.force)
        elif opts.delete:
            refs_cmd.delete_collection_refs(repo, prefix)
        else:
            ctx.stdout.write("".join(refs_cmd.list_collection_lines(repo, prefix, revision=opts.revision)))
        return
    if opts.create is not None:
        refs_cmd.create_ref(repo, prefix, opts.create, alias=opts.alias, force=opts.force)
    elif opts.delete:
        refs_cmd.delete_refs(repo, prefix)
    else:
        ctx.stdout.write("".join(refs_cmd.list_lines(repo, prefix, full=opts.list, aliases=opts.alias,
                                                          revision=opts.revision)))
