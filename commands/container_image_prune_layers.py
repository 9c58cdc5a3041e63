"""``ostree-py container image prune-layers``: drop the refs of layers no image uses."""

USAGE = ""
NEEDS_REPO = True


def run(ctx, opts, args):
    from ostree_py.container.store import gc_image_layers
    ctx.stdout.write(f"Removed layers: {gc_image_layers(ctx.repo)}\n")
    return 0
