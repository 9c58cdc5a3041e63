"""Staged deployments: deploy now, finish at shutdown (``admin deploy --stage``).

On a booted system, staging checks the new tree out and writes its origin, but
leaves the boot configuration alone: the rest (the /etc merge, so that changes
made to /etc after staging are kept, sealing, and the boot entries) is done by
``admin finalize-staged``, which ostree-finalize-staged.service runs at
shutdown. Until then the staged deployment lives only in
``/run/ostree/staged-deployment``, a GVariant ``a{sv}``:

- ``target``: the new deployment, ``a{sv}`` of ``name`` (``CSUM.SERIAL``),
  ``osname`` and ``bootcsum``;
- ``merge-deployment``: the same for the merge deployment, when there is one;
- ``kargs`` (``as``): the kernel arguments, when given (else the merge
  deployment's are used at finalization);
- ``overlay-initrds`` (``as``): checksums of initrds staged in
  ``/run/ostree/staged-initrds/``.

- ``locked`` (``b``, ostree 2023.8): finalization is locked (``--lock-finalization``,
  ``admin lock-finalization``).

Being in /run, the state is gone after a reboot that skipped finalization, and
the checkout is then garbage for cleanup. A locked staged deployment is left
alone by finalization; the older lock, ``/run/ostree/staged-deployment-locked``,
is written beside the key (2022.7 reads only the file) and honoured too.
"""

import hashlib
import os

from ostree_py.errors import OstreeError
from ostree_py.core.gvariant import Variant, serialize
from ostree_py.sysroot import sysroot as _sr
from ostree_py.sysroot.sysroot import (
    Deployment,
    Sysroot,
    SysrootError,
    deployment_from_variant,
    deployment_to_variant,
)
from ostree_py.util.fs import strerror, write_atomic


def _write_runstate(path: str, data: bytes) -> None:
    parent = os.path.dirname(path)
    try:
        os.makedirs(parent, 0o755, exist_ok=True)
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, path)
    except OSError as e:
        raise SysrootError(f"Writing {path}: {strerror(e)}") from None


def lock_finalization() -> None:
    """Create the lock file that keeps finalize-staged from acting (before staging: no race)."""
    path = _sr.RUNSTATE_STAGED_LOCKED
    try:
        os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC, 0o640)
        os.close(fd)
    except OSError as e:
        raise SysrootError(f"touch({path}): {strerror(e)}") from None


def change_finalization(sysroot: Sysroot, d: Deployment) -> bool:
    """ostree_sysroot_change_finalization: toggle the finalization lock of the staged
    deployment ``d`` (the ``locked`` key and the older lock file); return the new state."""
    if not d.staged or d is not sysroot.staged_deployment:
        raise SysrootError("Deployment is not staged")
    locked = not d.finalization_locked
    data = dict(sysroot.staged_deployment_data or {})
    data["locked"] = Variant("b", locked)
    _write_runstate(_sr.RUNSTATE_STAGED, serialize("a{sv}", data))
    if locked:
        lock_finalization()
    else:
        try:
            os.unlink(_sr.RUNSTATE_STAGED_LOCKED)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise SysrootError(f"unlinkat({_sr.RUNSTATE_STAGED_LOCKED}): {strerror(e)}") from None
    sysroot.staged_deployment_data = data
    d.finalization_locked = locked
    return locked


def stage_overlay_initrd(path: str) -> str:
    """Copy an initrd into /run/ostree/staged-initrds under its SHA-256; return the checksum."""
    dirpath = _sr.RUNSTATE_STAGED_INITRDS_DIR
    h = hashlib.sha256()
    try:
        os.makedirs(dirpath, 0o755, exist_ok=True)
        tmp = os.path.join(dirpath, f".tmp-{os.getpid()}")
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            while chunk := src.read(1 << 20):
                h.update(chunk)
                dst.write(chunk)
        csum = h.hexdigest()
        os.rename(tmp, os.path.join(dirpath, csum))
    except OSError as e:
        raise SysrootError(f"{path}: {strerror(e)}") from None
    return csum


