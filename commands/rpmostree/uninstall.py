"""``rpm-ostree-py uninstall``: drop layered packages (and what only they needed)."""

from .._cli import Option
from ._common import container_only_options

SUMMARY = "Remove overlayed additional packages"
USAGE = "PACKAGE [PACKAGE...]"
NEEDS_OS = True
OPTIONS = [
    Option("install", kind="string-array", arg="PKG", help="Overlay additional package"),
    Option("all", help="Remove all overlayed additional packages"),
    Option("reboot", "r", help="Initiate a reboot after operation is complete"),
    Option("dry-run", "n", help="Exit after printing the transaction"),
    Option("assumeyes", "y", help="Auto-confirm interactive prompts for non-security questions"),
    Option("allow-inactive", help="Allow inactive package requests"),
    Option("idempotent", help="Do nothing if package already (un)installed"),
    Option("unchanged-exit-77", help="If no overlays were changed, exit 77"),
    Option("lock-finalization", help="Prevent automatic deployment finalization on shutdown"),
    *container_only_options(),
]


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
