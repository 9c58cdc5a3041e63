"""``rpm-ostree-py uninstall``: drop layered packages (and what only they needed)."""

from typing import Annotated

import typer

from . import _common

USAGE = "PACKAGE [PACKAGE...]"
NEEDS_OS = True


def options(
    install: Annotated[list[str], typer.Option("--install", metavar="PKG",
        help="Overlay additional package")] = [],
    all: Annotated[bool, typer.Option("--all", help="Remove all overlayed additional packages")] = False,
    reboot: Annotated[bool, typer.Option("--reboot", "-r",
        help="Initiate a reboot after operation is complete")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n",
        help="Exit after printing the transaction")] = False,
    assumeyes: Annotated[bool, typer.Option("--assumeyes", "-y",
        help="Auto-confirm interactive prompts for non-security questions")] = False,
    allow_inactive: Annotated[bool, typer.Option("--allow-inactive",
        help="Allow inactive package requests")] = False,
    idempotent: Annotated[bool, typer.Option("--idempotent",
        help="Do nothing if package already (un)installed")] = False,
    unchanged_exit_77: Annotated[bool, typer.Option("--unchanged-exit-77",
        help="If no overlays were changed, exit 77")] = False,
    lock_finalization: Annotated[bool, typer.Option("--lock-finalization",
        help="Prevent automatic deployment finalization on shutdown")] = False,
    enablerepo: _common.EnableRepo = [],
    disablerepo: _common.DisableRepo = [],
    releasever: _common.ReleaseVer = [],
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import UsageError
    from ostree_py.rpmostree import core
    from ostree_py.rpmostree.origin import Origin

    from . import _common, _pkgops
    if not args and not opts.all:
        raise UsageError("At least one PACKAGE must be specified")
    if args and opts.all:
        raise UsageError("Cannot specify both --all and packages")
    _common.check_container_only(opts)
    sr = _common.open_sysroot(ctx)
    osname = _common.stateroot(sr, opts.os)
    merge = _common.merge_deployment(sr, osname)
    origin = Origin(merge.origin).new_for_upgrade(keep_override=True)
    changed = _pkgops.remove_requests(origin, args, opts.idempotent, opts.all)
    local = []
    if opts.install:
        c2, local = _pkgops.add_requests(origin, opts.install, opts.idempotent)
        changed = changed or c2
    if not changed:
        return _common.unchanged(ctx, opts)
    base = core.base_of(sr.repo, merge.csum)
    new = _common.deploy(ctx, sr, osname, merge, origin, base, dry_run=opts.dry_run,
                         allow_inactive=opts.allow_inactive, local_paths=local,
                         lock_finalization=opts.lock_finalization, reboot=opts.reboot)
    if new is None and not opts.dry_run:
        return _common.unchanged(ctx, opts)
    return 0
