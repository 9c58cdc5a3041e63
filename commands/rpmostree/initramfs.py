"""``rpm-ostree-py initramfs``: show, enable or disable client-side initramfs regeneration."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_OS = True


def options(
    enable: Annotated[bool, typer.Option("--enable",
        help="Enable regenerating initramfs locally using dracut")] = False,
    arg: Annotated[list[str], typer.Option("--arg", metavar="ARG",
        help="Append ARG to the dracut arguments")] = [],
    disable: Annotated[bool, typer.Option("--disable",
        help="Disable regenerating initramfs locally")] = False,
    reboot: Annotated[bool, typer.Option("--reboot", "-r",
        help="Initiate a reboot after operation is complete")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError
    from ostree_py.rpmostree import RpmOstreeError, core
    from ostree_py.rpmostree.origin import Origin

    from . import _common
    if args:
        raise UsageError("This command does not take positional arguments")
    if not (opts.enable or opts.disable):
        if opts.reboot:
            raise OstreeError("--reboot must be used with --enable or --disable")
        if opts.arg:
            raise OstreeError("--arg must be used with --enable")
        sr = _common.open_sysroot(ctx, lock=False)
        _common.stateroot(sr, opts.os)
        regenerate, iargs = False, []
        # rpm-ostree reads the pending (first) deployment, when there is more than one
        if len(sr.deployments) > 1:
            d = sr.deployments[0]
            try:
                o = Origin(d.origin)
                regenerate, iargs = o.regenerate_initramfs, o.initramfs_args
            except OstreeError:
                pass
        ctx.stdout.write(f"Initramfs regeneration: {'enabled' if regenerate else 'disabled'}\n")
        if regenerate and iargs:
            ctx.stdout.write("Initramfs args: " + "".join(a + " " for a in iargs) + "\n")
        return 0
    if opts.enable and opts.disable:
        raise OstreeError("Cannot simultaenously specify --enable and --disable")
    if opts.disable and opts.arg:
        raise OstreeError("Cannot simultaenously specify --disable and --arg")
    sr = _common.open_sysroot(ctx)
    osname = _common.stateroot(sr, opts.os)
    merge = _common.merge_deployment(sr, osname)
    origin = Origin(merge.origin).new_for_upgrade(keep_override=True)
    # the arguments are not compared: given arguments always mean "run again"
    if origin.regenerate_initramfs == bool(opts.enable) and not origin.initramfs_args and not opts.arg:
        raise RpmOstreeError("initramfs regeneration state is already "
                             f"{'enabled' if origin.regenerate_initramfs else 'disabled'}")
    origin.set_regenerate_initramfs(bool(opts.enable), opts.arg or [])
    base = core.base_of(sr.repo, merge.csum)
    _common.deploy(ctx, sr, osname, merge, origin, base, quiet_changes=True, show_diff=False,
                   reboot=opts.reboot)
    ctx.stdout.write(f"Initramfs regeneration is now: {'enabled' if opts.enable else 'disabled'}\n")
    if not opts.enable:
        ctx.stdout.write("Initramfs will be reset to default on next reboot.\n")
    return 0
