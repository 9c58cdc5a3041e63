"""``ostree-py container image remove``: unreference images, then drop unused layers."""

from typing import Annotated

import typer

USAGE = "IMGREF..."
NEEDS_REPO = True


def options(
    skip_gc: Annotated[bool, typer.Option("--skip-gc", help="Do not garbage collect unused layers")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.container.imgref import ImageReference
    from ostree_py.container.store import gc_image_layers, remove_images

    refs = [ImageReference.parse(a) for a in args]
    repo = ctx.repo
    remove_images(repo, refs)
    if opts.skip_gc:
        ctx.stdout.write(f"Removed images: {len(refs)}\n")
    else:
        ctx.stdout.write(f"Removed images: {len(refs)} layers: {gc_image_layers(repo)}\n")
    return 0
