"""``ostree-py admin unlock``: make the booted deployment's /usr writable.

This needs a booted OSTree system and mounting an overlayfs on its /usr;
ostree-py checks the request as the reference does and refuses clearly
where it cannot be carried out.
"""

from typing import Annotated

import typer

USAGE = ""
NEEDS_SYSROOT = True


def options(
    hotfix: Annotated[bool, typer.Option("--hotfix", help="Retain changes across reboots")] = False,
    transient: Annotated[bool, typer.Option("--transient",
        help="Mount overlayfs read-only by default")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts)
    if args:
        raise UsageError("This command takes no extra arguments")
    booted = sr.require_booted_deployment()
    if opts.hotfix and opts.transient:
        raise OstreeError("Cannot specify both --hotfix and --transient")
    if booted.unlocked != "none":
        raise OstreeError(f"Deployment is already in unlocked state: {booted.unlocked}")
    raise OstreeError("Unlocking (an overlayfs mount on the booted /usr) is not supported by ostree-py")
