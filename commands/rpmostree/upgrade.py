"""``rpm-ostree-py upgrade``: pull the base's ref and re-apply the layered packages on it."""

from .._cli import Option

SUMMARY = "Perform a system upgrade"
USAGE = ""
NEEDS_OS = True
OPTIONS = [
    Option("reboot", "r", help="Initiate a reboot after operation is complete"),
    Option("allow-downgrade", help="Permit deployment of chronologically older trees"),
    Option("preview", help="Just preview package differences (implies --unchanged-exit-77)"),
    Option("check", help="Just check if an upgrade is available (implies --unchanged-exit-77)"),
    Option("cache-only", "C", help="Do not download latest ostree and RPM data"),
    Option("download-only", help="Just download latest ostree and RPM data, don't deploy"),
    Option("unchanged-exit-77", help="If no upgrade is available, exit 77"),
    Option("bypass-driver", help="Force an upgrade even if an updates driver is registered"),
    Option("install", kind="string-array", arg="PKG", help="Overlay additional package"),
    Option("uninstall", kind="string-array", arg="PKG", help="Remove overlayed package"),
]


def pull_base(ctx, sr, origin, allow_downgrade, cache_only, current_base):
    """Fetch the origin's base; return its commit checksum."""
    from ostree_py.objects import parse_refspec
    from ostree_py.sysroot.upgrader import check_timestamps
    repo = sr.repo
    remote, ref = parse_refspec(origin.refspec)
    if origin.override_commit:
        if remote and not cache_only:
            # pulled even when stored: the pull checks its signatures as the remote asks
            from ostree_py.pull import pull
            pull(repo, remote, [origin.override_commit])
        return origin.override_commit
    if remote and not cache_only:
        from ostree_py.pull import pull
        from . import _common
        with _common.reporter(ctx).task(f"Pulling {origin.refspec}"):
            pull(repo, remote, [ref], timestamp_check_from_rev=None if allow_downgrade else current_base)
    new = repo.resolve_rev(origin.refspec)
    if new != current_base and not allow_downgrade:
        check_timestamps(repo, current_base, new)
    return new


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError
    from ostree_py.rpmostree import core
    from ostree_py.rpmostree.origin import Origin

    from . import _common, _pkgops
    if opts.reboot:
        raise OstreeError("--reboot: rebooting is not supported by rpm-ostree-py; reboot yourself")
    if (opts.check or opts.preview) and (opts.install or opts.uninstall):
        raise OstreeError("Cannot specify both --check/--preview and --install/--uninstall")
    sr = _common.open_sysroot(ctx)
    osname = _common.stateroot(sr, opts.os)
    merge = _common.merge_deployment(sr, osname)
    repo = sr.repo
    old_origin = Origin(merge.origin)
    origin = old_origin.new_for_upgrade()
    local = []
    if opts.uninstall:
        _pkgops.remove_requests(origin, opts.uninstall)
    if opts.install:
        _c, local = _pkgops.add_requests(origin, opts.install)
    current_base = core.base_of(repo, merge.csum)
    new_base = pull_base(ctx, sr, origin, opts.allow_downgrade, opts.cache_only, current_base)
    requests_changed = (sorted(origin.requested) != sorted(old_origin.requested)
                        or sorted(origin.requested_local) != sorted(old_origin.requested_local))
    unchanged_rc = 77 if (opts.unchanged_exit_77 or opts.check or opts.preview) else 0
    if opts.check or opts.preview:
        if new_base == current_base:
            ctx.stdout.write("No updates available.\n")
            return unchanged_rc
        c = repo.load_commit(new_base)
        v = c.metadata.get("version")
        w = ctx.stdout.write
        w("AvailableUpdate:\n")
        if v is not None:
            import time
            w(f"        Version: {getattr(v, 'value', v)} "
              f"({time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(c.timestamp))})\n")
        w(f"         Commit: {new_base}\n")
        up, down, rm, add = core.diff_pkglists(core.pkglist(repo, current_base), core.pkglist(repo, new_base))
        if opts.preview:
            _common.print_pkgdiff(ctx, up, down, rm, add)
        else:
            parts = [f"{len(x)} {n}" for x, n in ((up, "upgraded"), (down, "downgraded"), (rm, "removed"),
                                                    (add, "added")) if x]
            if parts:
                w(f"           Diff: {', '.join(parts)}\n")
        return 0
    unchanged_if = None
    if new_base == current_base and not requests_changed:
        if not (origin.requested or origin.requested_local) or opts.download_only:
            ctx.stdout.write("No upgrade available.\n")
            return 77 if opts.unchanged_exit_77 else 0
        # the base did not move: an upgrade only if the layered packages resolve differently
        base_set = set(core.pkglist(repo, current_base))
        unchanged_if = {core.nevra_str(t) for t in core.pkglist(repo, merge.csum) if t not in base_set}
    if opts.download_only:
        ctx.stdout.write("Update downloaded.\n")
        return 0
    new = _common.deploy(ctx, sr, osname, merge, origin, new_base, local_paths=local, unchanged_if=unchanged_if,
                   cache_only=getattr(opts, 'cache_only', False))
    if new is None:
        ctx.stdout.write("No upgrade available.\n")
        return 77 if opts.unchanged_exit_77 else 0
    return 0
