"""``ostree static-delta reindex``: rebuild delta-indexes/ (all targets, or --to REV only)."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_REPO = True


def options(
    to: Annotated[str | None, typer.Option("--to", metavar="REV",
        help="Only update delta index to revision REV")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.deltas.indexes import reindex
    # as in the reference, REV is taken as a checksum (not resolved)
    reindex(ctx.repo, opts.to)
    return 0
