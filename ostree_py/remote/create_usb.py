"""Copying collection refs onto a removable volume (``ostree create-usb``).

The refs are mirror-pulled from the source repository into an archive-mode
repository on the volume (``.ostree/repo`` unless told otherwise), whose
summary is then regenerated so the mount repo finder can use it. A
repository elsewhere on the volume gets a ``.ostree/repos.d/NN-generated``
symlink so the finder looks there too.
"""

import errno
import os

from ostree_py.errors import OstreeError, UsageError
from ostree_py.util.fs import mkdir_p

STANDARD_DEST_REPOS = ("ostree/repo", ".ostree/repo")


def create_usb(src_repo, mount_path: str, refs, dest_repo: str | None = None, commit: str | None = None,
               disable_fsync: bool = False):
    """Copy ``refs`` ((collection id, ref) pairs) from ``src_repo`` to the volume at ``mount_path``.

    ``dest_repo``: the repository's path inside the volume (default
    ``.ostree/repo``); ``commit``: pull this commit for the (single) ref.
    Returns the destination path as given (relative to the volume).
    """
    from ostree_py.remote.pull import pull
    from ostree_py.core.objects import validate_collection_id, validate_ref
    from ostree_py.repo.repo_init import create_repo
    from ostree_py.repo.summary import regenerate_summary
    try:
        mount_st = os.stat(mount_path)
    except OSError as e:
        raise OstreeError(f"opendir({mount_path}): {os.strerror(e.errno)}") from None
    if not os.path.isdir(mount_path):
        raise OstreeError(f"opendir({mount_path}): {os.strerror(errno.ENOTDIR)}")
    refs = [tuple(r) for r in refs]
    for cid, ref in refs:
        validate_collection_id(cid)
        validate_ref(ref)
    dest_rel = dest_repo if dest_repo is not None else ".ostree/repo"
    root = os.path.abspath(mount_path)
    dest_path = dest_rel if os.path.isabs(dest_rel) else os.path.join(root, dest_rel)
    mkdir_p("/" if os.path.isabs(dest_rel) else root, dest_rel, 0o755)
    dest = create_repo(dest_path, "archive")
    dest_st = os.stat(dest.path)
    if dest_st.st_dev != mount_st.st_dev:
        raise UsageError("--destination-repo must be a descendent of MOUNT-PATH")
    src_st = os.stat(src_repo.path)
    if (src_st.st_dev, src_st.st_ino) == (dest_st.st_dev, dest_st.st_ino):
        raise UsageError("--destination-repo must not be the source repository")
    if disable_fsync:
        dest.fsync = False
    pull(dest, "file://" + os.path.abspath(src_repo.path),
         collection_refs=[(cid, ref, commit or "") for cid, ref in refs],
         mirror=True, depth=0, disable_fsync=disable_fsync)
    regenerate_summary(dest)
    if dest_rel not in STANDARD_DEST_REPOS:
        _link_repo(root, dest_rel, dest_st.st_ino)
    return dest_rel


def _link_repo(root: str, dest_rel: str, dest_ino: int) -> None:
    """Point ``.ostree/repos.d/NN-generated`` at the repository, unless an entry there is it."""
    mkdir_p(root, ".ostree/repos.d", 0o755)
    reposd = os.path.join(root, ".ostree", "repos.d")
    try:
        entries = list(os.scandir(reposd))
    except OSError as e:
        raise OstreeError(f"opendir(.ostree/repos.d): {os.strerror(e.errno)}") from None
    # As the reference: the directory entry's own inode (a symlink's is its own)
    if any(e.inode() == dest_ino for e in entries):
        return
    target = os.path.join("..", "..", dest_rel)
    for i in range(100):
        name = f"{i:02d}-generated"
        try:
            os.symlink(target, os.path.join(reposd, name))
            return
        except FileExistsError:
            continue
        except OSError as e:
            raise OstreeError(f"symlinkat(.ostree/repos.d/{name} \u2192 {target}): "
                              f"{os.strerror(e.errno)}") from None
    raise OstreeError("Could not find an unused symlink name for the repository")
