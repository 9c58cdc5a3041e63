"""``ostree-py admin lock-finalization`` (ostree 2023.8): lock the staged deployment's
finalization, so that shutdown leaves it staged, or with ``-u`` queue it again."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_SYSROOT = True


def options(
    unlock: Annotated[bool, typer.Option("--unlock", "-u", help="Unlock finalization")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError
    from ostree_py.sysroot.stage import change_finalization

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts)
    staged = sr.staged_deployment
    if staged is None:
        raise OstreeError("No staged deployment")
    if opts.unlock and not staged.finalization_locked:
        ctx.stdout.write("Staged deployment is already prepared for finalization\n")
        return 0
    if not opts.unlock and staged.finalization_locked:
        ctx.stdout.write("Staged deployment is already finalization locked\n")
        return 0
    if change_finalization(sr, staged):
        ctx.stdout.write("Staged deployment is now finalization locked\n")
    else:
        ctx.stdout.write("Staged deployment is now queued to apply on shutdown\n")
    return 0
