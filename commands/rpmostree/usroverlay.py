"""``rpm-ostree-py usroverlay``: what rpm-ostree's does, ``ostree admin unlock``
(ostree-py's) on the sysroot, with its options and messages."""

from typing import Annotated

import typer

USAGE = ""


def options(
    hotfix: Annotated[bool, typer.Option("--hotfix", help="Retain changes across reboots")] = False,
    transient: Annotated[bool, typer.Option("--transient",
        help="Mount overlayfs read-only by default")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.commands import main as ostree_main
    argv = ["admin", "unlock", f"--sysroot={ctx.sysroot_path}"]
    argv += ["--hotfix"] if opts.hotfix else []
    argv += ["--transient"] if opts.transient else []
    prog = ctx.prog
    try:
        return ostree_main(argv + list(args), ctx)
    finally:
        ctx.prog = prog
