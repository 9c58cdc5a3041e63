"""What the rpm-ostree-py commands share: the sysroot, the stateroot and its merge
deployment, and the transaction that layers, deploys and reports."""

import os


def reporter(ctx):
    from ostree_py.rpmostree.core import Reporter

    def write(s):
        if not getattr(ctx, "quiet", False):
            ctx.stdout.write(s)
            try:
                ctx.stdout.flush()
            except (AttributeError, ValueError):
                pass
    return Reporter(write)


def open_sysroot(ctx, lock=True):
    from ostree_py.sysroot import Sysroot
    rep = reporter(ctx)
    # ostree's own notes ("Copying /etc changes", "Bootloader updated") are not rpm-ostree's output
    sr = Sysroot(ctx.sysroot_path, ctx.environ, warning=lambda text: ctx.stderr.write(text + "\n"))
    sr.initialize()
    if lock:
        sr.lock(on_wait=lambda: rep.msg("Waiting for sysroot lock..."))
        import atexit
        atexit.register(sr.unlock)
    sr.load()
    return sr


def stateroot(sr, osname):
    """The stateroot to act on: --os, else the booted one, else the first deployment's."""
    from ostree_py.rpmostree import RpmOstreeError
    if osname:
        if not any(d.osname == osname for d in sr.deployments) and \
                not os.path.isdir(sr.p(f"ostree/deploy/{osname}")):
            raise RpmOstreeError(f"No such stateroot: {osname}")
        return osname
    if sr.booted_deployment is not None:
        return sr.booted_deployment.osname
    if not sr.deployments:
        raise RpmOstreeError("No deployments found")
    return sr.deployments[0].osname


def merge_deployment(sr, osname):
    from ostree_py.rpmostree import RpmOstreeError
    d = sr.get_merge_deployment(osname) if sr.booted_deployment is not None else \
        next((x for x in sr.deployments if x.osname == osname), None)
    if d is None:
        raise RpmOstreeError(f"No deployments found for stateroot '{osname}'")
    return d


def print_diff(ctx, repo, old_csum, new_csum):
    from ostree_py.rpmostree import core
    old, new = core.pkglist(repo, old_csum), core.pkglist(repo, new_csum)
    print_pkgdiff(ctx, *core.diff_pkglists(old, new))


def print_pkgdiff(ctx, up, down, removed, added):
    from ostree_py.rpmostree.core import nevra_str
    w = ctx.stdout.write

    def ev(t):
        return (f"{t[1]}:" if t[1] else "") + f"{t[2]}-{t[3]}"
    if up:
        w("Upgraded:\n")
        for a, b in up:
            w(f"  {a[0]} {ev(a)} -> {ev(b)}\n")
    if down:
        w("Downgraded:\n")
        for a, b in down:
            w(f"  {a[0]} {ev(a)} -> {ev(b)}\n")
    if removed:
        w("Removed:\n")
        for t in removed:
            w(f"  {nevra_str(t)}\n")
    if added:
        w("Added:\n")
        for t in added:
            w(f"  {nevra_str(t)}\n")


def overlay_initrds(sr, merge, origin):
    """The overlay initrd of the origin's ``initramfs-etc`` files (read from the merge
    deployment's /etc), staged for deployment: [checksum], or None."""
    if not origin.initramfs_etc:
        return None
    import tempfile

    from ostree_py.rpmostree.initramfs import write_overlay
    from ostree_py.sysroot.stage import stage_overlay_initrd
    etc = os.path.join(sr.deployment_dirpath(merge), "etc") if merge is not None else "/etc"
    with tempfile.TemporaryDirectory(prefix="rpmostree-initramfs-etc-", dir=sr.p("ostree/repo/tmp")) as d:
        path = os.path.join(d, "overlay.img")
        write_overlay(etc, origin.initramfs_etc, path)
        return [stage_overlay_initrd(path)]


def deploy(ctx, sr, osname, merge, origin, base, *, dry_run=False, allow_inactive=True, local_paths=(),
           kargs=None, quiet_changes=False, unchanged_if=None, cache_only=False, show_diff=True):
    """Layer ``origin`` on ``base`` and deploy it; returns the new deployment (None on dry run)."""
    from ostree_py.rpmostree.core import Layering
    rep = reporter(ctx)
    layering = Layering(sr, osname, rep, cache_only=cache_only)
    confroot = sr.deployment_dirpath(merge) if merge is not None else None
    res = layering.compute(base, origin, confroot, dry_run=dry_run, allow_inactive=allow_inactive,
                           local_paths=local_paths, unchanged_if=unchanged_if)
    if res.unchanged:
        return None
    if dry_run:
        rep.msg("Exiting because of '--dry-run' option")
        return None
    overlays = overlay_initrds(sr, merge, origin)
    with rep.task("Writing deployment"):
        new = sr.deploy_tree(osname, res.commit, origin.to_keyfile(), merge, kargs, overlay_initrds=overlays)
        sr.simple_write_deployment(osname, new, merge)
    if merge is not None and show_diff:
        print_diff(ctx, sr.repo, merge.csum, res.commit)
    if not quiet_changes:
        ctx.stdout.write('Changes queued for next boot. Run "systemctl reboot" to start a reboot\n')
    return new
