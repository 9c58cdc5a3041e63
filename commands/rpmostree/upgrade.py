"""``rpm-ostree-py upgrade``: pull the base's ref and re-apply the layered packages on it."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_OS = True


def options(
    reboot: Annotated[bool, typer.Option("--reboot", "-r",
        help="Initiate a reboot after operation is complete")] = False,
    allow_downgrade: Annotated[bool, typer.Option("--allow-downgrade",
        help="Permit deployment of chronologically older trees")] = False,
    preview: Annotated[bool, typer.Option("--preview",
        help="Just preview package differences (implies --unchanged-exit-77)")] = False,
    check: Annotated[bool, typer.Option("--check",
        help="Just check if an upgrade is available (implies --unchanged-exit-77)")] = False,
    cache_only: Annotated[bool, typer.Option("--cache-only", "-C",
        help="Do not download latest ostree and RPM data")] = False,
    download_only: Annotated[bool, typer.Option("--download-only",
        help="Just download latest ostree and RPM data, don't deploy")] = False,
    unchanged_exit_77: Annotated[bool, typer.Option("--unchanged-exit-77",
        help="If no upgrade is available, exit 77")] = False,
    lock_finalization: Annotated[bool, typer.Option("--lock-finalization",
        help="Prevent automatic deployment finalization on shutdown")] = False,
    bypass_driver: Annotated[bool, typer.Option("--bypass-driver",
        help="Force an upgrade even if an updates driver is registered")] = False,
    install: Annotated[list[str], typer.Option("--install", metavar="PKG",
        help="Overlay additional package")] = [],
    uninstall: Annotated[list[str], typer.Option("--uninstall", metavar="PKG",
        help="Remove overlayed package")] = [],
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def pull_base(ctx, sr, origin, allow_downgrade, cache_only, current_base):
    """Fetch the origin's base; return its commit checksum."""
    from ostree_py.core.objects import parse_refspec
    from ostree_py.sysroot.upgrader import check_timestamps
    repo = sr.repo
    remote, ref = parse_refspec(origin.refspec)
    if origin.override_commit:
        if remote and not cache_only:
            # pulled even when stored: the pull checks its signatures as the remote asks
            from ostree_py.remote.pull import pull
            pull(repo, remote, [origin.override_commit])
        return origin.override_commit
    if remote and not cache_only:
        from ostree_py.remote.pull import pull
        from . import _common
        with _common.reporter(ctx).task(f"Pulling {origin.refspec}"):
            pull(repo, remote, [ref], timestamp_check_from_rev=None if allow_downgrade else current_base)
    new = repo.resolve_rev(origin.refspec)
    if new != current_base and not allow_downgrade:
        check_timestamps(repo, current_base, new)
    return new


def check_update(ctx, sr, osname, verbose) -> int:
    """--check / --preview: compute the update against the reference deployment (new base
    commit, newer versions of layered packages in the rpm-md repos), cache it as rpm-ostree
    does, print it; 77 when there is none."""
    from ostree_py.rpmostree import core, update
    from ostree_py.rpmostree.origin import Origin

    from . import _common
    ref = update.reference_deployment(sr, osname)
    origin = Origin(ref.origin)
    newer = []
    if core.is_layered(sr.repo, ref.csum) and origin.requested:
        layering = core.Layering(sr, osname, _common.reporter(ctx))
        newer = layering.newer_layered(core.base_of(sr.repo, ref.csum), ref.csum, sr.deployment_dirpath(ref))
    u = update.generate(sr, osname, newer)
    update.write_cached(sr, osname, u)
    ctx.stderr.write("Note: --check and --preview may be unreliable.  See "
                     "https://github.com/coreos/rpm-ostree/issues/1579\n")
    if u is None:
        ctx.stdout.write("No updates available.\n")
        return 77
    _common.print_cached_update(ctx, u, verbose)
    return 0


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError
    from ostree_py.rpmostree import core
    from ostree_py.rpmostree.origin import Origin

    from . import _common, _pkgops
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
                        or sorted(origin.local_nevras) != sorted(old_origin.local_nevras))
    if opts.check or opts.preview:
        return check_update(ctx, sr, osname, opts.preview)
    unchanged_if = None
    if new_base == current_base and not requests_changed:
        if not (origin.requested or origin.local_nevras):
            ctx.stdout.write("No upgrade available.\n")
            return 77 if opts.unchanged_exit_77 else 0
        # the base did not move: an upgrade only if the layered packages resolve differently
        base_set = set(core.pkglist(repo, current_base))
        unchanged_if = {core.nevra_str(t) for t in core.pkglist(repo, merge.csum) if t not in base_set}
    new = _common.deploy(ctx, sr, osname, merge, origin, new_base, local_paths=local, unchanged_if=unchanged_if,
                         cache_only=opts.cache_only, download_only=opts.download_only,
                         lock_finalization=opts.lock_finalization, reboot=opts.reboot)
    if new is _common.DOWNLOADED:
        return 0
    if new is not None:
        from ostree_py.rpmostree import update
        update.write_cached(sr, osname, None)     # computed against what is no longer the default
    if new is None:
        ctx.stdout.write("No upgrade available.\n")
        return 77 if opts.unchanged_exit_77 else 0
    return 0
