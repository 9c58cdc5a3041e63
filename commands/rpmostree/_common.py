"""What the rpm-ostree-py commands share: the sysroot, the stateroot and its merge
deployment, and the transaction that layers, deploys and reports."""

import os
from typing import Annotated

import typer


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
    """The sysroot at --sysroot, loaded (and locked until the command ends)."""
    from .._sysroot import load_sysroot
    rep = reporter(ctx)
    # ostree's own notes ("Copying /etc changes", "Bootloader updated") are not rpm-ostree's output
    return load_sysroot(ctx, ctx.sysroot_path, message=None, lock=lock,
                 on_wait=lambda: rep.msg("Waiting for sysroot lock..."))


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


DOWNLOADED = "downloaded"   # what deploy() returns for --download-only once all is fetched


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


def deploy_transaction(sr, osname, commit, origin, merge, kargs, overlays, *, stage=False,
                       lock_finalization=False):
    """ostree's deploy transaction with rpm-ostree's cleanup (base and package-cache refs
    regenerated, then ostree's cleanup and prune) after an immediate deployment."""
    from ostree_py.rpmostree import syscore
    from ostree_py.sysroot import transaction
    policy = transaction.DeployPolicy(stage=stage, lock_finalization=lock_finalization, cleanup=syscore.cleanup)
    return transaction.deploy(sr, osname, commit, origin.to_keyfile(), merge=merge, kargs=kargs,
                              overlay_initrds=overlays, policy=policy)


def deploy(ctx, sr, osname, merge, origin, base, *, dry_run=False, allow_inactive=True, local_paths=(),
           kargs=None, quiet_changes=False, unchanged_if=None, cache_only=False, download_only=False,
           lock_finalization=False, reboot=False, show_diff=True):
    """Layer ``origin`` on ``base`` and deploy it; returns the new deployment (None on dry
    run or when nothing changed, DOWNLOADED for ``download_only``).

    As rpm-ostree: on a booted sysroot the deployment is staged (finalized at shutdown;
    ``lock_finalization`` creates /run/ostree/staged-deployment-locked first, which keeps
    ostree's finalize-staged from finalizing it); elsewhere it is written at once, so there is
    nothing to lock and ``lock_finalization`` is an error. ``reboot``: ``systemctl reboot``
    once the deployment is written (instead of the package diff)."""
    from ostree_py.rpmostree import RpmOstreeError
    from ostree_py.rpmostree.core import Layering
    rep = reporter(ctx)
    staging = sr.booted_deployment is not None
    if lock_finalization and not staging and not dry_run:
        raise RpmOstreeError("--lock-finalization: the sysroot is not booted, so the deployment is "
                             "written at once and has no finalization to lock")
    layering = Layering(sr, osname, rep, cache_only=cache_only)
    confroot = sr.deployment_dirpath(merge) if merge is not None else None
    res = layering.compute(base, origin, confroot, dry_run=dry_run, allow_inactive=allow_inactive,
                           local_paths=local_paths, unchanged_if=unchanged_if, download_only=download_only)
    if res.unchanged:
        return None
    if dry_run:
        rep.msg("Exiting because of '--dry-run' option")
        return None
    if download_only:
        rep.msg("Update downloaded.")
        return DOWNLOADED
    overlays = overlay_initrds(sr, merge, origin)
    with rep.task("Staging deployment" if staging else "Writing deployment"):
        new = deploy_transaction(sr, osname, res.commit, origin, merge, kargs, overlays, stage=staging,
                                 lock_finalization=lock_finalization)
    if reboot:
        do_reboot(ctx)
        return new
    if merge is not None and show_diff:
        print_diff(ctx, sr.repo, merge.csum, res.commit)
    if not quiet_changes:
        ctx.stdout.write('Changes queued for next boot. Run "systemctl reboot" to start a reboot\n')
    return new


