"""``ostree-py container encapsulate``: write an ostree commit as an OCI image."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename

USAGE = "REV IMGREF"
NEEDS_REPO = True


def options(
    label: Annotated[list[str], typer.Option("--label", "-l", metavar="KEY=VALUE",
        help="Additional labels for the container")] = [],
    copymeta: Annotated[list[str], typer.Option("--copymeta", metavar="KEY",
        help="Propagate an OSTree commit metadata key to container label")] = [],
    copymeta_opt: Annotated[list[str], typer.Option("--copymeta-opt", metavar="KEY",
        help="Propagate an optionally-present OSTree commit metadata key to container label")] = [],
    cmd: Annotated[list[str], typer.Option("--cmd", metavar="ARG",
        help="Corresponds to the Dockerfile CMD instruction (repeat for each argument)")] = [],
    max_layers: Annotated[int | None, typer.Option("--max-layers", metavar="N",
        help="Split the content into at most N layers")] = None,
    contentmeta: Annotated[str | None, typer.Option("--contentmeta", metavar="PATH", parser=filename,
        help="Path to a JSON-formatted content meta object")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.container.encapsulate import components_by_directory, encapsulate, load_contentmeta

    from ._container import parse_labels, require_args
    require_args(ctx, args, "REV IMGREF", 2)
    labels = parse_labels(opts.label)
    components, created, max_layers = None, None, opts.max_layers
    if max_layers is not None and max_layers < 1:
        from ostree_py.errors import UsageError
        raise UsageError(f"Invalid --max-layers: {max_layers}")
    repo = ctx.repo
    if opts.contentmeta is not None:
        meta = load_contentmeta(opts.contentmeta)
        components, created = meta.components, meta.created
        labels = {**meta.labels, **labels}
        if max_layers is None:
            max_layers = len(set(components.values())) + 1
    elif max_layers is not None and max_layers > 1:
        components = components_by_directory(repo, args[0])
    digest = encapsulate(repo, args[0], args[1], labels=labels, cmd=opts.cmd or None,
                         copymeta=opts.copymeta, copymeta_opt=opts.copymeta_opt,
                         created=created, components=components, max_layers=max_layers)
    ctx.stdout.write(f"{digest}\n")
    return 0
