"""``ostree-py container image prune-images``: remove the images no deployment uses."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_SYSROOT = True


def options(
    and_layers: Annotated[bool, typer.Option("--and-layers", help="Also prune layers")] = False,
    full: Annotated[bool, typer.Option("--full", help="Also prune layers and OSTree objects")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.container.store import gc_image_layers, remove_undeployed_images
    from ostree_py.errors import UsageError

    from ._sysroot import open_sysroot
    if opts.and_layers and opts.full:
        raise UsageError("--full conflicts with --and-layers")
    sr = open_sysroot(ctx, opts, lock=True)
    repo = sr.repo
    deployed = []
    for d in sr.deployments:
        if d.origin is not None:
            v = d.origin.get("origin", "container-image-reference")
            if v:
                deployed.append(v)
    removed = remove_undeployed_images(repo, deployed)
    out = ctx.stdout
    if opts.full:
        from ostree_py.ops.prune import prune
        from ostree_py.util.text import format_size
        n_layers = gc_image_layers(repo)
        res = prune(repo, refs_only=True)
        if not removed and not n_layers and not res.pruned:
            out.write("No content was pruned.\n")
            return 0
        out.write(f"Removed images: {len(removed)}\n")
        out.write(f"Removed layers: {n_layers}\n")
        out.write(f"Removed objects: {res.pruned}\n")
        out.write(f"Freed: {format_size(res.freed_bytes)}\n")
        return 0
    if not removed:
        out.write("No unreferenced images.\n")
        return 0
    for imgref in removed:
        out.write(f"Removed: {imgref}\n")
    if opts.and_layers:
        out.write(f"Removed layers: {gc_image_layers(repo)}\n")
    return 0
