"""Building commits: a mutable tree filled from directories, archives or other commits.

This follows libostree's commit machinery closely, because the checksums (and
the ``--table-output`` statistics) depend on its details:

- ``CommitModifier`` is OstreeRepoCommitModifier: flags (canonical
  permissions, skip xattrs, consume, devino-canonical, generate sizes), a
  filter called with each path and a mutable ``FileStat`` (``CommitFilter`` is
  the one the command line uses: --owner-uid/gid, --mode-ro-executables,
  --statoverride, --skip-list), an xattr callback and a devino cache. The
  filter runs first, then canonicalization (uid/gid 0, mode & 0755).
- ``MutableTree`` is OstreeMutableTree: files and subdirectories, lazily
  expanded from a dirtree, keeping the contents checksum of untouched trees so
  that they are not serialised again.
- ``CommitBuilder`` imports directories (``write_dir_to_mtree``), committed
  trees (``write_commit_to_mtree``) and tar/cpio archives
  (``write_archive_to_mtree``), then writes the tree (``write_mtree``).

Walking a directory stats each entry once; regular files are hashed and
stored on a thread pool (hashlib, zlib and file I/O release the GIL), small
files in batches so that the per-task overhead stays low.
"""

import errno
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor

from ostree_py.core.content import FileInfo
from ostree_py.errors import OstreeError
from ostree_py.core.objects import Commit, DirMeta, DirTree
from ostree_py.repo import Repo, list_xattrs
from ostree_py.repo import fd_xattrs as _fd_xattrs

EMPTY_TREE_CSUM = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
DEFAULT_DIRMODE = stat.S_IFDIR | 0o755
_PATH_MAX = 4096

# files at most this big are read whole and stored in batches
_SMALL = 256 * 1024
_BATCH = 48

OBJTYPE_FILE, OBJTYPE_DIRTREE, OBJTYPE_DIRMETA = 1, 2, 3


