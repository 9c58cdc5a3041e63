"""``ostree-py container unencapsulate``: import the ostree commit an OCI image carries."""

from typing import Annotated

import typer

USAGE = "IMGREF"
NEEDS_REPO = True


def options(
    write_ref: Annotated[str | None, typer.Option("--write-ref", metavar="REF",
        help="Create an ostree ref pointing to the imported commit")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Don't display progress")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.container.encapsulate import unencapsulate

    from ._container import require_args
    require_args(ctx, args, "IMGREF", 1)
    result = unencapsulate(ctx.repo, args[0], write_ref=opts.write_ref)
    if opts.write_ref:
        ctx.stdout.write(f"Imported: {opts.write_ref} => {result.commit}\n")
    else:
        ctx.stdout.write(f"Imported: {result.commit}\n")
    return 0
