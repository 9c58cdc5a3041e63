"""``ostree log``: a commit and its ancestors, newest first."""

from typing import Annotated

import typer

from ostree_py.errors import UsageError

USAGE = "REV"
NEEDS_REPO = True


def options(
    raw: Annotated[bool, typer.Option("--raw", help="Show raw variant data")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.ops.log import iter_log
    if not args:
        raise UsageError("A rev argument is required")
    repo = ctx.repo
    checksum = repo.resolve_rev(args[0])
    out = ctx.stdout
    for chunk in iter_log(repo, checksum, raw=opts.raw):
        out.write(chunk)
    return 0