def validate_filename(name: str) -> None:
    """Names a mutable tree accepts (ot_util_filename_validate)."""
    if name == ".":
        raise OstreeError("Invalid self-referential filename '.'")
    if name == "..":
        raise OstreeError("Invalid path uplink filename '..'")
    if "/" in name:
        raise OstreeError(f"Invalid / in filename {name}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise OstreeError(f"Invalid UTF-8 in filename {name}") from None


def split_path(path: str) -> list[str]:
    """Split and validate a path: '.' and empty parts dropped, '..' refused."""
    if len(path.encode("utf-8", "surrogateescape")) > _PATH_MAX:
        raise OstreeError(f"Path '{path}' is too long")
    parts = path.split("/")
    for p in parts:
        if p == "..":
            raise OstreeError(f"Invalid uplink '..' in path {path}")
    return [p for p in parts if p not in ("", ".")]


# ---------------------------------------------------------------- modifier

class FileStat:
    """The metadata a filter may change: mode (with type bits), uid, gid; size, dev and ino for reference."""

    __slots__ = ("mode", "uid", "gid", "size", "dev", "ino")

    def __init__(self, mode, uid=0, gid=0, size=0, dev=0, ino=0):
        self.mode, self.uid, self.gid, self.size, self.dev, self.ino = mode, uid, gid, size, dev, ino

    @classmethod
    def from_stat(cls, st) -> "FileStat":
        return cls(st.st_mode, st.st_uid, st.st_gid, st.st_size if stat.S_ISREG(st.st_mode) else 0,
                   st.st_dev, st.st_ino)

    def copy(self) -> "FileStat":
        return FileStat(self.mode, self.uid, self.gid, self.size, self.dev, self.ino)

    def same_meta(self, other: "FileStat") -> bool:
        """_ostree_gfileinfo_equal: uid, gid, mode (so type) and size."""
        return (self.uid == other.uid and self.gid == other.gid and self.mode == other.mode
                and self.size == other.size)

    def __repr__(self):
        return f"FileStat(mode={self.mode:o}, uid={self.uid}, gid={self.gid}, size={self.size})"


class CommitFilter:
    """The filter of ``ostree commit``: ownership, read-only executables, statoverride, skip list.

    ``mode_adds``/``mode_overrides`` map "/path" to mode bits to OR in / to
    set (the ``=`` lines of a statoverride file); ``skip_list`` is a set of
    "/path". Entries of ``mode_adds`` and ``skip_list`` are consumed when they
    match, so ``unmatched_*`` lists what never matched (in GLib's hash table
    order, as the reference prints them).
    """

    def __init__(self, owner_uid=None, owner_gid=None, ro_executables=False,
                 mode_adds=None, mode_overrides=None, skip_list=None):
        from ostree_py.core.ghash import GHashTable
        self.owner_uid = owner_uid
        self.owner_gid = owner_gid
        self.ro_executables = ro_executables
        self.mode_adds = mode_adds if isinstance(mode_adds, GHashTable) else GHashTable((mode_adds or {}).items())
        self.mode_overrides = dict(mode_overrides or {})
        if skip_list is None or isinstance(skip_list, GHashTable):
            self.skip_list = skip_list if skip_list is not None else GHashTable()
        else:
            self.skip_list = GHashTable((p, True) for p in skip_list)
        self._lock = threading.Lock()

    def __call__(self, path: str, st: FileStat) -> bool:
        """Apply to ``st`` in place; False means skip the entry."""
        if self.owner_uid is not None and self.owner_uid >= 0:
            st.uid = self.owner_uid & 0xFFFFFFFF
        if self.owner_gid is not None and self.owner_gid >= 0:
            st.gid = self.owner_gid & 0xFFFFFFFF
        mode = st.mode
        if self.ro_executables and stat.S_ISREG(mode) and mode & 0o111:
            mode &= ~0o222
            st.mode = mode
        with self._lock:
            add = self.mode_adds.get(path) if len(self.mode_adds) else None
            if add is not None:
                st.mode = (mode | add) & 0xFFFFFFFF
                del self.mode_adds[path]
            elif path in self.mode_overrides:
                st.mode = stat.S_IFMT(st.mode) | self.mode_overrides[path]
            if len(self.skip_list) and path in self.skip_list:
                del self.skip_list[path]
                return False
        return True

    def unmatched_statoverrides(self) -> list[str]:
        return list(self.mode_adds.keys())

    def unmatched_skips(self) -> list[str]:
        return list(self.skip_list.keys())


def _strtod_int(text: str) -> int:
    """g_ascii_strtod of a line's start, cast to a 32-bit mode as the reference does."""
    import re
    m = re.match(r"[ \t\n\v\f\r]*([-+]?)(0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*(?:[pP][-+]?\d+)?"
                 r"|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf(?:inity)?|nan)", text, re.IGNORECASE)
    if not m:
        return 0
    try:
        body = m.group(2)
        v = float.fromhex(body) if body[:2].lower() == "0x" else float(body)
    except (ValueError, OverflowError):
        return 0
    if v != v or v in (float("inf"), float("-inf")):
        return 0
    v = int(v)
    if m.group(1) == "-":
        v = -v
    return v & 0xFFFFFFFF


def parse_statoverride(text: str):
    """(mode_adds, mode_overrides) from a statoverride file: "[+|=]MODE /path" per line."""
    from ostree_py.core.ghash import GHashTable
    adds = GHashTable()
    overrides = {}
    for line in text.split("\n"):
        if not line:
            continue
        sp = line.find(" ")
        if sp < 0:
            raise OstreeError("Malformed statoverride file (no space found)")
        fn = line[sp + 1:]
        if line.startswith("="):
            overrides[fn] = _strtod_int(line[1:])
        else:
            adds[fn] = _strtod_int(line)
    return adds, overrides


def parse_skip_list(text: str):
    """The set of paths of a skip-list file (one per line; empty lines ignored)."""
    from ostree_py.core.ghash import GHashTable
    t = GHashTable()
    for line in text.split("\n"):
        if line:
            t[line] = True
    return t


class CommitModifier:
    """How files are transformed as they enter a commit (OstreeRepoCommitModifier).

    ``filter(path, FileStat) -> bool`` may change the stat in place and return
    False to skip the path; ``xattr_callback(path, FileStat) -> list|None``
    replaces the xattrs; ``devino_cache`` maps (dev, ino) to a content checksum.
    For convenience ``owner_uid``, ``owner_gid``, ``statoverride`` (path -> bits
    to add) and ``skip_list`` build a CommitFilter; ``no_xattrs`` is ``skip_xattrs``.
    """

    def __init__(self, canonical_permissions=False, skip_xattrs=False, consume=False,
                 devino_canonical=False, generate_sizes=False, filter=None, xattr_callback=None,
                 devino_cache=None, sepolicy=None, owner_uid=None, owner_gid=None, no_xattrs=False,
                 statoverride=None, skip_list=None, ro_executables=False):
        self.canonical_permissions = canonical_permissions
        self.skip_xattrs = skip_xattrs or no_xattrs
        self.consume = consume
        self.devino_canonical = devino_canonical
        self.generate_sizes = generate_sizes
        if filter is None and (owner_uid is not None or owner_gid is not None or statoverride or skip_list
                               or ro_executables):
            filter = CommitFilter(owner_uid, owner_gid, ro_executables, statoverride, None, skip_list)
        self.filter = filter
        self.xattr_callback = xattr_callback
        self.devino_cache = devino_cache
        self.sepolicy = sepolicy

    @property
    def no_xattrs(self) -> bool:
        return self.skip_xattrs


def modifier_apply(repo: Repo, mod: CommitModifier | None, path: str, st: FileStat):
    """(allow, modified FileStat): the filter, then canonical permissions (_ostree_repo_commit_modifier_apply)."""
    canon = repo.mode == "bare-user-only" or (mod is not None and mod.canonical_permissions)
    has_filter = mod is not None and mod.filter is not None
    if not (canon or has_filter):
        return True, st
    m = st.copy()
    allow = True
    if has_filter:
        allow = mod.filter(path, m) is not False
    if canon:
        fmt = stat.S_IFMT(st.mode)
        if fmt == stat.S_IFREG:
            m.mode = m.mode & (stat.S_IFREG | 0o755)
        elif fmt == stat.S_IFDIR:
            m.mode = m.mode & (stat.S_IFDIR | 0o755)
        m.uid = m.gid = 0
    return allow, m


# ---------------------------------------------------------------- mutable tree

class _DirFd:
    """A directory fd shared by the walker and the pool jobs reading its files; closed by the last user."""

    __slots__ = ("fd", "_refs", "_lock")

    def __init__(self, fd: int):
        self.fd = fd
        self._refs = 1
        self._lock = threading.Lock()

    def ref(self) -> "_DirFd":
        with self._lock:
            self._refs += 1
        return self

    def unref(self) -> None:
        with self._lock:
            self._refs -= 1
            last = self._refs == 0
        if last:
            os.close(self.fd)


class _DirFrame:
    """A directory being walked: its tree, fd, path, remaining entries and where it sits."""

    __slots__ = ("mtree", "dfd", "parts", "dpath", "entries", "can_adopt", "parent_fd", "name")

    def __init__(self, mtree, dfd, parts, dpath, entries, can_adopt, parent_fd, name):
        self.mtree, self.dfd, self.parts, self.dpath = mtree, dfd, parts, dpath
        self.entries, self.can_adopt, self.parent_fd, self.name = entries, can_adopt, parent_fd, name


# Files walked between two compactions of the finished directories (CommitBuilder._compact).
_COMPACT_EVERY = 16384


class _Slot:
    """A content checksum still being computed on the pool."""

    __slots__ = ("csum",)

    def __init__(self):
        self.csum = None


def _csum_of(v):
    if isinstance(v, _Slot):
        if v.csum is None:
            raise OstreeError("Internal error: content checksum not computed yet")
        return v.csum
    return v


class MutableTree:
    """A directory under construction (OstreeMutableTree).

    ``files``: name -> content checksum; ``dirs``: name -> MutableTree;
    ``meta``: dirmeta checksum. A tree filled from a dirtree stays lazy (only
    its checksums known) until something looks inside, and keeps its contents
    checksum until it is modified.
    """

    __slots__ = ("files", "dirs", "meta", "contents", "_lazy_repo", "parent", "__weakref__")

    def __init__(self, meta: str | None = None):
        self.files: dict = {}
        self.dirs: dict[str, "MutableTree"] = {}
        self.meta = meta
        self.contents: str | None = None   # dirtree checksum while unmodified
        self._lazy_repo = None
        self.parent: "MutableTree | None" = None

    @classmethod
    def from_commit_tree(cls, repo: Repo, tree_csum: str, meta_csum: str) -> "MutableTree":
        """A lazily-expanded tree with the contents of an existing dirtree."""
        t = cls(meta_csum)
        t.contents = tree_csum
        t._lazy_repo = repo
        return t

    @classmethod
    def from_commit(cls, repo: Repo, rev: str) -> "MutableTree":
        """The root tree of commit ``rev`` (ostree_mutable_tree_new_from_commit)."""
        csum = repo.resolve_rev(rev)
        c = repo.load_commit(csum)
        return cls.from_commit_tree(repo, c.root_tree, c.root_meta)

    @property
    def is_lazy(self) -> bool:
        return self._lazy_repo is not None

    def _expand(self) -> None:
        repo = self._lazy_repo
        if repo is None:
            return
        dt = repo.load_dirtree(self.contents)
        for name, c in dt.files:
            self.files[name] = c
        for name, tc, mc in dt.dirs:
            self._insert_dir(name, MutableTree.from_commit_tree(repo, tc, mc))
        self._lazy_repo = None

    def _insert_dir(self, name, child):
        child.parent = self
        self.dirs[name] = child

    def _invalidate(self) -> None:
        t = self
        while t is not None and t.contents is not None:
            t.contents = None
            t = t.parent

    def set_metadata(self, meta: str) -> None:
        """Set the dirmeta checksum."""
        if meta == self.meta:
            return
        if self.parent is not None:
            self.parent._invalidate()
        self.meta = meta

    def replace_file(self, name: str, csum) -> None:
        """Add or replace a file; a directory of that name is an error."""
        validate_filename(name)
        self._expand()
        if name in self.dirs:
            raise OstreeError(f"Can't replace directory with file: {name}")
        self._invalidate()
        self.files[name] = csum

    def remove(self, name: str, allow_noent: bool = False) -> None:
        """Remove a file or directory."""
        validate_filename(name)
        self._expand()
        if name in self.files:
            del self.files[name]
        elif name in self.dirs:
            self.dirs.pop(name).parent = None
        elif allow_noent:
            return
        else:
            raise OstreeError(f"No such file or directory: {name}")
        self._invalidate()

    def ensure_dir(self, name: str) -> "MutableTree":
        """The subdirectory ``name``, created (without metadata) if missing."""
        validate_filename(name)
        self._expand()
        if name in self.files:
            raise OstreeError(f"Can't replace file with directory: {name}")
        d = self.dirs.get(name)
        if d is None:
            d = MutableTree()
            self._invalidate()
            self._insert_dir(name, d)
        return d

    def lookup(self, name: str):
        """(file checksum or None, subtree or None); raise if neither exists."""
        self._expand()
        d = self.dirs.get(name)
        if d is not None:
            return None, d
        f = self.files.get(name)
        if f is None:
            raise OstreeError(f"No such file or directory: {name}")
        return _csum_of(f) if isinstance(f, _Slot) and f.csum else f, None

    def walk_parent(self, parts: list[str], start: int = 0) -> "MutableTree":
        """The directory holding the last of ``parts`` (ostree_mutable_tree_walk)."""
        t = self
        for i in range(start, len(parts) - 1):
            t._expand()
            sub = t.dirs.get(parts[i])
            if sub is None:
                raise OstreeError(f"No such file or directory: {parts[i]}")
            t = sub
        return t

    def walk(self, path: str) -> "MutableTree":
        """The subdirectory at ``path`` ("/a/b")."""
        parts = split_path(path)
        return self.walk_parent(parts + ["x"]) if parts else self

    def ensure_parent_dirs(self, parts: list[str], meta: str) -> "MutableTree":
        """Create the parents of the last of ``parts``, with dirmeta ``meta``; return the parent."""
        self._expand()
        if self.meta is None:
            self.set_metadata(meta)
        t = self
        for name in parts[:-1]:
            if name in t.files:
                raise OstreeError(f"Can't replace file with directory: {name}")
            nxt = t.dirs.get(name)
            if nxt is None:
                t._invalidate()
                nxt = MutableTree(meta)
                t._insert_dir(name, nxt)
            t = nxt
            t._expand()
        return t

    def fill_empty_from_dirtree(self, repo: Repo, tree_csum: str, meta_csum: str) -> bool:
        """Become a lazy copy of a dirtree if that needs no merging; False if it would."""
        if self.is_lazy:
            if tree_csum == self.contents or self.contents == EMPTY_TREE_CSUM:
                pass
            elif tree_csum == EMPTY_TREE_CSUM:
                tree_csum = self.contents
            else:
                return False
        elif self.files or self.dirs:
            return False
        self._lazy_repo = repo
        self.set_metadata(meta_csum)
        if self.contents != tree_csum:
            self._invalidate()
            self.contents = tree_csum
        return True

    def iter_files(self):
        """(name, checksum) of the files, expanding a lazy tree."""
        self._expand()
        for name, c in self.files.items():
            yield name, _csum_of(c)


# ---------------------------------------------------------------- devino cache

def scan_hardlinks(repo: Repo) -> dict:
    """(dev, ino) -> checksum of every loose content object (ostree_repo_scan_hardlinks).

    Only ``.file`` objects count, so archive repos contribute their
    uncompressed-objects-cache; parent repos are scanned first.
    """
    cache: dict = {}

    def scan(objdir):
        try:
            prefixes = os.listdir(objdir)
        except FileNotFoundError:
            return
        for pre in prefixes:
            if len(pre) != 2:
                continue
            try:
                it = os.scandir(os.path.join(objdir, pre))
            except (NotADirectoryError, FileNotFoundError):
                continue
            with it:
                for e in it:
                    n = e.name
                    if not n.endswith(".file") or n.find(".") != 62:
                        continue
                    st = e.stat(follow_symlinks=False)
                    cache[(st.st_dev, st.st_ino)] = pre + n[:62]

    def scan_repo(r):
        if r.parent is not None:
            scan_repo(r.parent)
        if r.mode == "archive":
            scan(os.path.join(r.path, "uncompressed-objects-cache", "objects"))
        scan(r.objects_dir)
    scan_repo(repo)
    return cache


# ---------------------------------------------------------------- builder

def _final_xattrs(repo: Repo, mod: CommitModifier | None, relpath: str, st: FileStat, read):
    """(xattrs, modified) as get_final_xattrs: on-disk unless skipped, the callback's, else none."""
    skip = (mod is not None and (mod.skip_xattrs or mod.canonical_permissions)) or repo.mode == "bare-user-only"
    original = None
    if not skip and not repo.disable_xattrs:
        original = read()
    ret = None
    if mod is not None and mod.xattr_callback is not None:
        ret = mod.xattr_callback(relpath, st)
    if ret is None and original is not None:
        ret = original
    modified = not (original is not None and ret is not None and list(original) == list(ret))
    return (list(ret) if ret is not None else []), modified


class CommitBuilder:
    """Fills a MutableTree from sources; content is stored on a thread pool.

    ``stats`` (the repo's transaction counters) and ``sizes`` (checksum ->
    (objtype, unpacked, archived) for ``ostree.sizes``, archive repos with
    ``generate_sizes``) are what the reference reports and records.
    """

    def __init__(self, repo: Repo, modifier: CommitModifier | None = None, threads: int | None = None,
                 progress=None):
        self.repo = repo
        self.mod = modifier
        n = threads or min(4, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(max_workers=n) if n > 1 else None
        self._max_pending = 4 * n
        self._futures = []
        self._first_error = None
        self._batch = []
        self._batch_bytes = 0
        self.progress = progress   # callable(n_files) or None
        self.n_files = 0
        self._sizes_lock = threading.Lock()
        self.sizes: dict | None = None
        self._repo_dev = None
        self._closed = False
        # (dev, ino) -> checksum: --link-checkout-speedup's scan, or the modifier's cache
        self.devino_cache = modifier.devino_cache if modifier is not None else None
        # directories whose walk is over, not yet written (see _compact)
        self._done_dirs: list = []
        self._since_compact = 0

    # -- lifecycle
    def close(self) -> None:
        """Wait for pending writes (raising the first error) and stop the pool."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *a):
        if exc_type is not None:
            # don't mask the error; just stop the workers
            self._closed = True
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            return False
        self.close()
        return False

    def flush(self) -> None:
        """Wait for every pending content write; raise the first failure."""
        self._submit_batch()
        futures, self._futures = self._futures, []
        err, self._first_error = self._first_error, None
        for f in futures:
            e = f.exception()
            if e is not None and err is None:
                err = e
        if err is not None:
            raise err

    def _throttle(self) -> None:
        """Keep at most a few batches queued: an archive's data waits in memory until written."""
        while len(self._futures) > self._max_pending:
            e = self._futures.pop(0).exception()
            if e is not None:
                if self._first_error is None:
                    self._first_error = e
                self.flush()

    @property
    def stats(self):
        return self.repo.txn_stats

    # -- sizes
    def _setup_sizes(self) -> None:
        """Called at the start of each import, as the reference does: start a fresh table."""
        if self.mod is not None and self.mod.generate_sizes and self.repo.mode == "archive":
            self.flush()
            self.sizes = {}

    def _record_size(self, objtype: int, csum: str, unpacked: int, archived: int) -> None:
        if self.sizes is None:
            return
        with self._sizes_lock:
            if csum not in self.sizes:
                self.sizes[csum] = (objtype, unpacked, archived)

    # -- objects
    def write_dirmeta(self, st: FileStat, xattrs) -> str:
        """Store a dirmeta object; return its checksum."""
        data = DirMeta(st.uid, st.gid, st.mode, xattrs).to_bytes()
        c = self.repo.write_metadata("dirmeta", data)
        self._record_size(OBJTYPE_DIRMETA, c, len(data), len(data))
        return c

    def _store(self, info: FileInfo, data=None, stream=None) -> str:
        out = {"stored_size": 0} if self.sizes is not None else None
        c = self.repo.write_content(info, stream, data=data, out=out)
        if out is not None:
            unpacked = info.size if info.is_regular else len(info.symlink_target.encode("utf-8", "surrogateescape"))
            self._record_size(OBJTYPE_FILE, c, unpacked, out["stored_size"])
        return c

    def _submit_batch(self) -> None:
        batch, self._batch = self._batch, []
        self._batch_bytes = 0
        if not batch:
            return
        if self._pool is None:
            self._run_batch(batch)
        else:
            self._futures.append(self._pool.submit(self._run_batch, batch))
            self._throttle()

    def _run_batch(self, batch) -> None:
        for fn in batch:
            fn()

    def _queue(self, fn, weight: int) -> None:
        self._batch.append(fn)
        self._batch_bytes += weight
        if len(self._batch) >= _BATCH or self._batch_bytes >= 4 * _SMALL:
            self._submit_batch()

    def _queue_big(self, fn) -> None:
        if self._pool is None:
            fn()
        else:
            self._futures.append(self._pool.submit(fn))
            self._throttle()

    def add_content_file(self, mtree: MutableTree, name: str, info: FileInfo, path: str,
                         dir_fd=None, consume: bool = False, read_xattrs: bool = False) -> None:
        """Store the regular file at ``path`` (relative to ``dir_fd``, an fd or a _DirFd) as ``name``
        in ``mtree``, on the pool; with ``read_xattrs`` its xattrs are read from the open file."""
        slot = _Slot()
        mtree.replace_file(name, slot)
        holder = dir_fd.ref() if isinstance(dir_fd, _DirFd) else None
        dfd = holder.fd if holder is not None else dir_fd

        def job():
            try:
                read_and_store(dfd)
            finally:
                if holder is not None:
                    holder.unref()

        def read_and_store(dir_fd):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW, dir_fd=dir_fd)
            except OSError as e:
                raise OstreeError(f"openat({path}): {os.strerror(e.errno)}") from None
            try:
                if read_xattrs:
                    info.xattrs = _fd_xattrs(fd)
                if info.size <= _SMALL:
                    # one read for the usual case; more only if the file grew
                    data = os.read(fd, info.size + 1)
                    if len(data) > info.size:
                        rest = [data]
                        while True:
                            b = os.read(fd, 1 << 20)
                            if not b:
                                break
                            rest.append(b)
                        data = b"".join(rest)
                    if len(data) != info.size:
                        info.size = len(data)
                    slot.csum = self._store(info, data=data)
                else:
                    with os.fdopen(fd, "rb", closefd=False) as f:
                        slot.csum = self._store(info, stream=f)
            finally:
                os.close(fd)
            if consume:
                os.unlink(path, dir_fd=dir_fd)
        if info.size <= _SMALL:
            self._queue(job, info.size + 4096)
        else:
            self._queue_big(job)

    def add_content_bytes(self, mtree: MutableTree, name: str, info: FileInfo, data: bytes) -> None:
        """Store an in-memory file (archive import) as ``name`` in ``mtree``, on the pool."""
        slot = _Slot()
        mtree.replace_file(name, slot)

        def job():
            slot.csum = self._store(info, data=data)
        self._queue(job, len(data) + 4096)

    # backwards-compatible name
    def add_file_bytes(self, mtree: MutableTree, name: str, info: FileInfo, data: bytes) -> None:
        self.add_content_bytes(mtree, name, info, data)

    # -- directories
    def write_dir_to_mtree(self, mtree: MutableTree, path: str, dir_fd: int | None = None) -> None:
        """Import the directory ``path`` into ``mtree`` (ostree_repo_write_dfd_to_mtree)."""
        self._setup_sizes()
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError as e:
            raise OstreeError(f"opendir({path}): {os.strerror(e.errno)}") from None
        if self._repo_dev is None:
            self._repo_dev = os.stat(self.repo.path).st_dev
        self._walk_dir(mtree, _DirFd(fd), [], path if dir_fd is None else None)
        if self.mod is not None and self.mod.consume and path != ".":
            self.flush()
            try:
                os.rmdir(path, dir_fd=dir_fd)
            except OSError as e:
                raise OstreeError(f"unlinkat({path}): {os.strerror(e.errno)}") from None

    def add_directory(self, mtree: MutableTree, path: str, relbase: str = "/", is_root: bool = True,
                      dir_fd: int | None = None) -> None:
        """Import the directory ``path`` into ``mtree`` (the older name of write_dir_to_mtree)."""
        self.write_dir_to_mtree(mtree, path, dir_fd)

    def _walk_dir(self, mtree: MutableTree, dfd: "_DirFd", parts: list, dpath: str | None) -> None:
        """Walk a directory tree depth-first with an explicit stack (trees can be deeper than
        Python's recursion limit), in the reference's order: a directory's metadata, then
        its entries as readdir returns them, subdirectories as they come."""
        mod = self.mod
        consume = mod is not None and mod.consume
        devino = self.devino_cache
        frames = []
        try:
            frame = self._enter_dir(mtree, dfd, list(parts), dpath, None, None)
            dfd = None
            if frame is not None:
                frames.append(frame)
            while frames:
                f = frames[-1]
                e = next(f.entries, None)
                if e is None:
                    frames.pop()
                    f.dfd.unref()
                    self._done_dirs.append(f.mtree)
                    if consume and f.parent_fd is not None:
                        self.flush()
                        os.rmdir(f.name, dir_fd=f.parent_fd)
                    continue
                fd = f.dfd.fd
                name = e.name
                try:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except OSError as ex:
                    raise OstreeError(f"fstatat({name}): {os.strerror(ex.errno)}") from None
                fmt = stat.S_IFMT(st.st_mode)
                if fmt == stat.S_IFDIR:
                    child = self._dir_entry(f.mtree, fd, name, st, f.parts, consume, f.dpath)
                    if child is not None:
                        frames.append(child)
                elif fmt == stat.S_IFREG or fmt == stat.S_IFLNK:
                    self._content_entry(f.mtree, f.dfd, name, st, f.parts, consume, devino, f.can_adopt,
                                        f.dpath)
                    self._since_compact += 1
                    if self._since_compact >= _COMPACT_EVERY and self._done_dirs:
                        self._compact()
                else:
                    raise OstreeError(f"Not a regular file or symlink: {name}")
        finally:
            self._done_dirs = []
            self._since_compact = 0
            if dfd is not None:
                dfd.unref()
            for f in frames:
                f.dfd.unref()

    def _compact(self) -> None:
        """Write the dirtrees of the directories whose walk is over and keep only their
        checksums (lazy trees, expanded again if anything changes them later): the
        in-memory tree of a large commit then holds the directories being walked and
        the files still being written, not every file's name and checksum (100,000
        files: 47 MB of RSS, 2.2x a 6,000-file commit, before this). A directory waits
        for the next round while one of its files is still on the pool (no stall for
        the writes in flight); directories finish children first, so each one's
        subdirectories are written before it is."""
        later = []
        for t in self._done_dirs:
            if t.contents is not None or t.is_lazy or t.meta is None:
                continue
            if any(d.contents is None or d.meta is None for d in t.dirs.values()) or \
                    any(isinstance(c, _Slot) and c.csum is None for c in t.files.values()):
                later.append(t)   # a file still being written, or a subdirectory not written
                continue
            self._write_one(t)
            t.files = {}
            t.dirs = {}
            t._lazy_repo = self.repo
        self._done_dirs = later
        self._since_compact = 0

    def _enter_dir(self, mtree, dfd, parts, dpath, parent_fd, name):
        """Write a directory's dirmeta and list it; None (fd released) if the modifier skips it."""
        repo, mod = self.repo, self.mod
        fd = dfd.fd
        try:
            st0 = FileStat.from_stat(os.fstat(fd))
            if mod is not None:
                relpath = "/" + "/".join(parts)
                allow, mst = modifier_apply(repo, mod, relpath, st0)
            else:
                relpath = None
                allow, mst = True, st0
            if not allow:
                dfd.unref()
                return None
            xattrs, _ = _final_xattrs(repo, mod, relpath, mst, lambda: _fd_xattrs(fd))
            mtree.set_metadata(self.write_dirmeta(mst, xattrs))
            with os.scandir(fd) as it:
                entries = list(it)
        except BaseException:
            dfd.unref()
            raise
        return _DirFrame(mtree, dfd, parts, dpath, iter(entries), st0.dev == self._repo_dev, parent_fd, name)

    def _dir_entry(self, mtree, fd, name, st, parts, consume, dpath):
        """A subdirectory: the filter (on its path), then its frame, or None if skipped."""
        relpath = "/" + "/".join(parts + [name])
        allow, _ = modifier_apply(self.repo, self.mod, relpath, FileStat.from_stat(st))
        if not allow:
            if consume:
                _rm_rf_at(fd, name)
            return None
        child = mtree.ensure_dir(name)
        try:
            cfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except OSError as e:
            raise OstreeError(f"opendir({name}): {os.strerror(e.errno)}") from None
        frame = self._enter_dir(child, _DirFd(cfd), parts + [name],
                                os.path.join(dpath, name) if dpath is not None else None, fd, name)
        if frame is None and consume:
            self.flush()
            os.rmdir(name, dir_fd=fd)
        return frame

    def _content_entry(self, mtree, dfd, name, st, parts, consume, devino, can_adopt, dpath) -> None:
        repo, mod = self.repo, self.mod
        fd = dfd.fd
        loose = devino.get((st.st_dev, st.st_ino)) if devino else None
        if loose is not None and mod is not None and mod.devino_canonical:
            mtree.replace_file(name, loose)
            if consume:
                os.unlink(name, dir_fd=fd)
            self.stats.add(devino_cache_hits=1)
            return
        relpath = "/" + "/".join(parts + [name])
        fst = FileStat.from_stat(st)
        source_xattrs = None
        if loose is not None and repo.mode == "bare-user":
            info0, stream = repo.load_file(loose)
            if stream is not None:
                stream.close()
            fst = FileStat(info0.mode, info0.uid, info0.gid, info0.size if info0.is_regular else 0,
                           st.st_dev, st.st_ino)
            source_xattrs = info0.xattrs
        allow, mst = modifier_apply(repo, mod, relpath, fst)
        if not allow:
            if consume:
                _rm_rf_at(fd, name)
            return
        is_link = stat.S_ISLNK(st.st_mode)
        self.n_files += 1
        adopt = not is_link and consume and can_adopt and repo.mode in ("bare", "bare-user-only")
        if not is_link and loose is None and not adopt and (mod is None or mod.xattr_callback is None):
            # the common case: nothing depends on the xattrs here, so read them
            # from the open file on the pool (when they are read at all)
            skip = (mod is not None and (mod.skip_xattrs or mod.canonical_permissions)) or \
                repo.mode == "bare-user-only" or repo.disable_xattrs
            info = FileInfo(mst.mode, mst.uid, mst.gid, st.st_size, "", ())
            self.add_content_file(mtree, name, info, name, dir_fd=dfd, consume=consume, read_xattrs=not skip)
            if self.progress is not None:
                self.progress(self.n_files)
            return
        if source_xattrs is not None:
            read = lambda: source_xattrs  # noqa: E731
        elif dpath is not None:
            read = lambda: list_xattrs(os.path.join(dpath, name), follow=False)  # noqa: E731
        else:
            read = lambda: _name_xattrs(fd, name)  # noqa: E731
        xattrs, xmod = _final_xattrs(repo, mod, relpath, mst, read)
        modified = xmod or not fst.same_meta(mst)
        if loose is not None and not modified:
            mtree.replace_file(name, loose)
            self.stats.add(devino_cache_hits=1)
            if consume:
                os.unlink(name, dir_fd=fd)
            return
        if not is_link and consume and can_adopt and (
                (repo.mode == "bare" and not modified) or repo.mode == "bare-user-only"):
            self._adopt(mtree, fd, name, mst, xattrs, st)
            return
        if is_link:
            try:
                target = os.readlink(name, dir_fd=fd)
            except OSError as e:
                raise OstreeError(f"readlinkat({name}): {os.strerror(e.errno)}") from None
            info = FileInfo(mst.mode, mst.uid, mst.gid, 0, target, xattrs)
            mtree.replace_file(name, self._store(info))
            if consume:
                os.unlink(name, dir_fd=fd)
        else:
            info = FileInfo(mst.mode, mst.uid, mst.gid, st.st_size, "", xattrs)
            self.add_content_file(mtree, name, info, name, dir_fd=dfd, consume=consume)
        if self.progress is not None:
            self.progress(self.n_files)

    def _adopt(self, mtree, fd, name, mst, xattrs, st) -> None:
        """--consume into a bare or bare-user-only repo on the same filesystem: rename the file in."""
        from ostree_py.core.content import checksum_begin
        repo = self.repo
        info = FileInfo(mst.mode, mst.uid, mst.gid, st.st_size, "", xattrs)
        if repo.mode == "bare-user-only":
            from ostree_py.repo import canonicalize_bareuseronly
            info = canonicalize_bareuseronly(info)
        h = checksum_begin(info)
        sfd = os.open(name, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW, dir_fd=fd)
        try:
            while True:
                b = os.read(sfd, 1 << 20)
                if not b:
                    break
                h.update(b)
            csum = h.hexdigest()
            stored = repo.stored_path("file", csum)
            dest = repo.object_write_path("file", csum)
            dst = os.lstat(stored) if stored is not None else None
            if dst is not None and dst.st_dev == st.st_dev and dst.st_ino == st.st_ino:
                os.unlink(name, dir_fd=fd)
            else:
                if repo.mode == "bare-user-only":
                    os.fchmod(sfd, mst.mode & 0o755)
                try:
                    os.rename(name, dest, src_dir_fd=fd)
                except OSError as e:
                    if e.errno != errno.EEXIST:
                        raise OstreeError(f"Storing file '{name}': {os.strerror(e.errno)}") from None
                    os.unlink(name, dir_fd=fd)
        finally:
            os.close(sfd)
        mtree.replace_file(name, csum)

    # -- committed trees
    def write_commit_to_mtree(self, mtree: MutableTree, rev: str) -> None:
        """Overlay the tree of commit ``rev`` (``--tree=ref=``; ostree_repo_write_directory_to_mtree)."""
        repo = self.repo
        csum = repo.resolve_rev(rev)
        c = repo.load_commit(csum)
        self._setup_sizes()
        self.write_tree_to_mtree(mtree, c.root_tree, c.root_meta)

    def write_tree_to_mtree(self, mtree: MutableTree, tree_csum: str, meta_csum: str, parts=None) -> None:
        """Overlay a committed dirtree; without a modifier untouched subtrees stay lazy.

        Depth-first with an explicit stack: a directory's metadata, its files,
        then its subdirectories in order (as the reference enumerates them)."""
        repo, mod = self.repo, self.mod
        stack = []
        dirs = self._enter_tree(mtree, tree_csum, meta_csum, list(parts or []))
        if dirs is not None:
            stack.append(dirs)
        while stack:
            t, dparts, it = stack[-1]
            item = next(it, None)
            if item is None:
                stack.pop()
                continue
            name, tc, mc = item
            cparts = dparts + [name]
            if mod is not None or repo.mode == "bare-user-only":
                dm = repo.load_dirmeta(mc)
                allow, _ = modifier_apply(repo, mod, "/" + "/".join(cparts), FileStat(dm.mode, dm.uid, dm.gid))
                if not allow:
                    continue
            child = t.ensure_dir(name)
            sub = self._enter_tree(child, tc, mc, cparts)
            if sub is not None:
                stack.append(sub)

    def _enter_tree(self, mtree, tree_csum, meta_csum, parts):
        """Metadata and files of one committed directory; (tree, parts, subdirs) left to walk, or None."""
        repo, mod = self.repo, self.mod
        if mod is None:
            if mtree.fill_empty_from_dirtree(repo, tree_csum, meta_csum):
                return None
            mtree.set_metadata(meta_csum)
        else:
            dm = repo.load_dirmeta(meta_csum)
            st = FileStat(dm.mode, dm.uid, dm.gid)
            allow, mst = modifier_apply(repo, mod, "/" + "/".join(parts), st)
            if not allow:
                return None
            xattrs, _ = _final_xattrs(repo, mod, "/" + "/".join(parts), mst, lambda: dm.xattrs)
            mtree.set_metadata(self.write_dirmeta(mst, xattrs))
        dt = repo.load_dirtree(tree_csum)
        for name, fcsum in dt.files:
            self._commit_file_entry(mtree, name, fcsum, parts)
        return mtree, parts, iter(dt.dirs)

    def _commit_file_entry(self, mtree, name, fcsum, parts) -> None:
        repo, mod = self.repo, self.mod
        relpath = "/" + "/".join(parts + [name])
        info, stream = repo.load_file(fcsum)
        try:
            fst = FileStat(info.mode, info.uid, info.gid, info.size if info.is_regular else 0)
            allow, mst = modifier_apply(repo, mod, relpath, fst)
            if not allow:
                return
            xattrs, _ = _final_xattrs(repo, mod, relpath, mst, lambda: info.xattrs)
            new = FileInfo(mst.mode, mst.uid, mst.gid, info.size, info.symlink_target, xattrs)
            if (new.mode, new.uid, new.gid, new.xattrs) == (info.mode, info.uid, info.gid, list(info.xattrs)):
                # same header, same bytes: the same object; only account for it
                self.stats.add(content_total=1)
                if self.sizes is not None:
                    unpacked = info.size if info.is_regular else len(info.symlink_target.encode())
                    self._record_size(OBJTYPE_FILE, fcsum, unpacked,
                                      os.lstat(repo.stored_path("file", fcsum)).st_size
                                      if repo.has_object("file", fcsum, check_parent=False) else 0)
                mtree.replace_file(name, fcsum)
                return
            if info.is_regular:
                if info.size <= _SMALL:
                    self.add_content_bytes(mtree, name, new, stream.read())
                else:
                    mtree.replace_file(name, self._store(new, stream=stream))
            else:
                mtree.replace_file(name, self._store(new))
        finally:
            if stream is not None:
                stream.close()

    # -- archives
    def write_archive_to_mtree(self, mtree: MutableTree, entries, autocreate_parents: bool = False,
                               translate_pathname=None) -> None:
        """Import tar/cpio entries (see archive_input) into ``mtree`` (ostree_repo_import_archive_to_mtree).

        ``translate_pathname(path) -> str`` rewrites each relative path
        (``--tar-pathname-filter``).
        """
        self._setup_sizes()
        _ArchiveImport(self, mtree, autocreate_parents, translate_pathname).run(entries)

    # -- writing the tree
    def write_mtree(self, mtree: MutableTree) -> tuple[str, str]:
        """Write the dirtrees of ``mtree`` bottom-up; return (root dirtree, root dirmeta) checksums."""
        self.flush()
        if mtree.meta is None:
            raise OstreeError("Can't commit an empty tree")
        return self._write_tree(mtree), mtree.meta

    def _write_tree(self, root: MutableTree) -> str:
        """Write the dirtrees below ``root`` bottom-up (iteratively: trees can be deep)."""
        if root.contents is not None:
            return root.contents
        stack = [(root, iter(list(root.dirs.values())))]
        while stack:
            t, subs = stack[-1]
            sub = next(subs, None)
            if sub is not None:
                if sub.contents is None:
                    stack.append((sub, iter(list(sub.dirs.values()))))
                continue
            stack.pop()
            self._write_one(t)
        return root.contents

    def _write_one(self, t: MutableTree) -> None:
        """Write the dirtree of ``t``, whose subdirectories are written; set its checksum."""
        files = [(name, _csum_of(c)) for name, c in t.files.items()]
        dirs = []
        for name, d in t.dirs.items():
            if d.meta is None:
                raise OstreeError("Can't commit an empty tree")
            dirs.append((name, d.contents, d.meta))
        data = DirTree(files, dirs).to_bytes()
        c = self.repo.write_metadata("dirtree", data)
        self._record_size(OBJTYPE_DIRTREE, c, len(data), len(data))
        t.contents = c

    def sizes_metadata(self):
        """The ``ostree.sizes`` value (``aay``): per object csum, varint archived, varint unpacked, type."""
        if not self.sizes:
            return None
        out = []
        for csum in sorted(self.sizes):
            objtype, unpacked, archived = self.sizes[csum]
            out.append(bytes.fromhex(csum) + _varuint64(archived) + _varuint64(unpacked) + bytes([objtype]))
        return out


def _varuint64(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _name_xattrs(dir_fd: int, name: str):
    # the xattr calls take no dir_fd: go through /proc/self/fd
    return list_xattrs(f"/proc/self/fd/{dir_fd}/{name}", follow=False)


def _rm_rf_at(dir_fd: int, name: str) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        cfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            for n in os.listdir(cfd):
                _rm_rf_at(cfd, n)
        finally:
            os.close(cfd)
        os.rmdir(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


# ---------------------------------------------------------------- archive import

def path_relative(src: str) -> str:
    """An archive path made relative: leading '/', '/../', './' and empty parts dropped; '.' is ''."""
    i = 0
    n = len(src)
    while i < n and src[i] == "/":
        i += 1
        if src.startswith("../", i):
            i += 2
    while True:
        if src.startswith("./", i):
            i += 2
        elif src.startswith("/", i):
            i += 1
        else:
            break
    rest = src[i:]
    if rest == ".":
        rest = ""
    try:
        split_path(rest)
    except OstreeError as e:
        raise OstreeError(f"While making relative path \"{rest}\":{e.message}") from None
    return rest


class _ArchiveImport:
    """One archive's import: entries in order, hardlinks deferred to the end (as libostree)."""

    def __init__(self, builder: CommitBuilder, root: MutableTree, autocreate: bool, translate):
        self.b = builder
        self.repo = builder.repo
        self.mod = builder.mod
        self.root = root
        self.autocreate = autocreate
        self.translate = translate
        self.deferred: dict = {}   # target path -> [(parent, path, size)]

    def _final_path(self, path: str) -> str:
        p = path_relative(path)
        if self.translate is not None:
            r = self.translate(p)
            if r is not None:
                return r
        return p

    def run(self, entries) -> None:
        for e in entries:
            self._entry(e)
        self._deferred_hardlinks()
        if self.autocreate and self.root.meta is None:
            st = FileStat(DEFAULT_DIRMODE, 0, 0)
            _, mst = modifier_apply(self.repo, self.mod, "/", st)
            self.root.set_metadata(self.b.write_dirmeta(mst, []))

    def _entry(self, e) -> None:
        path = self._final_path(e.path)
        if len(path) > 1:
            path = path.rstrip("/") or "/"
        mode = e.mode
        if e.hardlink is not None:
            mode |= stat.S_IFREG
        size = e.size if stat.S_ISREG(mode) else 0
        st = FileStat(mode, e.uid, e.gid, size)
        abspath = "/" + path.lstrip("/")
        allow, fi = modifier_apply(self.repo, self.mod, abspath, st)
        if not allow:
            return
        parent = self._parent_dir(path, e)
        fmt = stat.S_IFMT(fi.mode)
        if fmt == stat.S_IFDIR:
            try:
                xattrs = self._xattrs(e, fi)
                name = os.path.basename(path) if path else ""
                self._ensure_dir_with_meta(parent, name, fi, xattrs)
            except OstreeError as ex:
                raise OstreeError(f"ostree-tar: Failed to handle directory: {ex.message}") from None
        elif fmt in (stat.S_IFREG, stat.S_IFLNK):
            try:
                hardlink = self._final_path(e.hardlink) if e.hardlink is not None else None
                if hardlink is None or size > 0:
                    try:
                        self._import_file(parent, path, e, fi, fmt, size)
                    except OstreeError as ex:
                        raise OstreeError(f"ostree-tar: Failed to import file: {ex.message}") from None
            except OstreeError as ex:
                raise OstreeError(f"ostree-tar: Failed to handle file: {ex.message}") from None
            if hardlink is not None:
                self.deferred.setdefault(hardlink, []).append((parent, path, size))
        else:
            raise OstreeError(f"Unsupported file type for path \"{path}\"")

    def _import_file(self, parent, path, e, fi, fmt, size) -> None:
        xattrs = self._xattrs(e, fi)
        name = os.path.basename(path)
        target = (e.symlink or "") if fmt == stat.S_IFLNK else ""
        info = FileInfo(fi.mode, fi.uid, fi.gid, size, target, xattrs)
        if fmt == stat.S_IFLNK:
            validate_filename(name)
            parent.replace_file(name, self.b._store(info))
        elif size <= _SMALL:
            try:
                data = _read_exact(e, size)
            except OstreeError as ex:
                raise OstreeError(f"Writing content object: {ex.message}") from None
            self.b.add_content_bytes(parent, name, info, data)
        else:
            self.b.flush()
            try:
                c = self.b._store(info, stream=_Limited(e, size))
            except OstreeError as ex:
                raise OstreeError(f"Writing content object: {ex.message}") from None
            parent.replace_file(name, c)

    def _xattrs(self, e, fi):
        skip = self.mod is not None and self.mod.skip_xattrs
        xattrs = None if skip or not e.xattrs else list(e.xattrs)
        if self.mod is not None and self.mod.xattr_callback is not None:
            xattrs = self.mod.xattr_callback("/" + e.path.lstrip("/"), fi)
        return list(xattrs) if xattrs else []

    def _ensure_dir_with_meta(self, parent: MutableTree, name: str, fi: FileStat, xattrs) -> MutableTree:
        if name == "":
            d = parent
        else:
            parent._expand()
            d = parent.dirs.get(name)
            if d is None:
                d = parent.ensure_dir(name)
        d.set_metadata(self.b.write_dirmeta(fi, xattrs))
        return d

    def _parent_dir(self, path: str, e) -> MutableTree:
        parts = split_path(path)
        if not parts:
            return self.root
        try:
            return self.root.walk_parent(parts)
        except OstreeError:
            if not self.autocreate:
                raise
        try:
            fi = FileStat(DEFAULT_DIRMODE, e.uid, e.gid)
            d = self._ensure_dir_with_meta(self.root, "", fi, [])
            for name in parts[:-1]:
                d = self._ensure_dir_with_meta(d, name, fi, [])
            return d
        except OstreeError as ex:
            raise OstreeError(f"ostree-tar: Failed to create parent: {ex.message}") from None

    def _deferred_hardlinks(self) -> None:
        for target, links in self.deferred.items():
            try:
                self._deferred_for(target, links)
            except OstreeError as ex:
                raise OstreeError(f"ostree-tar: Processing deferred hardlink {target}: {ex.message}") from None

    def _deferred_for(self, target: str, links) -> None:
        self.b.flush()
        payload = next((dh for dh in links if dh[2] > 0), None)
        tname = os.path.basename(target)
        if payload is not None:
            try:
                parent_p, path_p, _ = payload
                csum, _ = parent_p.lookup(os.path.basename(path_p))
                tparent = self.root.walk_parent(split_path(target))
                tparent.replace_file(tname, csum)
            except OstreeError as ex:
                raise OstreeError(f"Failed importing hardlink: {ex.message}") from None
        try:
            tparent = self.root.walk_parent(split_path(target))
            csum, sub = tparent.lookup(tname)
            if sub is not None:
                raise OstreeError(f"Expected hardlink file target at \"{target}\" but found a directory")
        except OstreeError as ex:
            raise OstreeError(f"Failed to find object: {ex.message}") from None
        for dh in links:
            if dh is payload:
                continue
            parent, path, _ = dh
            try:
                parent.replace_file(os.path.basename(path), csum)
            except OstreeError as ex:
                raise OstreeError(f"Failed to replace file: {ex.message}") from None


def _read_exact(e, size: int) -> bytes:
    chunks = []
    got = 0
    while got < size:
        b = e.read(size - got)
        if not b:
            break
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


class _Limited:
    def __init__(self, e, size):
        self._e = e
        self._left = size

    def read(self, n=-1):
        if self._left <= 0:
            return b""
        n = self._left if n is None or n < 0 else min(n, self._left)
        b = self._e.read(n)
        self._left -= len(b)
        return b


# ---------------------------------------------------------------- commit metadata

def bootable_metadata(repo: Repo, root_tree: str, root_meta: str) -> list:
    """[("ostree.bootable", True), ("ostree.linux", KVER)] for a tree with usr/lib/modules/KVER/vmlinuz."""
    from ostree_py.core.gvariant import Variant
    tree = repo.load_dirtree(root_tree)
    cur = tree
    walked = ""
    for part in ("usr", "lib", "modules"):
        walked += "/" + part
        sub = next((d for d in cur.dirs if d[0] == part), None)
        if sub is None:
            if any(f[0] == part for f in cur.files):
                raise OstreeError(f"Opening usr/lib/modules: Not a directory: {walked}")
            raise OstreeError(f"No such file or directory: {walked}")
        cur = repo.load_dirtree(sub[1])
    release = None
    for name, tc, _mc in cur.dirs:
        kdir = repo.load_dirtree(tc)
        if any(n == "vmlinuz" for n, _ in kdir.files) or any(d[0] == "vmlinuz" for d in kdir.dirs):
            if release is not None:
                raise OstreeError("Multiple kernels found in /usr/lib/modules")
            release = name
    if release is None:
        raise OstreeError("No kernel found in /usr/lib/modules")
    return [("ostree.bootable", Variant("b", True)), ("ostree.linux", Variant("s", release))]


def write_commit(repo: Repo, root_tree: str, root_meta: str, parent: str | None = None, subject: str = "",
                 body: str = "", metadata=None, timestamp: int | None = None, related=(),
                 sizes=None) -> str:
    """Write a commit object; return its checksum.

    ``metadata`` is a dict or a list of (key, Variant) pairs (kept in order,
    duplicates included, as GVariantBuilder does); ``sizes`` (from
    CommitBuilder.sizes_metadata) is appended as ``ostree.sizes``. Without
    ``timestamp``, $SOURCE_DATE_EPOCH or the current time is used.
    """
    from ostree_py.core.gvariant import Variant
    if timestamp is None:
        from ostree_py.core.timestamp import commit_time
        timestamp = commit_time(None, os.environ)
    if metadata is None:
        items = []
    elif isinstance(metadata, dict):
        items = list(metadata.items())
    else:
        items = list(metadata)
    if sizes:
        items.append(("ostree.sizes", Variant("aay", sizes)))
    # ostree_validate_structureof_commit, which the reference applies on write
    if any(not k for k, _ in items):
        raise OstreeError("Empty metadata key")
    c = Commit(_MetadataItems(items), parent, related, subject or "", body or "", timestamp % (1 << 64),
               root_tree, root_meta)
    return repo.write_metadata("commit", c.to_bytes())


class _MetadataItems(list):
    """An a{sv} given as ordered (key, value) pairs; serialises like a dict but keeps duplicates."""

    def items(self):
        return list(self)
