"""``ostree-py container image history``: the layers of a stored image."""

from typing import Annotated

import typer

USAGE = "IMGREF"
NEEDS_REPO = True


def options(
    json: Annotated[bool, typer.Option("--json", help="Print the layers as JSON")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.container.store import image_history, query_image
    from ostree_py.errors import ContainerError
    from ostree_py.util.text import format_size

    from ._container import require_args
    require_args(ctx, args, "IMGREF", 1)
    state = query_image(ctx.repo, args[0])
    if state is None:
        raise ContainerError(f"No such image: {args[0]}")
    rows = image_history(state)
    if opts.json:
        import json
        ctx.stdout.write(json.dumps([{"digest": d, "size": s, "created_by": c} for d, s, c in rows],
                                    indent=2) + "\n")
        return 0
    # ostree-ext's table: ID (the digest's first 20 hex digits), SIZE, CRCEATED BY (sic)
    table = [("ID", "SIZE", "CRCEATED BY")] + [
        (d.partition(":")[2][:20], format_size(s), c) for d, s, c in rows]
    w0 = max(len(r[0]) for r in table)
    w1 = max(len(r[1]) for r in table)
    for a, b, c in table:
        ctx.stdout.write(f" {a:<{w0}}  {b:<{w1}}  {c}".rstrip() + "\n")
    return 0
