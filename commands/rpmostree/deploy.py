"""``rpm-ostree-py deploy REVISION``: deploy a specific base commit, keeping the layers."""

from .._cli import Option

SUMMARY = "Deploy a specific commit"
USAGE = "REVISION"
NEEDS_OS = True
OPTIONS = [
    Option("reboot", "r", help="Initiate a reboot after operation is complete"),
    Option("preview", help="Just preview package differences"),
    Option("cache-only", "C", help="Do not download latest ostree and RPM data"),
    Option("download-only", help="Just download latest ostree and RPM data, don't deploy"),
    Option("disallow-downgrade", help="Forbid deployment of chronologically older trees"),
    Option("unchanged-exit-77", help="If no new deployment made, exit 77"),
    Option("install", kind="string-array", arg="PKG", help="Overlay additional package"),
    Option("uninstall", kind="string-array", arg="PKG", help="Remove overlayed package"),
]


def change_base(ctx, opts, new_refspec=None, revision=None):
    """deploy and rebase: a new origin base, pulled, then layered and deployed."""
    from ostree_py.errors import OstreeError
    from ostree_py.objects import is_checksum
    from ostree_py.rpmostree import RpmOstreeError, core
    from ostree_py.rpmostree.origin import Origin

    from . import _common, _pkgops
    from .upgrade import pull_base
    if opts.reboot:
        raise OstreeError("--reboot: rebooting is not supported by rpm-ostree-py; reboot yourself")
    sr = _common.open_sysroot(ctx)
    osname = _common.stateroot(sr, opts.os)
    merge = _common.merge_deployment(sr, osname)
    repo = sr.repo
    origin = Origin(merge.origin).new_for_upgrade()
    if new_refspec is not None:
        origin.refspec = new_refspec
    origin.override_commit = None
    local = []
    if getattr(opts, "uninstall", None):
        _pkgops.remove_requests(origin, opts.uninstall)
    if getattr(opts, "install", None):
        _c, local = _pkgops.add_requests(origin, opts.install)
    current_base = core.base_of(repo, merge.csum)
    if revision is not None:
        if revision.startswith("version="):
            raise RpmOstreeError("Deploying by version is not supported by rpm-ostree-py; give a checksum")
        csum = repo.resolve_rev(revision, allow_noent=True)
        if csum is None and is_checksum(revision):
            csum = revision
        if csum is None:
            raise RpmOstreeError(f"Invalid checksum or ref '{revision}'")
        origin.override_commit = csum
    new_base = pull_base(ctx, sr, origin, not opts.disallow_downgrade, opts.cache_only, current_base)
    if getattr(opts, "preview", False):
        _common.print_pkgdiff(ctx, *core.diff_pkglists(core.pkglist(repo, current_base),
                                                      core.pkglist(repo, new_base)))
        return 0
    if new_base == current_base and origin.to_keyfile().to_text() == Origin(merge.origin).to_keyfile().to_text():
        ctx.stdout.write("No change.\n")
        return 77 if getattr(opts, "unchanged_exit_77", False) else 0
    if opts.download_only:
        ctx.stdout.write("Update downloaded.\n")
        return 0
    new = _common.deploy(ctx, sr, osname, merge, origin, new_base, local_paths=local,
                         cache_only=getattr(opts, 'cache_only', False))
    old_refspec = Origin(merge.origin).refspec
    if (new is not None and new_refspec is not None and not getattr(opts, "skip_purge", True)
            and old_refspec and old_refspec != new_refspec):
        # rebase: the previous branch is no longer followed; its ref goes (unless --skip-purge)
        # and with it, once no deployment uses them, its objects at the next cleanup
        from ostree_py.objects import parse_refspec
        old_remote, old_ref = parse_refspec(old_refspec)
        with repo.transaction():
            repo.set_ref(old_ref, None, remote=old_remote)
    return 0


def run(ctx, opts, args):
    from ostree_py.errors import UsageError
    if len(args) != 1:
        raise UsageError("REVISION must be specified")
    return change_base(ctx, opts, None, args[0])
