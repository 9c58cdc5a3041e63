"""override remove / replace / reset: change ``[overrides]`` and redeploy."""


def _replace(origin, args, from_repo):
    """Add replacements: local .rpm files (``replace-local``, one per package name) and,
    with ``--from repo=NAME``, package names from that repo (``replace``); returns the
    new local files."""
    import os

    from ostree_py.rpmostree import RpmOstreeError, core
    from ostree_py.rpmostree import rpm as _rpm

    from ._pkgops import is_local_rpm
    local, remote = [], []
    for a in args:
        if is_local_rpm(a):
            local.append(os.path.abspath(a))
        elif from_repo is not None:
            remote.append(a)
        else:
            raise RpmOstreeError(f"Non-local replacement overrides not implemented yet: {a} "
                                 "(use --experimental --from repo=NAME)")
    for path in local:
        hdr = _rpm.query_file(path)
        # a package replaces its earlier replacement
        origin.replace_local = [e for e in origin.replace_local
                                if not _same_name(e.partition(":")[2], hdr.name)]
        origin.replace_local.append(f"{core.sha256_file(path)}:{hdr.nevra}")
        m = origin.replace_repo_map
        if any(hdr.name in names for names in m.values()):
            origin.set_replace_repo_map({r: [n for n in names if n != hdr.name] for r, names in m.items()})
    if remote:
        kind, _, repo = from_repo.partition("=")
        if kind != "repo" or not repo:
            raise RpmOstreeError(f"Invalid override source: {from_repo} (expected repo=NAME)")
        m = origin.replace_repo_map
        for name in remote:
            for names in m.values():
                if name in names:
                    names.remove(name)
            m.setdefault(repo, []).append(name)
            origin.replace_local = [e for e in origin.replace_local if not _same_name(e.partition(":")[2], name)]
        origin.set_replace_repo_map(m)
    return local


def _same_name(nevra: str, name: str) -> bool:
    """Whether NEVRA (name-[epoch:]version-release.arch) is a package called ``name``."""
    return nevra.rsplit("-", 2)[0] == name


def change(ctx, opts, add=(), drop=(), all_=False, replace=(), from_repo=None):
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
        if not (origin.removals or origin.replace_local or origin.replace_repo):
            ctx.stdout.write("No change.\n")
            return 0
        origin.removals, origin.replace_local, origin.replace_repo = [], [], []
    for p in drop:
        m = origin.replace_repo_map
        if any(p in names for names in m.values()):
            for names in m.values():
                if p in names:
                    names.remove(p)
            origin.set_replace_repo_map(m)
            continue
        if p in origin.removals:
            origin.removals.remove(p)
            continue
        # a local replacement, by name or by NEVRA
        match = [e for e in origin.replace_local if e.partition(":")[2] == p or _same_name(e.partition(":")[2], p)]
        if not match:
            raise RpmOstreeError(f"No overrides for package '{p}'")
        for e in match:
            origin.replace_local.remove(e)
    local = _replace(origin, replace, from_repo) if replace else []
    if getattr(opts, "uninstall", None):
        _pkgops.remove_requests(origin, opts.uninstall)
    if getattr(opts, "install", None):
        _c, more = _pkgops.add_requests(origin, opts.install)
        local += more
    _common.deploy(ctx, sr, osname, merge, origin, base, dry_run=opts.dry_run, local_paths=local,
                   cache_only=getattr(opts, 'cache_only', False), lock_finalization=opts.lock_finalization,
                   reboot=opts.reboot)
    return 0
