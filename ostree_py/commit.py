"""Building commits: a mutable tree filled from directories, tars or other commits.

The walk stats and reads each file once; content objects are hashed (and, in
archive repos, deflated) on a small thread pool, since hashlib and zlib release
the GIL. A MutableTree remembers the checksums of subtrees taken unchanged from
an existing commit, so a ``--tree=ref=`` layer costs nothing to re-serialise.
"""

import os
import stat
import time
from concurrent.futures import Future, ThreadPoolExecutor

from .content import FileInfo
from .errors import OstreeError
from .objects import Commit, DirMeta, DirTree, validate_filename
from .repo import Repo, fd_xattrs, list_xattrs

WHITEOUT_PREFIX = ".wh."


class CommitModifier:
    """How files are transformed as they enter a commit."""

    def __init__(self, owner_uid=None, owner_gid=None, canonical_permissions=False, no_xattrs=False,
                 statoverride=None, skip_list=None, skip_filter=None, xattr_overrides=None,
                 devino_cache=None, consume=False, selinux_labels=False):
        self.owner_uid = owner_uid
        self.owner_gid = owner_gid
        self.canonical_permissions = canonical_permissions
        self.no_xattrs = no_xattrs
        self.statoverride = statoverride or {}   # "/path" -> mode bits to OR in ("+") or set
        self.skip_list = skip_list or set()      # "/path" entries to leave out
        self.skip_filter = skip_filter            # callable(path, info) -> bool skip
        self.xattr_overrides = xattr_overrides   # callable(path) -> list or None
        self.devino_cache = devino_cache          # (dev, ino) -> checksum
        self.consume = consume

    def apply(self, relpath: str, mode: int, uid: int, gid: int, xattrs):
        """Return (mode, uid, gid, xattrs) after overrides for the entry at ``relpath``."""
        if self.owner_uid is not None:
            uid = self.owner_uid
        if self.owner_gid is not None:
            gid = self.owner_gid
        if self.canonical_permissions:
            uid = gid = 0
            mode = stat.S_IFMT(mode) | (mode & 0o755) if not stat.S_ISLNK(mode) else mode
            xattrs = []
        if self.no_xattrs:
            xattrs = []
        so = self.statoverride.get(relpath)
        if so is not None:
            mode = stat.S_IFMT(mode) | ((mode & 0o7777) | so)
        if self.xattr_overrides is not None:
            ov = self.xattr_overrides(relpath)
            if ov is not None:
                xattrs = ov
        return mode, uid, gid, xattrs


class MutableTree:
    """A directory under construction: file checksums, subdirectories and a dirmeta checksum."""

    __slots__ = ("files", "dirs", "meta", "_contents", "_repo")

    def __init__(self, meta: str | None = None):
        self.files: dict[str, "str | Future"] = {}
        self.dirs: dict[str, "MutableTree"] = {}
        self.meta = meta
        # (tree csum, meta csum) of an unchanged subtree loaded from a commit
        self._contents: str | None = None
        self._repo = None

    @classmethod
    def from_commit_tree(cls, repo: Repo, tree_csum: str, meta_csum: str) -> "MutableTree":
        """A lazily-expanded tree with the contents of an existing dirtree."""
        t = cls(meta_csum)
        t._contents = tree_csum
        t._repo = repo
        return t

    def _expand(self):
        if self._contents is None:
            return
        dt = self._repo.load_dirtree(self._contents)
        for name, c in dt.files:
            self.files[name] = c
        for name, tc, mc in dt.dirs:
            self.dirs[name] = MutableTree.from_commit_tree(self._repo, tc, mc)
        self._contents = None

    def ensure_dir(self, name: str, meta: str | None = None) -> "MutableTree":
        """The subdirectory ``name``, created if missing; a file of that name is an error."""
        self._expand()
        if name in self.files:
            raise OstreeError(f"Can't replace file with directory: {name}")
        d = self.dirs.get(name)
        if d is None:
            d = self.dirs[name] = MutableTree(meta)
        elif meta is not None:
            d._expand()
            d.meta = meta
        return d

    def ensure_parent_dirs(self, parts, meta: str) -> "MutableTree":
        t = self
        for p in parts:
            t = t.ensure_dir(p) if p in t.dirs or t._contents else t.ensure_dir(p, meta)
            if t.meta is None:
                t.meta = meta
        return t

    def replace_file(self, name: str, csum) -> None:
        self._expand()
        if name in self.dirs:
            raise OstreeError(f"Can't replace directory with file: {name}")
        self.files[name] = csum

    def remove(self, name: str, allow_noent: bool = False) -> None:
        self._expand()
        if name in self.files:
            del self.files[name]
        elif name in self.dirs:
            del self.dirs[name]
        elif not allow_noent:
            raise OstreeError(f"No such file or directory: {name}")

    def lookup(self, name: str):
        """(file checksum or None, subtree or None)."""
        self._expand()
        f = self.files.get(name)
        return (f.result() if isinstance(f, Future) else f), self.dirs.get(name)

    def walk(self, path: str) -> "MutableTree":
        t = self
        for part in [p for p in path.split("/") if p]:
            t._expand()
            if part not in t.dirs:
                raise OstreeError(f"No such file or directory: {path}")
            t = t.dirs[part]
        return t

    def write(self, repo: Repo) -> tuple[str, str]:
        """Serialise this tree bottom-up into ``repo``; return (dirtree csum, dirmeta csum)."""
        if self.meta is None:
            raise OstreeError("Directory has no metadata")
        if self._contents is not None:
            return self._contents, self.meta
        files = []
        for name, c in self.files.items():
            files.append((name, c.result() if isinstance(c, Future) else c))
        dirs = []
        for name, sub in self.dirs.items():
            tc, mc = sub.write(repo)
            dirs.append((name, tc, mc))
        tree = DirTree(files, dirs)
        return repo.write_metadata("dirtree", tree.to_bytes()), self.meta


