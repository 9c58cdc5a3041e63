"""``rpm-ostree-py initramfs-etc``: /etc files shipped in an overlay initrd."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_OS = True


def options(
    force_sync: Annotated[bool, typer.Option("--force-sync",
        help="Deploy a new tree with the latest tracked /etc files")] = False,
    track: Annotated[list[str], typer.Option("--track", metavar="FILE", help="Track root /etc file")] = [],
    untrack: Annotated[list[str], typer.Option("--untrack", metavar="FILE",
        help="Untrack root /etc file")] = [],
    untrack_all: Annotated[bool, typer.Option("--untrack-all", help="Untrack all root /etc files")] = False,
    reboot: Annotated[bool, typer.Option("--reboot", "-r",
        help="Initiate a reboot after operation is complete")] = False,
    unchanged_exit_77: Annotated[bool, typer.Option("--unchanged-exit-77",
        help="If no new deployment made, exit 77")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError
    from ostree_py.rpmostree import RpmOstreeError, core
    from ostree_py.rpmostree.origin import Origin

    from . import _common
    if args:
        raise UsageError("This command does not take positional arguments")
    if not (opts.track or opts.untrack or opts.untrack_all or opts.force_sync):
        if opts.reboot:
            raise OstreeError("Cannot use ---reboot without --track, --untrack, --untrack-all, or --force-sync")
        sr = _common.open_sysroot(ctx, lock=False)
        _common.stateroot(sr, opts.os)
        files = []
        if sr.deployments:
            try:
                files = Origin(sr.deployments[0].origin).initramfs_etc
            except OstreeError:
                files = []
        if not files:
            ctx.stdout.write("No tracked files.\n")
        else:
            ctx.stdout.write("Tracked files:\n" + "".join(f"  {f}\n" for f in files))
        return 0
    sr = _common.open_sysroot(ctx)
    osname = _common.stateroot(sr, opts.os)
    merge = _common.merge_deployment(sr, osname)
    origin = Origin(merge.origin).new_for_upgrade(keep_override=True)
    tracked = set(origin.initramfs_etc)
    before = set(tracked)
    if opts.untrack_all:
        tracked.clear()
    elif opts.untrack:
        tracked -= set(opts.untrack)
    tracked |= set(opts.track)
    if tracked == before and not opts.force_sync:
        ctx.stdout.write("No changes.\n")
        return 77 if opts.unchanged_exit_77 else 0
    for f in sorted(tracked):
        if not f.startswith("/etc/"):
            raise RpmOstreeError(f"Path outside /etc forbidden: {f}")
    origin.initramfs_etc = sorted(tracked)
    base = core.base_of(sr.repo, merge.csum)
    _common.deploy(ctx, sr, osname, merge, origin, base, quiet_changes=True, show_diff=False,
                   reboot=opts.reboot)
    ctx.stdout.write('Run "systemctl reboot" to start a reboot\n')
    return 0
