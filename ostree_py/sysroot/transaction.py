"""One deploy transaction: every new deployment, whoever asks for it, goes through here.

``deploy`` checks the commit out (``deploy_tree``) or stages it (checkout now,
the rest at shutdown), builds the new deployment list from the policy flags,
writes it, and cleans up. ``admin_deploy`` adds what ``ostree admin deploy``
decides from its options before that: the origin, the merge deployment, the
initial cleanup, the kernel arguments and overlay initrds, and which cleanup
ends the transaction.

A failure before the boot configuration's commit point (the rename of
``boot/loader``) leaves the deployment list and boot entries as they were;
the checkout it may leave behind is garbage for the next cleanup, as in
libostree. Either way the Sysroot object is reloaded, so it describes what
is on disk.
"""

from dataclasses import dataclass, field, replace

from ostree_py.errors import OstreeError
from ostree_py.sysroot.kargs import KernelArgs
from ostree_py.sysroot.sysroot import Deployment, Sysroot, SysrootError
from ostree_py.util.fs import strerror

# The final cleanup of an immediate deployment (DeployPolicy.cleanup), or a
# callable taking the sysroot (rpm-ostree's, which regenerates its refs first).
POSTCLEAN = "postclean"  # cleanup and prune as the last step of writing the list (simple_write_deployment)
PRUNE = "prune"          # after writing: cleanup and prune (ostree_sysroot_cleanup)
NO_PRUNE = "no-prune"    # after writing: cleanup without prune (ostree_sysroot_prepare_cleanup)

# DeployPolicy's default merge deployment: the stateroot's (get_merge_deployment).
MERGE_DEFAULT = object()


@dataclass(frozen=True)
class DeployPolicy:
    """How a new deployment joins the others.

    ``stage``: check out now, finish at shutdown (``finalize-staged``);
    ``lock_finalization`` (with ``stage``) keeps finalization from acting.
    Staging writes no deployment list: it cannot keep pending or rollback
    deployments nor be appended, and it ends with a cleanup that never prunes.
    ``not_default``: append the new deployment after the merge/booted one
    instead of prepending it. ``retain`` keeps every old deployment of the
    stateroot; ``retain_pending``/``retain_rollback`` the ones before/after the
    booted (or merge) deployment. ``cleanup``: POSTCLEAN, PRUNE, NO_PRUNE or a
    callable taking the sysroot.
    """

    stage: bool = False
    lock_finalization: bool = False
    not_default: bool = False
    retain: bool = False
    retain_pending: bool = False
    retain_rollback: bool = False
    cleanup: object = POSTCLEAN


def deploy(sysroot: Sysroot, osname: str | None, revision: str, origin, *, merge=MERGE_DEFAULT,
           kargs=None, overlay_initrds=None, policy: DeployPolicy = DeployPolicy()) -> Deployment:
    """Deploy ``revision`` of stateroot ``osname`` (None: the booted one) with ``origin``.

    ``merge``: the deployment whose /etc and kernel arguments the new one
    inherits (None for none); ``kargs``: the new deployment's kernel arguments
    (a list; None keeps the merge deployment's); ``overlay_initrds``: checksums
    of initrds staged with ``stage.stage_overlay_initrd``. Returns the new
    deployment."""
    from ostree_py.sysroot import stage
    if osname is None and sysroot.booted_deployment is None:
        raise SysrootError("Not currently booted into an OSTree system and no stateroot given")
    if merge is MERGE_DEFAULT:
        merge = sysroot.get_merge_deployment(osname)
    if policy.stage:
        if policy.retain_pending or policy.retain_rollback:
            raise SysrootError("--stage cannot currently be combined with --retain arguments")
        if policy.not_default:
            raise SysrootError("--stage cannot currently be combined with --not-as-default")
        if policy.lock_finalization:
            stage.lock_finalization()
        new = stage.stage_tree(sysroot, osname, revision, origin, merge, kargs, overlay_initrds,
                               locked=policy.lock_finalization)
        sysroot.prepare_cleanup()
        return new
    new = sysroot.deploy_tree(osname, revision, origin, merge, kargs, overlay_initrds)
    write_new_deployment(sysroot, osname, new, merge, policy)
    return new


def write_new_deployment(sysroot: Sysroot, osname: str | None, new: Deployment, merge: Deployment | None,
                         policy: DeployPolicy = DeployPolicy()) -> None:
    """Write the deployment list with ``new`` added as ``policy`` says, then its cleanup."""
    new_list = new_deployment_list(sysroot, osname, new, merge, not_default=policy.not_default,
                                   retain=policy.retain, retain_pending=policy.retain_pending,
                                   retain_rollback=policy.retain_rollback)
    try:
        sysroot.write_deployments(new_list, do_postclean=policy.cleanup == POSTCLEAN)
    except OstreeError:
        _reload_after_failure(sysroot)
        raise
    if policy.cleanup == PRUNE:
        sysroot.cleanup()
    elif policy.cleanup == NO_PRUNE:
        sysroot.prepare_cleanup()
    elif callable(policy.cleanup):
        policy.cleanup(sysroot)


def _reload_after_failure(sysroot: Sysroot) -> None:
    """Writing the list assigns indexes and boot serials to the deployments it holds:
    after a failure, the Sysroot is read again from disk (the error raised stays the
    first one)."""
    try:
        sysroot.load()
    except OstreeError:
        pass


