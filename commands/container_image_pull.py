"""``ostree-py container image pull``: pull (or update) an image into the store."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename

USAGE = "REPO IMGREF"


def options(
    ostree_digestfile: Annotated[str | None, typer.Option("--ostree-digestfile", metavar="PATH",
        parser=filename, help="File to which to write the resulting OSTree commit digest")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Don't display progress")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.container.store import pull_image
    from ostree_py.util.fs import write_atomic
    from ostree_py.util.text import format_size

    from ._container import layer_progress, open_repo_arg, require_args
    require_args(ctx, args, "REPO IMGREF", 2)
    repo = open_repo_arg(ctx, args[0])
    progress = None if opts.quiet else layer_progress(ctx)
    out = ctx.stdout

    def status(prep, diff):
        if diff is not None:
            out.write(f"Total new layers: {diff.total:<4}  Size: {format_size(diff.total_size)}\n")
            out.write(f"Removed layers:   {diff.n_removed:<4}  Size: {format_size(diff.removed_size)}\n")
            out.write(f"Added layers:     {diff.n_added:<4}  Size: {format_size(diff.added_size)}\n")
        text = prep.layer_status()
        if text:
            out.write(text + "\n")
        out.flush()

    result = pull_image(repo, args[1], progress=progress, on_prepared=status)
    if opts.ostree_digestfile:
        write_atomic(opts.ostree_digestfile, result.merge_commit.encode())
    if result.already_present:
        out.write(f"No changes in {result.imgref} => {result.merge_commit}\n")
    else:
        out.write(f"Wrote: {result.imgref} => {result.merge_commit}\n")
    return 0
