"""rpm-ostree's sysroot core: the cleanup that follows a deployment change.

libostree's cleanup keeps a deployment's own commit but not its parent, so
the base of a layered deployment would be pruned as soon as its ref moves on
(an upgrade), and the deployment could no longer be re-layered (install,
uninstall after a rollback). rpm-ostree holds every such base with a ref
``rpmostree/base/N`` (N counts the layered deployments, in order), rewritten
at each cleanup, and drops the package-cache refs no deployment uses any more;
then it prunes.
"""

from ostree_py.errors import OstreeError
from ostree_py.rpmostree import core

BASE_REF_PREFIX = "rpmostree/base"


def base_commits(sysroot) -> list:
    """The base commits of the layered deployments, in deployment order."""
    repo = sysroot.repo
    out = []
    for d in sysroot.deployments:
        if core.is_layered(repo, d.csum):
            out.append(core.base_of(repo, d.csum))
    return out


def _wanted_pkgcache_refs(sysroot) -> set:
    """Cache refs of every package in the rpmdb of a layered deployment (the layered
    ones among them; base packages have no cache ref, and that is harmless)."""
    repo = sysroot.repo
    wanted = set()
    for d in sysroot.deployments:
        if not core.is_layered(repo, d.csum):
            continue
        for name, epoch, version, release, arch in core.pkglist(repo, d.csum):
            evr = (f"{epoch}:" if epoch else "") + f"{version}-{release}"
            wanted.add(f"{core.PKGCACHE_PREFIX}{core.escape_ref_part(name)}/"
                       f"{core.escape_ref_part(evr + '.' + arch)}")
    return wanted


def regenerate_refs(sysroot) -> int:
    """Rewrite the ``rpmostree/base/N`` refs from the current deployments and delete the
    package-cache refs no deployment uses; returns how many of those went."""
    repo = sysroot.repo
    wanted_pkgs = _wanted_pkgcache_refs(sysroot)
    bases = base_commits(sysroot)
    freed = 0
    want = {f"{BASE_REF_PREFIX}/{i}": base for i, base in enumerate(bases)}
    with repo.transaction():
        have = repo.list_refs(BASE_REF_PREFIX, remotes=False)
        # the new refs first: at no point is a base that is still needed left without one
        for ref, base in want.items():
            if have.get(ref) != base:
                repo.set_ref(ref, base)
        for ref in have:
            if ref not in want:
                repo.set_ref(ref, None)
        for ref in repo.list_refs(core.PKGCACHE_PREFIX.rstrip("/"), remotes=False):
            if ref not in wanted_pkgs:
                repo.set_ref(ref, None)
                freed += 1
    return freed


def cleanup(sysroot) -> int:
    """rpm-ostree's cleanup after a deployment change: refs regenerated, then ostree's
    cleanup and prune. Returns the number of package-cache refs freed."""
    try:
        freed = regenerate_refs(sysroot)
    except OstreeError as e:
        raise core.RpmOstreeError(f"syscore cleanup: regenerating refs: {e.message}") from None
    sysroot.cleanup()
    return freed
