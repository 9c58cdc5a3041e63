"""``ostree-py admin kargs edit-in-place``: change every deployment's kernel arguments in place."""

from typing import Annotated

import typer

USAGE = "ARGS"
NEEDS_SYSROOT = True


def options(
    append_if_missing: Annotated[list[str], typer.Option("--append-if-missing", metavar="NAME=VALUE",
        help="Append kernel arguments if they do not exist")] = [],
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError
    from ostree_py.sysroot.kargs import KernelArgs

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts)
    if not sr.deployments:
        raise OstreeError("Unable to find a deployment in sysroot")
    for d in list(sr.deployments):
        kargs = KernelArgs.from_string(d.bootconfig.get("options") if d.bootconfig else None)
        for a in opts.append_if_missing:
            kargs.append_if_missing(a)
        sr.set_kargs_in_place(d, str(kargs))
    return 0
