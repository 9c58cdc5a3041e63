"""``ostree-py admin instutil set-kargs``: replace the first deployment's kernel arguments."""

from typing import Annotated

import typer

USAGE = "ARGS"
NEEDS_SYSROOT = True


def options(
    proc_cmdline: Annotated[bool, typer.Option("--import-proc-cmdline",
        help="Import current /proc/cmdline")] = False,
    merge: Annotated[bool, typer.Option("--merge", help="Merge with previous command line")] = False,
    replace: Annotated[list[str], typer.Option("--replace", metavar="NAME=VALUE",
        help="Set kernel argument, like root=/dev/sda1; this overrides any earlier argument with the same name")] = [],
    append: Annotated[list[str], typer.Option("--append", metavar="NAME=VALUE",
        help="Append kernel argument; useful with e.g. console= that can be used multiple times")] = [],
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError
    from ostree_py.sysroot.kargs import KernelArgs

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts, lock=False)
    if not sr.deployments:
        raise OstreeError("Unable to find a deployment in sysroot")
    first = sr.deployments[0]
    kargs = KernelArgs()
    if opts.proc_cmdline:
        kargs.append_proc_cmdline()
    elif opts.merge:
        kargs.append_argv((first.bootconfig.get("options") or "").split(" "))
    kargs.replace_argv(opts.replace)
    kargs.append_argv(opts.append)
    for a in args:
        kargs.append(a)
    sr.set_kargs(first, kargs.to_list())
    return 0
