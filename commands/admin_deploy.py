"""``ostree-py admin deploy``: check out REFSPEC as a new deployment and make it the default."""

from ._cli import Option

SUMMARY = "Checkout revision REFSPEC as the new default deployment"
USAGE = "REFSPEC"
NEEDS_SYSROOT = True
OPTIONS = [
    Option("os", kind="string", arg="OSNAME", help="Use a different operating system root than the current one"),
    Option("origin-file", kind="filename", arg="FILENAME", help="Specify origin file"),
    Option("no-prune", help="Don't prune the repo when done"),
    Option("no-merge", help="Do not apply configuration (/etc and kernel arguments) from booted deployment"),
    Option("retain", help="Do not delete previous deployments"),
    Option("stage", help="Complete deployment at OS shutdown"),
    Option("lock-finalization", hidden=True, help="Prevent automatic deployment finalization on shutdown"),
    Option("retain-pending", help="Do not delete pending deployments"),
    Option("retain-rollback", help="Do not delete rollback deployments"),
    Option("not-as-default", help="Append rather than prepend new deployment"),
    Option("karg-proc-cmdline", help="Import current /proc/cmdline"),
    Option("karg", kind="string-array", arg="NAME=VALUE",
           help="Set kernel argument, like root=/dev/sda1; this overrides any earlier argument with the same name"),
    Option("karg-append", kind="string-array", arg="NAME=VALUE",
           help="Append kernel argument; useful with e.g. console= that can be used multiple times"),
    Option("karg-none", help="Do not import kernel arguments"),
    Option("karg-delete", kind="string", arg="NAME=VALUE", help="Delete kernel argument if exists"),
    Option("overlay-initrd", kind="string-array", arg="FILE", help="Overlay iniramfs file"),
]


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
    policy = transaction.DeployPolicy(stage=opts.stage, lock_finalization=opts.lock_finalization,
                                      not_default=opts.not_as_default, retain=opts.retain,
                                      retain_pending=opts.retain_pending, retain_rollback=opts.retain_rollback)
    transaction.admin_deploy(sr, args[0], osname=opts.os, origin_file=opts.origin_file, no_merge=opts.no_merge,
                             kargs=kargs, overlay_initrds=opts.overlay_initrd or (), no_prune=opts.no_prune,
                             policy=policy)
    return 0
