"""``rpm-ostree-py override replace PACKAGE...``: replace base packages by local RPMs
(or, with ``--experimental --from repo=NAME``, by that repo's packages of the same names)."""

from typing import Annotated

import typer

USAGE = "PACKAGE [PACKAGE...]"
NEEDS_OS = True


def options(
    remove: Annotated[list[str], typer.Option("--remove", metavar="PKG", help="Remove a package")] = [],
    experimental: Annotated[bool, typer.Option("--experimental", hidden=True,
        help="Allow experimental options such as --from")] = False,
    from_repo: Annotated[str | None, typer.Option("--from", metavar="KIND=NAME", hidden=True,
        help="Source of override")] = None,
    reboot: Annotated[bool, typer.Option("--reboot", "-r",
        help="Initiate a reboot after operation is complete")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n",
        help="Exit after printing the transaction")] = False,
    cache_only: Annotated[bool, typer.Option("--cache-only", "-C",
        help="Only operate on cached data")] = False,
    lock_finalization: Annotated[bool, typer.Option("--lock-finalization",
        help="Prevent automatic deployment finalization on shutdown")] = False,
    install: Annotated[list[str], typer.Option("--install", metavar="PKG",
        help="Overlay additional package")] = [],
    uninstall: Annotated[list[str], typer.Option("--uninstall", metavar="PKG",
        help="Remove overlayed package")] = [],
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError

    from ._override import change
    if not args:
        raise UsageError("At least one PACKAGE must be specified")
    from_repo = opts.from_repo
    if from_repo is not None and not opts.experimental:
        raise OstreeError("Must specify --experimental to use --freeze or --from")
    return change(ctx, opts, add=opts.remove, replace=args, from_repo=from_repo)