def stage_tree(sysroot: Sysroot, osname, revision: str, origin, merge: Deployment | None,
               override_kernel_argv=None, overlay_initrds=None, locked: bool = False) -> Deployment:
    """ostree_sysroot_stage_tree_with_options: the checkout now, the rest at shutdown.

    The cleanup that follows is the deploy transaction's (transaction.deploy)."""
    from ostree_py.sysroot import deploy
    if sysroot.booted_deployment is None:
        raise SysrootError("Cannot stage deployment: Not currently booted into an OSTree system")
    d = deploy.initialize_deployment(sysroot, osname, revision, origin, override_kernel_argv,
                                     overlay_initrds)
    sysroot.write_origin_file(d, d.origin, sync=False, bump=False)
    state = {"target": deployment_to_variant(d)}
    if locked:
        state["locked"] = Variant("b", True)
    if merge is not None:
        state["merge-deployment"] = deployment_to_variant(merge)
    if override_kernel_argv is not None:
        state["kargs"] = Variant("as", list(override_kernel_argv))
    if overlay_initrds:
        state["overlay-initrds"] = Variant("as", list(overlay_initrds))
    _write_runstate(_sr.RUNSTATE_STAGED, serialize("a{sv}", state))
    previous = sysroot.staged_deployment
    if previous is not None and not previous.equal(d):
        deploy._rmrf_deployment(sysroot, previous.osname, previous.csum, previous.deployserial)
    sysroot.bump_mtime()
    sysroot.load()
    return d


def set_staged_kargs(sysroot: Sysroot, kargs_str: str) -> None:
    """Replace the staged deployment's kernel arguments in its state file."""
    from ostree_py.sysroot.kargs import KernelArgs
    data = dict(sysroot.staged_deployment_data or {})
    data["kargs"] = Variant("as", KernelArgs.from_string(kargs_str).to_list())
    _write_runstate(_sr.RUNSTATE_STAGED, serialize("a{sv}", data))


def finalize_staged(sysroot: Sysroot) -> str:
    """Finish the staged deployment (ostree-finalize-staged.service at shutdown).

    Returns what was done, for the journal-like message the command prints.
    On failure the reason is also written to /boot/ostree/finalize-failure.stamp,
    which ``admin boot-complete`` reports on the next boot.
    """
    try:
        return _finalize_staged(sysroot)
    except OstreeError as e:
        try:
            path = sysroot.p(f"boot/{_sr.FINALIZE_STAGED_FAILURE_PATH}")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_atomic(path, e.message.encode("utf-8", "surrogateescape"), 0o644, chmod=True)
        except OSError as we:
            sysroot.warning(f"Failed to write {_sr.FINALIZE_STAGED_FAILURE_PATH}: {strerror(we)}")
        raise


def _finalize_staged(sysroot: Sysroot) -> str:
    from ostree_py.sysroot import deploy, transaction
    staged = sysroot.staged_deployment
    if staged is None:
        return "No deployment staged for finalization"
    if staged.finalization_locked or os.path.lexists(_sr.RUNSTATE_STAGED_LOCKED):
        return "Not finalizing; deployment is locked for finalization"
    merge = None
    merge_v = (sysroot.staged_deployment_data or {}).get("merge-deployment")
    if merge_v is not None:
        stub = deployment_from_variant(merge_v)
        merge = next((d for d in sysroot.deployments if d.equal(stub)), None)
        if merge is None:
            raise SysrootError(f"Failed to find merge deployment {stub.csum}.{stub.deployserial} for staged")
    # Unlinked first: an interruption from here must not leave a half-merged /etc staged.
    try:
        os.unlink(_sr.RUNSTATE_STAGED)
    except OSError as e:
        raise SysrootError(f"unlinkat({_sr.RUNSTATE_STAGED}): {strerror(e)}") from None
    deploy.finalize_deployment(sysroot, staged, merge)
    sysroot.staged_deployment = None
    staged.staged = False
    sysroot.deployments = [d for d in sysroot.deployments if d is not staged]
    transaction.write_new_deployment(sysroot, staged.osname, staged, merge,
                                     transaction.DeployPolicy(cleanup=transaction.NO_PRUNE))
    return "Finalized staged deployment"
