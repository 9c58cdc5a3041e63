"""``ostree-py admin deploy``: check out REFSPEC as a new deployment and make it the default."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename

USAGE = "REFSPEC"
NEEDS_SYSROOT = True


def options(
    os: Annotated[str | None, typer.Option("--os", metavar="OSNAME",
        help="Use a different operating system root than the current one")] = None,
    origin_file: Annotated[str | None, typer.Option("--origin-file", metavar="FILENAME", parser=filename,
        help="Specify origin file")] = None,
    no_prune: Annotated[bool, typer.Option("--no-prune", help="Don't prune the repo when done")] = False,
    no_merge: Annotated[bool, typer.Option("--no-merge",
        help="Do not apply configuration (/etc and kernel arguments) from booted deployment")] = False,
    retain: Annotated[bool, typer.Option("--retain", help="Do not delete previous deployments")] = False,
    stage: Annotated[bool, typer.Option("--stage", help="Complete deployment at OS shutdown")] = False,
    lock_finalization: Annotated[bool, typer.Option("--lock-finalization", hidden=True,
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


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError
    from ostree_py.core.keyfile import KeyFile
    from ostree_py.sysroot import origin as _origin
    from ostree_py.sysroot.kargs import KernelArgs

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
    refspec = args[0]
    repo = sr.repo
    if sr.booted_deployment is None and opts.os is None:
        raise OstreeError("Looking for booted deployment: Not currently booted into an OSTree system "
                          "and no --os= argument given")
    if opts.origin_file:
        try:
            with open(opts.origin_file, encoding="utf-8") as f:
                origin = KeyFile.parse(f.read())
        except OSError as e:
            import os
            raise OstreeError(f"Failed to open file “{opts.origin_file}”: {os.strerror(e.errno)}") from None
    else:
        origin = _origin.new_from_refspec(refspec)
    revision = repo.resolve_rev(refspec)
    merge = None if opts.no_merge else sr.get_merge_deployment(opts.os)
    try:
        sr.prepare_cleanup()
    except OstreeError as e:
        raise OstreeError(f"Performing initial cleanup: {e.message}") from None
    kargs = None
    if opts.karg_none:
        kargs = KernelArgs()
    elif opts.karg_proc_cmdline:
        kargs = KernelArgs()
        kargs.append_proc_cmdline()
    elif merge is not None and (opts.karg or opts.karg_append or opts.karg_delete):
        kargs = KernelArgs((merge.bootconfig.get("options") or "").split(" ")
                           if merge.bootconfig and merge.bootconfig.get("options") is not None else ())
    if opts.karg:
        kargs = kargs or KernelArgs()
        kargs.replace_argv(opts.karg)
    if opts.karg_append:
        kargs = kargs or KernelArgs()
        kargs.append_argv(opts.karg_append)
    if opts.karg_delete:
        if kargs is None:
            raise OstreeError(f"No key '{opts.karg_delete.partition('=')[0]}' found")
        kargs.delete(opts.karg_delete)
    overlay_initrds = None
    if opts.overlay_initrd:
        from ostree_py.sysroot.stage import stage_overlay_initrd
        overlay_initrds = []
        for path in opts.overlay_initrd:
            try:
                open(path, "rb").close()
            except OSError as e:
                import os
                raise OstreeError(f"openat({path}): {os.strerror(e.errno)}") from None
            overlay_initrds.append(stage_overlay_initrd(path))
    kargs_list = kargs.to_list() if kargs is not None else None
    if opts.stage:
        from ostree_py.sysroot import stage
        if opts.retain_pending or opts.retain_rollback:
            raise OstreeError("--stage cannot currently be combined with --retain arguments")
        if opts.not_as_default:
            raise OstreeError("--stage cannot currently be combined with --not-as-default")
        if opts.lock_finalization:
            stage.lock_finalization()
        stage.stage_tree(sr, opts.os, revision, origin, merge, kargs_list, overlay_initrds)
    else:
        new = sr.deploy_tree(opts.os, revision, origin, merge, kargs_list, overlay_initrds)
        sr.simple_write_deployment(opts.os, new, merge, no_clean=True, not_default=opts.not_as_default,
                                   retain=opts.retain,
                                   retain_pending=opts.retain_pending and not opts.retain,
                                   retain_rollback=opts.retain_rollback and not opts.retain)
    if opts.no_prune or opts.stage:
        sr.prepare_cleanup()
    else:
        sr.cleanup()
    return 0
