"""``ostree-py container image metadata``: the manifest (or config) of a stored image."""

from typing import Annotated

import typer

USAGE = "IMGREF"
NEEDS_REPO = True


def options(
    config: Annotated[bool, typer.Option("--config", help="Output the config, not the manifest")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.container.store import canon_json, query_image
    from ostree_py.errors import ContainerError

    from ._container import require_args
    require_args(ctx, args, "IMGREF", 1)
    state = query_image(ctx.repo, args[0])
    if state is None:
        raise ContainerError("No such image")
    ctx.stdout.write(canon_json(state.config if opts.config else state.manifest))
    return 0
