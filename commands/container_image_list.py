"""``ostree-py container image list``: the images in the store."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_REPO = True


def options(
    json: Annotated[bool, typer.Option("--json", help="Print the images as a JSON array")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.container.store import list_images
    images = list_images(ctx.repo)
    if opts.json:
        import json
        ctx.stdout.write(json.dumps(images, indent=2) + "\n")
        return 0
    for image in images:
        ctx.stdout.write(image + "\n")
    return 0
