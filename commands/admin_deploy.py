"""``ostree-py admin deploy``: check out REFSPEC as a new deployment and make it the default."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename

USAGE = "REFSPEC"
NEEDS_SYSROOT = True


def options(
    os: Annotated[str | None, typer.Option("--os", metavar="OSNAME",
        help="Use a different operating system root than the current one")] = None,
    stateroot: Annotated[str | None, typer.Option("--stateroot", metavar="STATEROOT",
        help="Target the provided stateroot")] = None,
    origin_file: Annotated[str | None, typer.Option("--origin-file", metavar="FILENAME", parser=filename,
        help="Specify origin file")] = None,
    no_prune: Annotated[bool, typer.Option("--no-prune", help="Don't prune the repo when done")] = False,
    no_merge: Annotated[bool, typer.Option("--no-merge",
        help="Do not apply configuration (/etc and kernel arguments) from booted deployment")] = False,
    retain: Annotated[bool, typer.Option("--retain", help="Do not delete previous deployments")] = False,
    stage: Annotated[bool, typer.Option("--stage", help="Complete deployment at OS shutdown")] = False,
    lock_finalization: Annotated[bool, typer.Option("--lock-finalization",
        help="Prevent automatic deployment finalization on shutdown")] = False,
    retain_pending: Annotated[bool, typer.Option("--retain-pending",
        help="Do not delete pending deployments")] = False,
    retain_rollback: Annotated[bool, typer.Option("--retain-rollback",
        help="Do not delete rollback deployments")] = False,
    not_as_default: Annotated[bool, typer.Option("--not-as-default",
        help="Append rather than prepend new deployment")] = False,
    karg_proc_cmdline: Annotated[bool, typer.Option("--karg-proc-cmdline",
        help="Import current /proc/cmdline")] = False,
    karg: Annotated[list[str], typer.Option("--karg", metavar="NAME=VALUE",
        help="Set kernel argument, like root=/dev/sda1; this overrides any earlier argument with the same name")] = [],
    karg_append: Annotated[list[str], typer.Option("--karg-append", metavar="NAME=VALUE",
        help="Append kernel argument; useful with e.g. console= that can be used multiple times")] = [],
    karg_none: Annotated[bool, typer.Option("--karg-none", help="Do not import kernel arguments")] = False,
    karg_delete: Annotated[str | None, typer.Option("--karg-delete", metavar="NAME=VALUE",
        help="Delete kernel argument if exists")] = None,
    overlay_initrd: Annotated[list[str], typer.Option("--overlay-initrd", metavar="FILE",
        help="Overlay iniramfs file")] = [],
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def _osname(opts):
    """--stateroot (ostree 2023.x) or --os: GLib stores both in one variable, so the later one on
    the command line wins there; here --stateroot wins when both are given."""
    return opts.stateroot if opts.stateroot is not None else opts.os


def run(ctx, opts, args):
    from ostree_py.errors import UsageError
    from ostree_py.sysroot import transaction

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts)
    if not args:
        raise UsageError("REF/REV must be specified")
    if opts.karg_proc_cmdline and opts.karg_none:
        raise UsageError("Can't specify both --karg-proc-cmdline and --karg-none")
    if opts.karg_none and opts.karg_delete:
        raise UsageError("Can't specify both --karg-none and --karg-delete")
    if opts.no_merge and opts.karg_delete:
        raise UsageError("Can't specify both --no-merge and --karg-delete")
    kargs = transaction.KargOverrides(none=opts.karg_none, proc_cmdline=opts.karg_proc_cmdline,
                                      replace=opts.karg or [], append=opts.karg_append or [],
                                      delete=opts.karg_delete)
    # ostree 2023.8: locking implies staging (2022.7 ignored the hidden option without --stage)
    policy = transaction.DeployPolicy(stage=opts.stage or opts.lock_finalization, lock_finalization=opts.lock_finalization,
                                      not_default=opts.not_as_default, retain=opts.retain,
                                      retain_pending=opts.retain_pending, retain_rollback=opts.retain_rollback)
    transaction.admin_deploy(sr, args[0], osname=_osname(opts), origin_file=opts.origin_file, no_merge=opts.no_merge,
                             kargs=kargs, overlay_initrds=opts.overlay_initrd or (), no_prune=opts.no_prune,
                             policy=policy)
    return 0
