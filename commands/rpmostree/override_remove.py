"""``rpm-ostree-py override remove PACKAGE...``: leave base packages out of the tree."""

from typing import Annotated

import typer

USAGE = "PACKAGE [PACKAGE...]"
NEEDS_OS = True


def options(
    reboot: Annotated[bool, typer.Option("--reboot", "-r",
        help="Initiate a reboot after operation is complete")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n",
        help="Exit after printing the transaction")] = False,
    lock_finalization: Annotated[bool, typer.Option("--lock-finalization",
        help="Prevent automatic deployment finalization on shutdown")] = False,
    cache_only: Annotated[bool, typer.Option("--cache-only", "-C",
        help="Only operate on cached data")] = False,
    install: Annotated[list[str], typer.Option("--install", metavar="PKG",
        help="Overlay additional package")] = [],
    uninstall: Annotated[list[str], typer.Option("--uninstall", metavar="PKG",
        help="Remove overlayed package")] = [],
    replace: Annotated[list[str], typer.Option("--replace", metavar="RPM", help="Replace a package")] = [],
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import UsageError

    from ._override import change
    if not args:
        raise UsageError("At least one PACKAGE must be specified")
    return change(ctx, opts, add=args, replace=opts.replace)
