"""Creating a repository (``ostree init``), as ostree_repo_create does it.

An existing repository (one with an ``objects`` directory) is left as it is,
whatever mode is asked for; otherwise the directory, a ``config`` holding
``[core] repo_version=1``, the mode and the collection id, and the state
directories are created, ``objects`` last, so that a half-created repo is
finished by the next ``init``. Errors carry the reference's "Creating repo: "
prefix.
"""

import os

from ostree_py.errors import OstreeError
from ostree_py.util.fs import strerror

MODES = {"bare": "bare", "bare-user": "bare-user", "bare-user-only": "bare-user-only",
         "archive": "archive-z2", "archive-z2": "archive-z2", "bare-split-xattrs": "bare-split-xattrs"}
_STATE_DIRS = ("tmp", "extensions", "state", "refs", "refs/heads", "refs/mirrors", "refs/remotes", "objects")


def validate_mode(mode: str) -> str:
    """The config spelling of a mode name (archive -> archive-z2); raise for unknown modes."""
    if mode not in MODES:
        raise OstreeError(f"Invalid mode '{mode}' in repository configuration")
    return MODES[mode]


def create_repo(path: str, mode: str = "bare", collection_id: str | None = None):
    """Create (or finish creating) the repository at ``path`` and return it opened."""
    from ostree_py.core.objects import validate_collection_id
    from ostree_py.repo import Repo
    from ostree_py.util.fs import write_atomic
    config_mode = validate_mode(mode)
    if collection_id is not None:
        validate_collection_id(collection_id)
    path = os.path.abspath(path)
    try:
        _create(path, config_mode, collection_id, write_atomic)
    except OstreeError as e:
        raise OstreeError(f"Creating repo: {e.message}") from None
    try:
        os.makedirs(os.path.join(path, "tmp"), 0o775, exist_ok=True)
        repo = Repo.open(path)
        os.makedirs(os.path.join(path, "tmp", "cache"), 0o775, exist_ok=True)
    except OstreeError as e:
        raise OstreeError(f"opening repo: {e.message}") from None
    except OSError as e:
        raise OstreeError(f"opening repo: {strerror(e)}") from None
    return repo


def _create(path, config_mode, collection_id, write_atomic):
    objects = os.path.join(path, "objects")
    try:
        os.stat(objects)
        return  # an existing repository
    except FileNotFoundError:
        pass
    except OSError as e:
        raise OstreeError(f"fstatat({objects}): {strerror(e)}") from None
    try:
        os.mkdir(path, 0o775)
    except FileExistsError:
        pass
    except OSError as e:
        raise OstreeError(f"mkdirat: {strerror(e)}") from None
    if not os.path.isdir(path):
        raise OstreeError(f"opendir({path}): Not a directory")
    cfg = os.path.join(path, "config")
    if not os.path.lexists(cfg):
        text = f"[core]\nrepo_version=1\nmode={config_mode}\n"
        if collection_id is not None:
            text += f"collection-id={collection_id}\n"
        try:
            write_atomic(cfg, text.encode("utf-8"))
        except OSError as e:
            raise OstreeError(f"openat(config): {strerror(e)}") from None
    for d in _STATE_DIRS:
        try:
            os.mkdir(os.path.join(path, d), 0o775)
        except FileExistsError:
            pass
        except OSError as e:
            raise OstreeError(f"mkdirat: {strerror(e)}") from None
    if config_mode == "bare-user":
        _check_user_xattrs(path)


def _check_user_xattrs(path: str) -> None:
    """bare-user needs user xattrs: find out now rather than at the first object write."""
    try:
        fd = os.open(path, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError:
        return  # no O_TMPFILE here: the first write will tell
    try:
        from ostree_py.core.content import FileInfo, bareuser_meta
        os.setxattr(fd, "user.ostreemeta", bareuser_meta(FileInfo(0o100644, 0, 0)))
    except OSError as e:
        raise OstreeError(f"fsetxattr(user.ostreemeta): {strerror(e)}") from None
    finally:
        os.close(fd)
