"""``rpm-ostree-py completion SHELL``: print (or install) the shell completion script."""

from typing import Annotated

import typer

USAGE = "bash|zsh|fish"
NEEDS_SYSROOT = False


def options(
    install: Annotated[bool, typer.Option("--install",
        help="Write the script where the shell finds it for this user, and print that path")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ..completion import run_completion
    return run_completion(ctx, opts, args)
