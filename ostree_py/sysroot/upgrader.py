"""Upgrades: follow a deployment's origin (OstreeSysrootUpgrader).

The merge deployment of the stateroot gives the origin; ``pull`` fetches
its ref (or ``override-commit``) unless ``synthetic``, follows an
``ostree.endoflife-rebase`` redirect, and refuses a chronologically older
commit unless ``allow_older``; ``deploy`` writes the new deployment.
"""

import os

from ostree_py.core.objects import parse_refspec, validate_checksum
from ostree_py.sysroot import origin as _origin
from ostree_py.sysroot.sysroot import Sysroot, SysrootError


class Upgrader:
    def __init__(self, sysroot: Sysroot, osname: str | None, ignore_unconfigured: bool = False,
                 stage: bool = False):
        self.sysroot = sysroot
        self.ignore_unconfigured = ignore_unconfigured
        self.stage = stage
        booted = sysroot.booted_deployment
        if booted is None and osname is None:
            raise SysrootError("Not currently booted into an OSTree system and no OS specified")
        if osname is None:
            osname = booted.osname
        elif osname == "":
            raise SysrootError("Invalid empty osname")
        self.osname = osname
        self.merge_deployment = sysroot.get_merge_deployment(osname)
        if self.merge_deployment is None:
            raise SysrootError(f"No previous deployment for OS '{osname}'")
        if self.merge_deployment.origin is None:
            raise SysrootError(f"No origin known for deployment {self.merge_deployment.csum}."
                               f"{self.merge_deployment.deployserial}")
        self.origin = self.merge_deployment.origin
        self.new_revision = None
        self._parse_refspec()

    def _parse_refspec(self) -> None:
        if not self.ignore_unconfigured:
            state = self.origin.get("origin", "unconfigured-state")
            if state:
                raise SysrootError(f"origin unconfigured-state: {state}")
        refspec = self.origin.get("origin", "refspec")
        if not refspec:
            raise SysrootError("No origin/refspec in current deployment origin; cannot upgrade via ostree")
        self.origin_remote, self.origin_ref = parse_refspec(refspec)
        csum = self.origin.get("origin", "override-commit")
        if csum is not None:
            validate_checksum(csum)
        self.override_csum = csum

    def dup_origin(self):
        return _origin.copy(self.origin)

    def set_origin(self, origin) -> None:
        self.origin = origin
        if origin is not None:
            self._parse_refspec()

    def _origin_refspec(self) -> str:
        return f"{self.origin_remote}:{self.origin_ref}" if self.origin_remote else self.origin_ref

    def pull(self, synthetic: bool = False, allow_older: bool = False, progress=None) -> bool:
        """Fetch the new commit; returns whether it differs from the merge deployment's."""
        repo = self.sysroot.repo
        from_rev = self.merge_deployment.csum
        refs = [self.override_csum or self.origin_ref]
        if self.origin_remote and not synthetic:
            from ostree_py.remote.pull import pull
            pull(repo, self.origin_remote, refs, timestamp_check_from_rev=None if allow_older else from_rev,
                 progress=progress)
        refspec = self._origin_refspec()
        new_rev = repo.resolve_rev(refspec)
        meta = repo.load_commit(new_rev).metadata
        rebase = meta.get("ostree.endoflife-rebase")
        if rebase is not None and getattr(rebase, "type", "s") == "s":
            new_ref = getattr(rebase, "value", rebase)
            if self.origin_remote and not synthetic:
                from ostree_py.remote.pull import pull
                pull(repo, self.origin_remote, [new_ref], progress=progress)
            self.origin_ref = new_ref
            refspec = self._origin_refspec()
            self.origin.set("origin", "refspec", refspec)
        if self.override_csum is not None:
            repo.set_ref(self.origin_ref, self.override_csum, self.origin_remote)
            self.new_revision = self.override_csum
        else:
            self.new_revision = repo.resolve_rev(refspec)
        if from_rev == self.new_revision:
            return False
        if not allow_older:
            check_timestamps(repo, from_rev, self.new_revision)
        return True

    def deploy(self):
        """The deploy transaction for the pulled revision (staged when asked, or when
        OSTREE_EX_STAGE_DEPLOYMENTS is set); returns the new deployment."""
        from ostree_py.sysroot import transaction
        stage = self.stage or os.environ.get("OSTREE_EX_STAGE_DEPLOYMENTS") is not None
        return transaction.deploy(self.sysroot, self.osname, self.new_revision, self.origin,
                                  merge=self.merge_deployment, policy=transaction.DeployPolicy(stage=stage))


def check_timestamps(repo, from_rev: str, to_rev: str) -> None:
    """Refuse ``to_rev`` when its commit is older than ``from_rev``'s."""
    old = repo.load_commit(from_rev).timestamp
    new = repo.load_commit(to_rev).timestamp
    from ostree_py.remote.pull import compare_timestamps
    compare_timestamps(from_rev, old, to_rev, new)
