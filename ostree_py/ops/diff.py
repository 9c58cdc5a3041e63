"""Differences between two trees, each a commit's tree or a directory on disk (``ostree diff``).

The walk is ostree_diff_dirs_with_options: for each entry of A (in A's
order: a commit lists files then directories; a directory lists in readdir
order) the same name in B is compared: missing -> removed; a different type
-> modified; otherwise modified when the checksums differ (content checksum
for files, dirmeta checksum for directories), and directories of the same
type are walked. Then entries only in B are added, with everything below
them. Two commit directories with the same dirtree checksum are skipped
whole. For files on disk the checksum is computed as a commit would see them
(with ``owner_uid``/``owner_gid`` overriding B's ownership, and xattrs unless
ignored or the repo keeps none).

Also here: ``checksum_file`` (``ostree checksum``) and reachability stats.
"""

import os
import stat

from ostree_py.core.content import FileInfo, checksum_begin
from ostree_py.errors import OstreeError
from ostree_py.util.fs import strerror
from ostree_py.core.objects import DirMeta
from ostree_py.repo.repofile import FileNotFoundError_, Info, RepoFile

_CHUNK = 1 << 20
# GLocalFileEnumerator reads this many entries at a time and sorts them by inode
_GIO_CHUNK = 1000


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "special"


def _list_xattrs(path: str):
    from ostree_py.repo import list_xattrs
    try:
        return list_xattrs(path, follow=False)
    except OSError as e:
        raise OstreeError(f"llistxattr({path}): {strerror(e)}") from None


def checksum_file(path: str, ignore_xattrs: bool = False, st: os.stat_result | None = None,
                  uid: int | None = None, gid: int | None = None) -> str:
    """The ostree checksum of a file on disk: content checksum, or dirmeta checksum for a directory."""
    if st is None:
        try:
            st = os.lstat(path)
        except OSError as e:
            raise OstreeError(f"fstatat({path}): {strerror(e)}") from None
    mode = st.st_mode
    uid = st.st_uid if uid is None else uid
    gid = st.st_gid if gid is None else gid
    xattrs = [] if ignore_xattrs else _list_xattrs(path)
    if stat.S_ISDIR(mode):
        return DirMeta(uid, gid, mode, xattrs).checksum()
    if stat.S_ISLNK(mode):
        try:
            target = os.readlink(path)
        except OSError as e:
            raise OstreeError(f"readlinkat({path}): {strerror(e)}") from None
        return checksum_begin(FileInfo(mode, uid, gid, 0, target, xattrs)).hexdigest()
    h = checksum_begin(FileInfo(mode, uid, gid, st.st_size if stat.S_ISREG(mode) else 0, "", xattrs))
    if stat.S_ISREG(mode):
        try:
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(_CHUNK), b""):
                    h.update(chunk)
        except OSError as e:
            raise OstreeError(f"openat({path}): {strerror(e)}") from None
    return h.hexdigest()


class LocalFile:
    """A path on disk, as one side of a diff; ``rel`` is its path below the diff's top."""

    __slots__ = ("path", "rel")

    def __init__(self, path: str, rel: str = ""):
        self.path = path
        self.rel = rel

    def display(self) -> str:
        return self.rel

    def info(self) -> Info:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            raise FileNotFoundError_(f"Error when getting information for file “{self.path}”: "
                                     f"No such file or directory") from None
        except OSError as e:
            raise OstreeError(f"Error when getting information for file “{self.path}”: {strerror(e)}") from None
        return Info(_kind_of(st.st_mode), st.st_mode, st.st_uid, st.st_gid,
                    st.st_size if stat.S_ISREG(st.st_mode) else 0, None, None)

    def child(self, name: str) -> "LocalFile":
        return LocalFile(os.path.join(self.path, name), f"{self.rel}/{name}" if self.rel else name)

    def children(self):
        """Entries in GIO's order: readdir order, in chunks of 1000 each sorted by inode number."""
        try:
            entries = list(os.scandir(self.path))
        except OSError as e:
            raise OstreeError(f"Error opening directory “{self.path}”: {strerror(e)}") from None
        for i in range(0, len(entries), _GIO_CHUNK):
            for e in sorted(entries[i:i + _GIO_CHUNK], key=lambda e: e.inode()):
                ch = self.child(e.name)
                yield ch, ch.info()

    def checksum(self, info: Info, ignore_xattrs: bool) -> str:
        st = os.lstat(self.path)
        return checksum_file(self.path, ignore_xattrs, st, info.uid, info.gid)


