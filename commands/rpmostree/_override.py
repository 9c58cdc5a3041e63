"""override remove / reset: change ``[overrides] remove=`` and redeploy."""


def change(ctx, opts, add=(), drop=(), all_=False):
    from ostree_py.rpmostree import RpmOstreeError, core
    from ostree_py.rpmostree.origin import Origin

    from . import _common, _pkgops
    sr = _common.open_sysroot(ctx)
    osname = _common.stateroot(sr, opts.os)
    merge = _common.merge_deployment(sr, osname)
    origin = Origin(merge.origin).new_for_upgrade(keep_override=True)
    base = core.base_of(sr.repo, merge.csum)
    if add:
        names = {t[0] for t in core.pkglist(sr.repo, base)}
        for p in add:
            if p in origin.removals:
                raise RpmOstreeError(f"Override already exists for package '{p}'")
            if p not in names:
                raise RpmOstreeError(f"Package \"{p}\" not found")
            origin.removals.append(p)
    if all_:
        if not origin.removals:
            ctx.stdout.write("No change.\n")
            return 0
        origin.removals = []
    for p in drop:
        if p not in origin.removals:
            raise RpmOstreeError(f"No overrides for package '{p}'")
        origin.removals.remove(p)
    local = []
    if getattr(opts, "uninstall", None):
        _pkgops.remove_requests(origin, opts.uninstall)
    if getattr(opts, "install", None):
        _c, local = _pkgops.add_requests(origin, opts.install)
    _common.deploy(ctx, sr, osname, merge, origin, base, dry_run=opts.dry_run, local_paths=local,
                   cache_only=getattr(opts, 'cache_only', False), lock_finalization=opts.lock_finalization,
                   reboot=opts.reboot)
    return 0