def do_reboot(ctx):
    """``systemctl reboot``, as rpm-ostree's daemon runs it after a transaction asked for it."""
    import subprocess

    from ostree_py.rpmostree import RpmOstreeError
    try:
        p = subprocess.run(["systemctl", "reboot"], stdin=subprocess.DEVNULL)
    except OSError as e:
        raise RpmOstreeError(f"Failed to initiate reboot: systemctl: {e.strerror}") from None
    if p.returncode != 0:
        raise RpmOstreeError(f"Failed to initiate reboot: systemctl reboot exited with status {p.returncode}")


def unchanged(ctx, opts, message="No change."):
    """Nothing to deploy: rpm-ostree's message, and 77 with --unchanged-exit-77."""
    ctx.stdout.write(message + "\n")
    return 77 if getattr(opts, "unchanged_exit_77", False) else 0


# install's and uninstall's options that rpm-ostree honours only in a container build
EnableRepo = Annotated[list[str], typer.Option(
    "--enablerepo", help="Enable the repository based on the repo id. Is only supported in a container build.")]
DisableRepo = Annotated[list[str], typer.Option(
    "--disablerepo", help="Only disabling all (*) repositories is supported currently. Is only supported in a "
                          "container build.")]
ReleaseVer = Annotated[list[str], typer.Option(
    "--releasever", help="Set the releasever. Is only supported in a container build.")]


def check_container_only(opts):
    """--enablerepo, --disablerepo and --releasever: rpm-ostree honours them only in a
    container build (``rpm-ostree install`` inside an ostree container image), which
    rpm-ostree-py, working on a sysroot, never is."""
    from ostree_py.rpmostree import RpmOstreeError
    for name in ("enablerepo", "disablerepo", "releasever"):
        if getattr(opts, name, None):
            raise RpmOstreeError(f"--{name} currently only works in a container build")


def print_diff_variant(ctx, rpm_diff, max_key, verbose) -> None:
    """An update's ``rpm-diff``: aligned lists (verbose) or a ``Diff:`` summary line."""
    from ostree_py.rpmostree.update import value
    w = ctx.stdout.write
    up, down = value(rpm_diff, "upgraded", []), value(rpm_diff, "downgraded", [])
    rm, add = value(rpm_diff, "removed", []), value(rpm_diff, "added", [])
    if verbose:
        for title, items in (("Upgraded", up), ("Downgraded", down)):
            for i, (_t, name, (old, _a), (new, _b)) in enumerate(items):
                w(f"  {title if i == 0 else '':>{max_key}}{':' if i == 0 else ' '} {name} {old} -> {new}\n")
        for title, items in (("Removed", rm), ("Added", add)):
            for i, (_t, name, evr, arch) in enumerate(items):
                w(f"  {title if i == 0 else '':>{max_key}}{':' if i == 0 else ' '} {name}-{evr}.{arch}\n")
        return
    parts = [f"{len(x)} {n}" for x, n in ((up, "upgraded"), (down, "downgraded"), (rm, "removed"), (add, "added"))
             if x]
    if parts:
        w(f"  {'Diff':>{max_key}}: {', '.join(parts)}\n")


def print_cached_update(ctx, u, verbose) -> None:
    """rpm-ostree's AvailableUpdate block (upgrade --check/--preview, status)."""
    import time

    from ostree_py.rpmostree.update import value
    max_key = max(len("SecAdvisories"), len("GPGSignature"))
    w = ctx.stdout.write
    w("AvailableUpdate:\n")
    if value(u, "ref-has-new-commit", False):
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value(u, "timestamp", 0)))
        version = value(u, "version")
        if version is None:
            w(f"  {'Timestamp':>{max_key}}: {ts}\n")
        else:
            w(f"  {'Version':>{max_key}}: {version} ({ts})\n")
        w(f"  {'Commit':>{max_key}}: {value(u, 'checksum')}\n")
    rpm_diff = value(u, "rpm-diff")
    if rpm_diff is not None:
        print_diff_variant(ctx, rpm_diff, max_key, verbose)