def new_deployment_list(sysroot: Sysroot, osname: str | None, new: Deployment, merge: Deployment | None, *,
                        not_default: bool = False, retain: bool = False, retain_pending: bool = False,
                        retain_rollback: bool = False) -> list:
    """The deployments after adding ``new`` (ostree_sysroot_simple_write_deployment's list).

    Kept: the booted and merge deployments, pinned ones, other stateroots',
    and those ``retain``/``retain_pending``/``retain_rollback`` ask for
    (``retain`` wins over the other two). Without a booted or merge
    deployment, either retain flag keeps everything."""
    booted = sysroot.booted_deployment
    if osname is None and booted is not None:
        osname = booted.osname
    new_list = []
    added = False
    if not not_default:
        new_list.append(new)
        added = True
    if booted is None and merge is None and (retain_pending or retain_rollback):
        retain = True
    before_booted = before_merge = True
    for d in sysroot.deployments:
        osname_matches = osname is None or d.osname == osname
        is_booted = d.equal(booted)
        is_merge = d.equal(merge)
        if is_booted:
            before_booted = False
        if is_merge:
            before_merge = False
        passed = (not before_booted) if booted is not None else (not before_merge)
        if (retain or d.is_pinned or not osname_matches or (retain_pending and not passed)
                or is_booted or is_merge or (retain_rollback and passed)):
            new_list.append(d)
        if not added and passed:
            new_list.append(new)
            added = True
    if not added:
        new_list.append(new)
    return new_list


# ---------------------------------------------------------------- ostree admin deploy

@dataclass(frozen=True)
class KargOverrides:
    """``admin deploy``'s kernel argument options.

    ``none``: start from no arguments; ``proc_cmdline``: from the running
    kernel's; otherwise the merge deployment's when anything is changed, and
    the new deployment inherits them unchanged when nothing is. Then
    ``replace`` (NAME=VALUE, replacing every NAME), ``append`` and
    ``delete``."""

    none: bool = False
    proc_cmdline: bool = False
    replace: list = field(default_factory=list)
    append: list = field(default_factory=list)
    delete: str | None = None

    def resolve(self, merge: Deployment | None) -> list | None:
        """The new deployment's kernel arguments, or None to keep the merge deployment's."""
        kargs = None
        if self.none:
            kargs = KernelArgs()
        elif self.proc_cmdline:
            kargs = KernelArgs()
            kargs.append_proc_cmdline()
        elif merge is not None and (self.replace or self.append or self.delete):
            options = merge.bootconfig.get("options") if merge.bootconfig else None
            kargs = KernelArgs(options.split(" ") if options is not None else ())
        if self.replace:
            kargs = kargs if kargs is not None else KernelArgs()
            kargs.replace_argv(self.replace)
        if self.append:
            kargs = kargs if kargs is not None else KernelArgs()
            kargs.append_argv(self.append)
        if self.delete:
            if kargs is None:
                raise SysrootError(f"No key '{self.delete.partition('=')[0]}' found")
            kargs.delete(self.delete)
        return kargs.to_list() if kargs is not None else None


def load_origin_file(path: str):
    """The origin keyfile at ``path`` (``--origin-file``)."""
    from ostree_py.core.keyfile import KeyFile
    try:
        with open(path, encoding="utf-8") as f:
            return KeyFile.parse(f.read())
    except OSError as e:
        raise SysrootError(f"Failed to open file “{path}”: {strerror(e)}") from None


def stage_overlay_initrds(paths) -> list | None:
    """Copy each initrd into the run state for deployment; their checksums (None for no paths)."""
    if not paths:
        return None
    from ostree_py.sysroot.stage import stage_overlay_initrd
    out = []
    for path in paths:
        try:
            open(path, "rb").close()
        except OSError as e:
            raise SysrootError(f"openat({path}): {strerror(e)}") from None
        out.append(stage_overlay_initrd(path))
    return out


def admin_deploy(sysroot: Sysroot, refspec: str, *, osname: str | None = None, origin_file: str | None = None,
                 no_merge: bool = False, kargs: KargOverrides = KargOverrides(), overlay_initrds=(),
                 no_prune: bool = False, policy: DeployPolicy = DeployPolicy()) -> Deployment:
    """``ostree admin deploy``: REFSPEC (resolved in the sysroot's repo) as a new deployment.

    The origin is ``origin_file``'s, else a new one for ``refspec``; the merge
    deployment is the stateroot's unless ``no_merge``; leftovers of earlier
    failures are cleaned first; ``overlay_initrds`` are paths. The final
    cleanup prunes unless ``no_prune`` (a staged deployment is never pruned
    after); ``policy.cleanup`` is not used."""
    from ostree_py.sysroot import origin as _origin
    if sysroot.booted_deployment is None and osname is None:
        raise SysrootError("Looking for booted deployment: Not currently booted into an OSTree system "
                           "and no --os= argument given")
    origin = load_origin_file(origin_file) if origin_file else _origin.new_from_refspec(refspec)
    revision = sysroot.repo.resolve_rev(refspec)
    merge = None if no_merge else sysroot.get_merge_deployment(osname)
    try:
        sysroot.prepare_cleanup()
    except OstreeError as e:
        raise SysrootError(f"Performing initial cleanup: {e.message}") from None
    kargs_list = kargs.resolve(merge)
    initrds = stage_overlay_initrds(overlay_initrds)
    policy = replace(policy, cleanup=NO_PRUNE if no_prune else PRUNE)
    return deploy(sysroot, osname, revision, origin, merge=merge, kargs=kargs_list, overlay_initrds=initrds,
                  policy=policy)