class _RepoSide:
    """Adapter giving a RepoFile the LocalFile interface."""

    __slots__ = ("f",)

    def __init__(self, f: RepoFile):
        self.f = f

    def display(self) -> str:
        return self.f.path

    def info(self) -> Info:
        return self.f.info()

    def child(self, name: str) -> "_RepoSide":
        return _RepoSide(self.f.child(name))

    def children(self):
        for ch, info in self.f.children():
            yield _RepoSide(ch), info

    def checksum(self, info: Info, ignore_xattrs: bool) -> str:
        return self.f.checksum


def side(obj):
    """Wrap a RepoFile or a filesystem path for diff_dirs."""
    if isinstance(obj, RepoFile):
        return _RepoSide(obj)
    if isinstance(obj, str):
        return LocalFile(os.path.abspath(obj))
    return obj


class DiffResult:
    """Lists of sides: modified [(a, b)], removed [a], added [b], in the reference's order."""

    def __init__(self):
        self.modified = []
        self.removed = []
        self.added = []

    def lines(self) -> list[str]:
        """ostree_diff_print: "M    path", then D, then A (A relative to B)."""
        out = [f"M    {a.display()}" for a, _ in self.modified]
        out += [f"D    {a.display()}" for a in self.removed]
        out += [f"A    {b.display()}" for b in self.added]
        return out


def _xattrs_off(s) -> bool:
    if isinstance(s, _RepoSide):
        repo = s.f.repo
        return bool(getattr(repo, "disable_xattrs", False)) or repo.mode == "bare-user-only"
    return False


def diff_dirs(a, b, ignore_xattrs: bool = False, owner_uid: int = -1, owner_gid: int = -1) -> DiffResult:
    """Compare two trees (RepoFile or path); see the module docstring."""
    a, b = side(a), side(b)
    ignore = ignore_xattrs or _xattrs_off(a) or _xattrs_off(b)
    res = DiffResult()
    _diff(a, b, res, ignore, owner_uid, owner_gid)
    return res


def _add_recurse(d, added: list) -> None:
    for ch, info in d.children():
        added.append(ch)
        if info.kind == "dir":
            _add_recurse(ch, added)


def _try_info(s):
    try:
        return s.info()
    except FileNotFoundError_:
        return None


def _diff(a, b, res: DiffResult, ignore: bool, owner_uid: int, owner_gid: int) -> None:
    a_info = a.info()
    b_info = b.info()
    if (a_info.kind == "dir" and b_info.kind == "dir" and isinstance(a, _RepoSide) and isinstance(b, _RepoSide)
            and a.f.dirtree is not None and b.f.dirtree is not None
            and a.f.tree_csum == b.f.tree_csum):
        return
    for ca, ca_info in a.children():
        name = ca.f.name if isinstance(ca, _RepoSide) else os.path.basename(ca.path)
        cb = b.child(name)
        cb_info = _try_info(cb)
        if cb_info is None:
            res.removed.append(ca)
            continue
        if owner_uid >= 0:
            cb_info.uid = owner_uid
        if owner_gid >= 0:
            cb_info.gid = owner_gid
        if ca_info.kind != cb_info.kind:
            res.modified.append((ca, cb))
            continue
        if ca.checksum(ca_info, ignore) != cb.checksum(cb_info, ignore):
            res.modified.append((ca, cb))
        if ca_info.kind == "dir":
            _diff(ca, cb, res, ignore, owner_uid, owner_gid)
    for cb, cb_info in b.children():
        name = cb.f.name if isinstance(cb, _RepoSide) else os.path.basename(cb.path)
        ca = a.child(name)
        if _try_info(ca) is None:
            res.added.append(cb)
            if cb_info.kind == "dir":
                _add_recurse(cb, res.added)


# ---------------------------------------------------------------- --stats

def reachable_objects(repo, commit: str) -> set:
    """Objects (checksum, type) reachable from ``commit`` without its parents (traverse_commit,
    depth 0: a partial commit's missing dirtrees are skipped, a missing commit gives nothing)."""
    from ostree_py.repo.traverse import key_parts, traverse_commit
    keys: set = set()
    traverse_commit(repo, commit, 0, keys)
    return {key_parts(k) for k in keys}


def object_storage_size(repo, checksum: str, objtype: str) -> int:
    """The size on disk of a loose object (ostree_repo_query_object_storage_size)."""
    p = repo.object_path(objtype, checksum)
    try:
        return os.lstat(p).st_size
    except FileNotFoundError:
        if getattr(repo, "parent", None) is not None:
            return object_storage_size(repo.parent, checksum, objtype)
        raise OstreeError(f"No such file or directory: {p}") from None
