"""``rpm-ostree-py rollback``: make the previous deployment the default again."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_OS = False


def options(
    reboot: Annotated[bool, typer.Option("--reboot", "-r",
        help="Initiate a reboot after operation is complete")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.rpmostree import RpmOstreeError

    from . import _common
    sr = _common.open_sysroot(ctx)
    osname = _common.stateroot(sr, None)
    booted = sr.booted_deployment
    mine = [d for d in sr.deployments if d.osname == osname and not d.staged]
    if booted is not None:
        pending, rollback = sr.query_deployments_for(osname)
        target = booted if pending is not None else rollback
    else:
        target = mine[1] if len(mine) > 1 else None
    if target is None:
        raise RpmOstreeError("No rollback deployment found")
    current = mine[0]
    ctx.stdout.write(f"Moving '{target.csum}.{target.deployserial}' to be first deployment\n")
    new_list = [target] + [d for d in sr.deployments if d is not target and not d.staged]
    sr.write_deployments(new_list, do_postclean=False)
    if opts.reboot:
        _common.do_reboot(ctx)
        return 0
    _common.print_diff(ctx, sr.repo, current.csum, target.csum)
    ctx.stdout.write('Changes queued for next boot. Run "systemctl reboot" to start a reboot\n')
    return 0
