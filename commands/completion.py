"""``ostree-py completion SHELL``: print (or install) the shell completion script.

bash, zsh and fish: commands, options, and the refs, remotes and deployment
indexes of the repository or sysroot the command line names. Hidden from
the listing (the reference has no such command); see ostree-py-completion(1).
"""

from typing import Annotated

import typer

USAGE = "bash|zsh|fish"


def options(
    install: Annotated[bool, typer.Option("--install",
        help="Write the script where the shell finds it for this user, and print that path")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    return run_completion(ctx, opts, args)


def run_completion(ctx, opts, args) -> int:
    """``completion`` of either program (rpm-ostree-py's module calls this too)."""
    import os

    from ostree_py.errors import UsageError

    from ._complete import SHELLS, install_path, script
    if len(args) != 1 or args[0] not in SHELLS:
        raise UsageError("SHELL must be one of bash, zsh, fish")
    text = script(args[0], ctx.prog)
    if not opts.install:
        ctx.stdout.write(text)
        return 0
    from ostree_py.util.fs import write_atomic
    path = install_path(args[0], ctx.prog, ctx.environ)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, text.encode("utf-8"), fsync=False)
    ctx.stdout.write(path + "\n")
    return 0