class CommitBuilder:
    """Fills a MutableTree from sources and writes content on a thread pool."""

    def __init__(self, repo: Repo, modifier: CommitModifier | None = None, threads: int | None = None,
                 progress=None):
        self.repo = repo
        self.mod = modifier or CommitModifier()
        n = threads or min(4, (os.cpu_count() or 1) + 1)
        self.pool = ThreadPoolExecutor(max_workers=n)
        self.progress = progress   # callable(n_files, n_bytes) or None
        self.n_files = 0
        self._dirmeta_cache: dict[bytes, str] = {}
        bareuseronly = repo.mode == "bare-user-only"
        if bareuseronly:
            self.mod.canonical_permissions = True
        self._read_xattrs = not (self.mod.no_xattrs or self.mod.canonical_permissions or repo.disable_xattrs)

    def close(self):
        self.pool.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    # -- dirmeta
    def write_dirmeta(self, mode: int, uid: int, gid: int, xattrs) -> str:
        dm = DirMeta(uid, gid, mode, xattrs)
        data = dm.to_bytes()
        c = self._dirmeta_cache.get(data)
        if c is None:
            c = self._dirmeta_cache[data] = self.repo.write_metadata("dirmeta", data)
        return c

    # -- directories
    def add_directory(self, mtree: MutableTree, path: str, relbase: str = "/", is_root: bool = True,
                      dir_fd: int | None = None) -> None:
        """Import the directory ``path`` into ``mtree`` (its root maps to ``relbase``)."""
        st = os.stat(path) if dir_fd is None else os.stat(dir_fd)
        if not stat.S_ISDIR(st.st_mode):
            raise OstreeError(f"Not a directory: {path}")
        xattrs = list_xattrs(path, follow=True) if self._read_xattrs else []
        mode, uid, gid, xattrs = self.mod.apply(relbase if relbase != "" else "/", st.st_mode, st.st_uid,
                                                st.st_gid, xattrs)
        mtree._expand()
        mtree.meta = self.write_dirmeta(mode, uid, gid, xattrs)
        self._fill(mtree, path, relbase.rstrip("/"))

    def _fill(self, mtree: MutableTree, path: str, rel: str) -> None:
        mod = self.mod
        with os.scandir(path) as it:
            entries = list(it)
        for e in entries:
            name = e.name
            relpath = f"{rel}/{name}"
            if relpath in mod.skip_list:
                continue
            st = e.stat(follow_symlinks=False)
            fmt = stat.S_IFMT(st.st_mode)
            if mod.skip_filter is not None and mod.skip_filter(relpath, st):
                continue
            if fmt == stat.S_IFDIR:
                xattrs = list_xattrs(e.path) if self._read_xattrs else []
                mode, uid, gid, xattrs = mod.apply(relpath, st.st_mode, st.st_uid, st.st_gid, xattrs)
                sub = mtree.ensure_dir(name)
                sub.meta = self.write_dirmeta(mode, uid, gid, xattrs)
                self._fill(sub, e.path, relpath)
                if mod.consume:
                    _rmdir_quiet(e.path)
            elif fmt == stat.S_IFREG or fmt == stat.S_IFLNK:
                if mod.devino_cache is not None:
                    c = mod.devino_cache.get((st.st_dev, st.st_ino))
                    if c is not None and not mod.statoverride and mod.owner_uid is None and mod.owner_gid is None \
                            and not mod.canonical_permissions:
                        mtree.replace_file(name, c)
                        self.n_files += 1
                        continue
                xattrs = list_xattrs(e.path) if self._read_xattrs else []
                mode, uid, gid, xattrs = mod.apply(relpath, st.st_mode, st.st_uid, st.st_gid, xattrs)
                if fmt == stat.S_IFLNK:
                    info = FileInfo(mode, uid, gid, 0, os.readlink(e.path), xattrs)
                    mtree.replace_file(name, self.repo.write_content(info))
                    if mod.consume:
                        os.unlink(e.path)
                else:
                    info = FileInfo(mode, uid, gid, st.st_size, "", xattrs)
                    mtree.replace_file(name, self._submit_file(info, e.path))
                self.n_files += 1
            else:
                raise OstreeError(f"Unsupported file type for file: '{e.path}'")

    def _submit_file(self, info: FileInfo, path: str):
        consume = self.mod.consume

        def job():
            with open(path, "rb") as f:
                c = self.repo.write_content(info, f)
            if consume:
                os.unlink(path)
            return c
        if info.size < 16384 and self.repo.mode != "archive":
            return job()
        return self.pool.submit(job)

    def add_file_bytes(self, mtree: MutableTree, name: str, info: FileInfo, data: bytes) -> None:
        """Add one in-memory file (tar import, synthetic content)."""
        mtree.replace_file(name, self.repo.write_content(info, data=data))


def _rmdir_quiet(path):
    try:
        os.rmdir(path)
    except OSError:
        pass


def write_commit(repo: Repo, root_tree: str, root_meta: str, parent: str | None = None, subject: str = "",
                 body: str = "", metadata: dict | None = None, timestamp: int | None = None,
                 related=()) -> str:
    """Write a commit object; return its checksum."""
    if timestamp is None:
        env = os.environ.get("SOURCE_DATE_EPOCH")
        timestamp = int(env) if env and env.isdigit() else int(time.time())
    c = Commit(metadata or {}, parent, related, subject, body, timestamp, root_tree, root_meta)
    return repo.write_metadata("commit", c.to_bytes())
