"""The ostree repository: config, the loose object store in every mode, refs, locking.

The package also holds what the store itself keeps up to date or reads:
remotes' configuration (remotes.py), the summary file and the static-delta
names and indexes (summary.py, regenerated when refs change if
core.auto-update-summary is set), ref listing (reflist.py).

Every write stages a temporary file in ``tmp/`` and renames it into place, so
an object or ref either exists complete or not at all. A transaction holds the
repo lock shared (prune and fsck --delete take it exclusive) and stores the
objects it writes in its staging directory ``tmp/staging-BOOTID-XXXXXX``
(objects there count as stored for the transaction, and only for it); when
it succeeds it syncs the filesystem and renames them into ``objects/``
before any ref names them, and when it fails (an error, a full disk, an
interrupt) everything the transaction wrote there goes. A process killed
mid-transaction leaves its staging directory, which
the next transaction of the same boot takes over (and so does not write
those objects again), as the reference does.
"""

import contextlib
import errno
import fcntl
import io
import os
import stat
import threading
import time
import zlib

from ostree_py.core import gvariant
from ostree_py.core.content import (
    CHUNK,
    ArchiveReader,
    FileInfo,
    archive_header,
    bareuser_meta,
    checksum_begin,
    compress_stream,
    parse_bareuser_meta,
)
from ostree_py.errors import InvalidObjectError, ObjectNotFoundError, OstreeError, RefNotFoundError
from ostree_py.util.faults import checkpoint
from ostree_py.util.fs import write_atomic, write_atomic_to
from ostree_py.core.keyfile import KeyFile
from ostree_py.core.objects import (
    COMMITMETA_TYPE,
    METADATA_TYPES,
    OBJTYPES,
    EXTENSION_TO_TYPE,
    MAX_METADATA_SIZE,
    Commit,
    DirMeta,
    DirTree,
    is_checksum,
    object_relpath,
    sha256_hex,
    validate_ref,
)

MODES = ("bare", "bare-user", "bare-user-only", "archive", "bare-split-xattrs")
MODE_ALIASES = {"archive-z2": "archive"}

_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_LIBC = None


def _libc():
    """The C library through ctypes, loaded on first use: importing ctypes costs every
    command start-up time, and only commits (linkat, syncfs) need it."""
    global _LIBC
    if _LIBC is None:
        import ctypes
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


def list_xattrs(path: str, follow: bool = False) -> list[tuple[bytes, bytes]]:
    """All xattrs of ``path`` as sorted (name, value) byte pairs (no trailing NUL)."""
    try:
        names = os.listxattr(path, follow_symlinks=follow)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return []
        raise
    out = []
    for n in names:
        try:
            out.append((n.encode("utf-8", "surrogateescape"), os.getxattr(path, n, follow_symlinks=follow)))
        except OSError as e:
            if e.errno in (errno.ENODATA, errno.ENOTSUP):
                continue
            raise
    out.sort()
    return out


def fd_xattrs(fd: int) -> list[tuple[bytes, bytes]]:
    """All xattrs of an open file descriptor, sorted."""
    try:
        names = os.listxattr(fd)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return []
        raise
    out = []
    for n in names:
        try:
            out.append((n.encode("utf-8", "surrogateescape"), os.getxattr(fd, n)))
        except OSError as e:
            if e.errno in (errno.ENODATA, errno.ENOTSUP):
                continue
            raise
    out.sort()
    return out


def syncfs(fd: int) -> None:
    """Flush the filesystem holding ``fd`` (cheaper than an fsync per object)."""
    if os.environ.get("OSTREE_SUPPRESS_SYNCFS"):
        return
    if _libc().syncfs(fd) < 0:
        import ctypes
        raise OstreeError(f"syncfs: {os.strerror(ctypes.get_errno())}")


def _boot_id() -> str:
    """The boot id staging directories are named after ($OSTREE_BOOTID, else the kernel's)."""
    bid = os.environ.get("OSTREE_BOOTID")
    if bid:
        return bid
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


class TxnStats:
    """What a transaction did, as ``commit --table-output`` reports it (thread-safe counters)."""

    FIELDS = ("metadata_total", "metadata_written", "content_total", "content_written",
              "content_bytes_written", "devino_cache_hits")
    __slots__ = FIELDS + ("_lock",)

    def __init__(self):
        import threading
        for f in self.FIELDS:
            setattr(self, f, 0)
        self._lock = threading.Lock()

    def add(self, **counts) -> None:
        with self._lock:
            for k, v in counts.items():
                setattr(self, k, getattr(self, k) + v)


class Repo:
    """An ostree repository on disk."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self.objects_dir = os.path.join(self.path, "objects")
        self.tmp_dir = os.path.join(self.path, "tmp")
        self.config: KeyFile = KeyFile()
        self.mode = "bare"
        self.parent: "Repo | None" = None
        self._lock_fd = None
        self._lock_depth = 0
        self._lock_exclusive = False
        self._made_dirs: set[str] = set()
        self.fsync = True
        self.zlib_level = 6
        self.disable_xattrs = False
        self.collection_id: str | None = None
        self.enable_bootprefix = False
        self._txn_depth = 0
        # commits whose partial marker goes once the transaction's objects are in objects/
        self._txn_completed_commits: set[str] = set()
        # fsync each object as it is written instead of one syncfs per transaction
        self.per_object_fsync = False
        self._txn_stats: TxnStats | None = None
        self._staging: str | None = None
        self._staging_lock_fd: int | None = None
        # core.min-free-space-percent / -size, and the blocks a transaction may still fill
        self.min_free_space_percent = 3
        self.min_free_space_mb = 0
        self._txn_max_blocks: int | None = None
        self._cleanup_stagedir = False
        self._txn_blocksize = 0
        self._space_lock = threading.Lock()

    # ---------------------------------------------------------------- open/create
    @classmethod
    def create(cls, path: str, mode: str = "bare", collection_id: str | None = None) -> "Repo":
        """Initialise a repository at ``path`` as ``ostree init`` does (see repo_init; an
        existing repo of any mode is left as it is) and open it. Unlike ``ostree init``,
        missing parent directories are created."""
        from ostree_py.repo.repo_init import create_repo
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return create_repo(path, mode, collection_id)

    @classmethod
    def open(cls, path: str) -> "Repo":
        """Open an existing repository; raise if ``path`` is not one."""
        self = cls(path)
        cfg_path = os.path.join(self.path, "config")
        try:
            st = os.stat(self.path)
        except OSError as e:
            raise OstreeError(f"opendir({self.path}): {os.strerror(e.errno)}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise OstreeError(f"opendir({self.path}): Not a directory")
        if not os.path.isdir(self.objects_dir):
            raise OstreeError(f"opendir(objects): No such file or directory")
        if os.access(self.objects_dir, os.W_OK):
            # like the reference, recreate tmp/ (and its cache) for people who removed it to free space
            try:
                os.mkdir(self.tmp_dir, 0o775)
            except FileExistsError:
                pass
            except OSError as e:
                raise OstreeError(f"mkdir(tmp): {os.strerror(e.errno)}") from None
            if not os.environ.get("OSTREE_SKIP_CACHE"):
                os.makedirs(os.path.join(self.tmp_dir, "cache"), 0o775, exist_ok=True)
        try:
            self.config = KeyFile.load(cfg_path)
        except FileNotFoundError:
            raise OstreeError(f"openat(config): No such file or directory") from None
        self.reload_config()
        return self

    def reload_config(self) -> None:
        """Apply settings from the config keyfile."""
        c = self.config
        ver = c.get("core", "repo_version")
        if ver is None:
            raise OstreeError("Key file does not have key “repo_version” in group “core”")
        if ver != "1":
            raise OstreeError(f"Invalid repository version '{ver}'")
        mode = c.get("core", "mode", "bare")
        mode = MODE_ALIASES.get(mode, mode)
        if mode not in MODES:
            raise OstreeError(f"Invalid mode '{mode}' in repository configuration")
        self.mode = mode
        self.fsync = c.get_boolean("core", "fsync", True) if c.has_key("core", "fsync") else True
        if os.environ.get("OSTREE_REPO_TEST_ERROR") == "pre-commit":
            pass
        try:
            self.zlib_level = int(c.get("archive", "zlib-level", "6"))
        except ValueError:
            self.zlib_level = 6
        self.disable_xattrs = c.get_boolean("core", "disable-xattrs", False) if c.has_key("core", "disable-xattrs") else False
        self.collection_id = c.get("core", "collection-id")
        # ostree 2023.x: boot entries name /boot/ostree/...; read (and refused if
        # not a boolean) whenever the repo is opened, as ostree does
        self.enable_bootprefix = c.get_boolean("sysroot", "bootprefix", False)
        self._load_min_free_space(c)
        parent = c.get("core", "parent")
        self.parent = Repo.open(parent) if parent else None

    def _load_min_free_space(self, c) -> None:
        import re
        raw = c.get("core", "min-free-space-percent")
        # the 3% default applies only when neither key is set
        pct = 3 if c.get("core", "min-free-space-size") is None else 0
        if raw is not None:
            # g_ascii_strtoull: leading digits, "abc" is 0, a negative number wraps (invalid)
            m = re.match(r"\s*([+-]?)(\d*)", raw)
            pct = int(m.group(2) or 0)
            if pct > 99 or (m.group(1) == "-" and pct):
                raise OstreeError(f"Invalid min-free-space-percent '{raw}'")
        self.min_free_space_percent = pct
        raw = c.get("core", "min-free-space-size")
        mb = 0
        if raw is not None:
            m = re.fullmatch(r"(\d+)(MB|GB|TB)", raw)
            if not m:
                raise OstreeError(f"Invalid min-free-space-size '{raw}': "
                                  "It should be of the format '123MB', '123GB' or '123TB'")
            mb = int(m.group(1)) * {"MB": 1, "GB": 1024, "TB": 1024 * 1024}[m.group(2)]
        self.min_free_space_mb = mb

    def _txn_space_init(self) -> None:
        """How many blocks the transaction's content objects may fill: the free blocks
        (f_bfree for root, else f_bavail) less the min-free-space reservation."""
        self._txn_max_blocks = None
        if not (self.min_free_space_percent or self.min_free_space_mb):
            return
        try:
            st = os.statvfs(self.path)
        except OSError as e:
            raise OstreeError(f"fstatvfs: {os.strerror(e.errno)}") from None
        bsize = st.f_bsize or 4096
        if self.min_free_space_mb:
            reserved = self.min_free_space_mb * 1024 * 1024 // bsize
        else:
            total = st.f_frsize * st.f_blocks // bsize
            reserved = int(total * (self.min_free_space_percent / 100.0))
        bfree = st.f_bfree if os.getuid() == 0 else st.f_bavail
        # below the reservation metadata may still be written; content objects may not
        self._txn_max_blocks = max(bfree - reserved, 0)
        self._txn_blocksize = bsize

    def _reserve_content_space(self, nbytes: int, exact: bool = False) -> None:
        """Charge a content object of ``nbytes`` to the transaction's free-space budget
        before it is written; refuse it (with the reference's message) if it does not fit.
        The message names the blocks charged, or with ``exact`` the bytes and no "Writing
        content object" (the reference's writer of bare content, which static deltas use
        for regular files)."""
        if self._txn_max_blocks is None or not self._txn_depth:
            return
        blocks = nbytes // self._txn_blocksize + 1
        with self._space_lock:
            if blocks > self._txn_max_blocks:
                self._cleanup_stagedir = True
                from ostree_py.util.text import format_size
                what = (f"min-free-space-size {self.min_free_space_mb}MB" if self.min_free_space_mb else
                        f"min-free-space-percent '{self.min_free_space_percent}%'")
                requested = nbytes if exact else blocks * self._txn_blocksize
                raise OstreeError(("" if exact else "Writing content object: ") + f"{what} would be exceeded"
                                  + (f", at least {format_size(requested)} requested" if requested else ""))
            self._txn_max_blocks -= blocks

    def save_config(self) -> None:
        """Write the config keyfile atomically."""
        write_atomic(os.path.join(self.path, "config"), self.config.to_text().encode("utf-8"))

    # ---------------------------------------------------------------- locking
    @contextlib.contextmanager
    def lock(self, exclusive: bool = False):
        """Hold the repo lock (``.lock``, flock) shared or exclusive; re-entrant."""
        if self._lock_fd is None:
            self._lock_fd = os.open(os.path.join(self.path, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        prev = self._lock_exclusive if self._lock_depth else None
        want_ex = exclusive or bool(prev)
        if prev is None or (want_ex and not prev):
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX if want_ex else fcntl.LOCK_SH)
        self._lock_depth += 1
        self._lock_exclusive = want_ex
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                self._lock_exclusive = False
            elif prev is not None and prev != want_ex:
                fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
                self._lock_exclusive = prev

    @contextlib.contextmanager
    def transaction(self):
        """Write objects; on success sync the filesystem so refs written after are durable.

        New objects and temporary files live in a staging directory
        ``tmp/staging-BOOTID-XXXXXX`` (locked while in use). On success its
        objects move into ``objects/`` (after a syncfs) and it is removed; on
        any failure all it holds is removed, so a failed transaction leaves
        nothing behind (the empty directory stays for reuse, as the reference
        keeps it, unless min-free-space refused an object). ``txn_stats``
        counts what the outermost transaction wrote.
        """
        with self.lock():
            outer = self._txn_depth == 0
            if outer:
                self._txn_stats = TxnStats()
                self._txn_completed_commits = set()
                self._cleanup_stagedir = False
                self._txn_space_init()
                self._staging_open()
            self._txn_depth += 1
            ok = False
            try:
                yield self
                if outer:
                    flags = os.environ.get("OSTREE_REPO_TEST_ERROR", "").split(",")
                    if "pre-commit" in flags:
                        raise OstreeError("OSTREE_REPO_TEST_ERROR_PRE_COMMIT specified")
                    self.publish_staged(sync=True)
                    # only now are the commits' objects durable in objects/: a marker
                    # removed earlier would let a kill during publishing leave a
                    # complete-looking commit whose dirtree never arrived
                    done, self._txn_completed_commits = self._txn_completed_commits, set()
                    for csum in sorted(done):
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(self._partial_path(csum))
                    if getattr(self, "_txn_refs_changed", False):
                        # the refs set during the transaction: auto-update-summary now
                        self._txn_refs_changed = False
                        from ostree_py.repo.summary import maybe_regenerate_summary
                        maybe_regenerate_summary(self)
                ok = True
            finally:
                self._txn_depth -= 1
                if outer:
                    self._staging_close(ok)

    @property
    def txn_stats(self) -> "TxnStats":
        """Counters of the current (or last) transaction."""
        if self._txn_stats is None:
            self._txn_stats = TxnStats()
        return self._txn_stats

    def _staging_open(self) -> None:
        prefix = f"staging-{_boot_id()}-"
        try:
            names = sorted(n for n in os.listdir(self.tmp_dir) if n.startswith(prefix) and not n.endswith("-lock"))
        except FileNotFoundError:
            os.makedirs(self.tmp_dir, 0o755, exist_ok=True)
            names = []
        for n in names:
            d = os.path.join(self.tmp_dir, n)
            if not os.path.isdir(d) or self._staging_try_lock(d):
                continue
            # take over the staging directory of a killed transaction: its objects
            # are complete (they got their names only once written and verified),
            # its temporary files are not
            for leftover in os.scandir(d):
                if not leftover.is_dir(follow_symlinks=False):
                    with contextlib.suppress(OSError):
                        os.unlink(leftover.path)
            with contextlib.suppress(OSError):
                os.utime(d)  # not "older than a day" for cleanup_tmpdir
            self._staging = d
            return
        while True:
            d = os.path.join(self.tmp_dir, prefix + "".join(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[b % 62] for b in os.urandom(6)))
            try:
                os.mkdir(d, 0o700)
            except FileExistsError:
                continue
            if self._staging_try_lock(d):
                continue
            self._staging = d
            return

    def _staging_try_lock(self, d: str) -> bool:
        """Lock ``d`` for this transaction; True if another process holds it."""
        fd = os.open(d + "-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return True
        self._staging_lock_fd = fd
        return False

    def _staging_close(self, ok: bool) -> None:
        """End the transaction's use of its staging directory. After success it is
        removed (publish_staged emptied it). After a failure everything in it goes;
        the directory itself stays for the next transaction of this boot, as the
        reference keeps it, unless min-free-space refused an object (the reference
        then removes it, so as not to hold on to the disk)."""
        d, self._staging = self._staging, None
        if d is not None:
            import shutil
            if ok or self._cleanup_stagedir:
                shutil.rmtree(d, ignore_errors=True)
            else:
                for e in os.scandir(d):
                    if e.is_dir(follow_symlinks=False):
                        shutil.rmtree(e.path, ignore_errors=True)
                    else:
                        with contextlib.suppress(OSError):
                            os.unlink(e.path)
            self._made_dirs = {x for x in self._made_dirs if not x.startswith(d + os.sep)}
        if d is not None:
            # released as glnx_release_lock_file does: the exclusive holder unlinks the file
            with contextlib.suppress(FileNotFoundError):
                os.unlink(d + "-lock")
        if self._staging_lock_fd is not None:
            os.close(self._staging_lock_fd)
            self._staging_lock_fd = None
        with contextlib.suppress(OSError):
            self._cleanup_tmpdir()

    def _cleanup_tmpdir(self) -> None:
        """cleanup_tmpdir: unlocked staging dirs of other boots go (and of this boot
        after a min-free-space refusal), as does anything else in tmp/ older than a
        day (but not tmp/cache)."""
        import shutil
        current = f"staging-{_boot_id()}-"
        now = time.time()
        for name in os.listdir(self.tmp_dir):
            if name == "cache":
                continue
            p = os.path.join(self.tmp_dir, name)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            if name.startswith("staging-") and stat.S_ISDIR(st.st_mode):
                # this boot's are kept for reuse, unless min-free-space refused an object
                if name.startswith(current) and not self._cleanup_stagedir:
                    continue
                fd = os.open(p + "-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue
                    shutil.rmtree(p, ignore_errors=True)
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(p + "-lock")
                finally:
                    os.close(fd)
                continue
            if name.startswith("staging-") and name.endswith("-lock"):
                continue
            if st.st_mtime <= now and now - st.st_mtime > 86400:
                if stat.S_ISDIR(st.st_mode):
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(p)

    def publish_staged(self, sync: bool = False) -> None:
        """Make the objects staged so far part of the repository: sync the filesystem
        (their data is on disk before any name in objects/ points at it), rename them
        into objects/, and sync those directories. Called when a transaction succeeds,
        and before a ref is written during one (the ref may name staged objects).
        ``sync``: sync the filesystem even when nothing is staged."""
        d = self._staging
        if d is None:
            return
        try:
            subdirs = [e.name for e in os.scandir(d) if e.is_dir(follow_symlinks=False) and len(e.name) == 2]
        except FileNotFoundError:
            subdirs = []
        if not subdirs and not sync:
            return
        if self.fsync:
            fd = os.open(self.tmp_dir, os.O_RDONLY | os.O_DIRECTORY)
            try:
                syncfs(fd)
            finally:
                os.close(fd)
        # Two passes: every other object first, then commits and their detached
        # metadata, so that a kill (or, with fsync, a crash) between two renames never
        # leaves a commit in objects/ whose dirtrees, dirmetas or files are still staged.
        for commits in (False, True):
            for sub in subdirs:
                src = os.path.join(d, sub)
                dst = os.path.join(self.objects_dir, sub)
                if dst not in self._made_dirs:
                    os.makedirs(dst, 0o755, exist_ok=True)
                    self._made_dirs.add(dst)
                moved = False
                for name in os.listdir(src):
                    if name.endswith((".commit", ".commitmeta")) != commits:
                        continue
                    target = os.path.join(dst, name)
                    if name.endswith(".commitmeta") or not os.path.lexists(target):
                        # (detached metadata may replace the stored one)
                        os.rename(os.path.join(src, name), target)
                        moved = True
                        checkpoint("publish")
                    else:
                        os.unlink(os.path.join(src, name))
                if self.fsync and moved:
                    fd = os.open(dst, os.O_RDONLY | os.O_DIRECTORY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                if commits:
                    with contextlib.suppress(OSError):
                        os.rmdir(src)
                    self._made_dirs.discard(src)
            if self.fsync:
                # the object directories made in the first pass last before any commit
                fd = os.open(self.objects_dir, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    # ---------------------------------------------------------------- object paths
    def object_path(self, objtype: str, checksum: str) -> str:
        """Where the object lives in objects/ (see stored_path for one being staged)."""
        # what os.path.join makes of these parts (objects_dir never ends in "/"), without its cost
        return f"{self.objects_dir}/{checksum[:2]}/{checksum[2:]}.{self._ext(objtype)}"

    def _staged(self, p: str) -> str:
        """Where a transaction writes the object whose objects/ path is ``p``: the same
        name below its staging directory (``p`` itself outside transactions)."""
        d = self._staging
        if d is None or not p.startswith(self.objects_dir + os.sep):
            return p
        return d + p[len(self.objects_dir):]

    def stored_path(self, objtype: str, checksum: str) -> str | None:
        """The path of the object in this repo: staged by the current transaction
        (looked up first, as the reference does), else in objects/; None if absent."""
        p = self.object_path(objtype, checksum)
        if self._staging is not None:
            sp = self._staged(p)
            if os.path.lexists(sp):
                return sp
        return p if os.path.lexists(p) else None

    def _exists(self, p: str) -> bool:
        """Whether the object at objects/ path ``p`` is stored or staged."""
        return os.path.lexists(p) or (self._staging is not None and os.path.lexists(self._staged(p)))

    def _ext(self, objtype: str) -> str:
        if objtype == "file" and self.mode == "archive":
            return "filez"
        return OBJTYPES[objtype]

    def has_object(self, objtype: str, checksum: str, check_parent: bool = True) -> bool:
        """Whether the object is stored here (or in a parent repo)."""
        if self._exists(self.object_path(objtype, checksum)):
            return True
        return bool(check_parent and self.parent and self.parent.has_object(objtype, checksum))

    def find_object(self, objtype: str, checksum: str) -> "tuple[Repo, str]":
        """(the repo holding it, its path): the object in this repo (staged or stored),
        else in a parent repo; raise ObjectNotFoundError with the reference's message."""
        p = self.stored_path(objtype, checksum)
        if p is not None:
            return self, p
        if self.parent is not None:
            try:
                return self.parent.find_object(objtype, checksum)
            except ObjectNotFoundError:
                pass
        raise ObjectNotFoundError(f"No such metadata object {checksum}.{OBJTYPES[objtype]}"
                                  if objtype != "file" else
                                  f"Couldn't find file object '{checksum}'")

    # ---------------------------------------------------------------- metadata objects
    def load_metadata_bytes(self, objtype: str, checksum: str) -> bytes:
        """The raw bytes of a metadata object; raise ObjectNotFoundError if absent."""
        fd = -1
        if self._staging is None:
            # the common case, the object in objects/, opened without looking it
            # up first; anything else (absent, not a regular file, ...) goes to
            # the lookup below, which decides and reports as it always has
            try:
                fd = os.open(self.object_path(objtype, checksum), _OBJECT_OPEN_FLAGS)
                st = os.fstat(fd)
            except OSError:
                st = None
            if st is None or not stat.S_ISREG(st.st_mode):
                if fd >= 0:
                    os.close(fd)
                fd = -1
        if fd < 0:
            _, p = self.find_object(objtype, checksum)
            fd, st = open_object_fd(p)
        # the descriptor read in a buffer of the file's size: no file object, and no
        # MAX_METADATA_SIZE buffer for an object of a few hundred bytes
        try:
            limit = MAX_METADATA_SIZE + 1
            want = min(st.st_size + 1, limit)
            data = os.read(fd, want)
            # a short read of a regular file ends it; a full one means it grew since fstat
            while len(data) == want < limit:
                more = os.read(fd, limit - len(data))
                if not more:
                    break
                data += more
                want = limit
        finally:
            os.close(fd)
        if len(data) > MAX_METADATA_SIZE:
            raise InvalidObjectError(f"Metadata object {checksum}.{OBJTYPES[objtype]} exceeds maximum size {MAX_METADATA_SIZE}")
        return data

    def load_commit(self, checksum: str) -> Commit:
        try:
            return Commit.from_bytes(self.load_metadata_bytes("commit", checksum))
        except InvalidObjectError:
            raise
        except OstreeError as e:
            if isinstance(e, ObjectNotFoundError):
                raise
            raise InvalidObjectError(f"Corrupted commit object {checksum}: {e.message}") from None

    def load_dirtree(self, checksum: str) -> DirTree:
        try:
            return DirTree.from_bytes(self.load_metadata_bytes("dirtree", checksum))
        except (InvalidObjectError, ObjectNotFoundError):
            raise
        except OstreeError as e:
            raise InvalidObjectError(f"Corrupted dirtree object {checksum}: {e.message}") from None

    def load_dirmeta(self, checksum: str) -> DirMeta:
        try:
            return DirMeta.from_bytes(self.load_metadata_bytes("dirmeta", checksum))
        except (InvalidObjectError, ObjectNotFoundError):
            raise
        except OstreeError as e:
            raise InvalidObjectError(f"Corrupted dirmeta object {checksum}: {e.message}") from None

    def load_commitmeta(self, checksum: str) -> dict | None:
        """Detached metadata of a commit, or None."""
        try:
            data = self.load_metadata_bytes("commitmeta", checksum)
        except ObjectNotFoundError:
            return None
        return gvariant.deserialize(COMMITMETA_TYPE, data)

    def write_commitmeta(self, checksum: str, metadata: dict | None) -> None:
        """Replace (or with None, remove) a commit's detached metadata; an empty dict is
        written as an empty file, as the reference does (e.g. after gpg-sign --delete)."""
        p = self.object_path("commitmeta", checksum)
        if metadata is None:
            for q in {p, self._staged(p)}:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(q)
            return
        self._store_bytes(p, gvariant.serialize(COMMITMETA_TYPE, metadata), replace=True)

    def write_metadata(self, objtype: str, data: bytes, expected: str | None = None) -> str:
        """Store a metadata object; return its checksum (verified against ``expected``)."""
        csum = sha256_hex(data)
        if expected is not None and expected != csum:
            raise InvalidObjectError(f"Corrupted {OBJTYPES[objtype]} object; checksum expected='{expected}' actual='{csum}'")
        if len(data) > MAX_METADATA_SIZE:
            raise InvalidObjectError(f"Metadata object of type '{objtype}' is {len(data)} bytes, exceeding maximum {MAX_METADATA_SIZE}")
        p = self.object_path(objtype, csum)
        written = not self._exists(p)
        if written:
            self._store_bytes(p, data)
            if objtype == "commit":
                # a commit pulled again after being deleted: drop its tombstone
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.object_path("tombstone-commit", csum))
        if self._txn_stats is not None:
            self._txn_stats.add(metadata_total=1, metadata_written=int(written))
        return csum

    def _ensure_objdir(self, p: str) -> None:
        d = os.path.dirname(self._staged(p))
        if d not in self._made_dirs:
            os.makedirs(d, 0o755, exist_ok=True)
            self._made_dirs.add(d)

    def new_tmp_path(self) -> str:
        """A fresh name for a temporary file: in the transaction's staging directory
        (on the objects' filesystem, so it can be renamed into place), else in tmp/."""
        return os.path.join(self.staging_dir, f"tmpobj-{os.getpid()}-{os.urandom(6).hex()}")

    @property
    def staging_dir(self) -> str:
        """Where temporary files of the current transaction go (its staging directory;
        tmp/ outside a transaction)."""
        return self._staging or self.tmp_dir

    def object_write_path(self, objtype: str, checksum: str) -> str:
        """The path a new loose object file is given: in the transaction's staging
        directory (objects/ outside one), its directory made. The caller links or
        renames a complete, verified file there; the transaction publishes it."""
        dest = self._staged(self.object_path(objtype, checksum))
        self._ensure_objdir(dest)
        return dest

    def write_object_bytes(self, objtype: str, checksum: str, data: bytes, replace: bool = False) -> None:
        """Store ``data`` as the raw loose file of the object (no verification: the
        caller checked it), atomically; ``replace`` an existing one (detached metadata)."""
        self._store_bytes(self.object_path(objtype, checksum), data, replace)

    def _store_bytes(self, dest: str, data: bytes, replace: bool = False) -> None:
        dest = self._staged(dest)
        self._ensure_objdir(dest)
        tmp = self.new_tmp_path()
        try:
            write_atomic_to(tmp, dest, data, fsync=self.fsync and (self._txn_depth == 0 or self.per_object_fsync))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        checkpoint("object")

    # ---------------------------------------------------------------- content objects
    def load_file(self, checksum: str):
        """(FileInfo, stream) of a content object; stream is None for symlinks."""
        repo, p = self.find_object("file", checksum)
        return repo.load_file_at(p, checksum)

    def load_file_at(self, p: str, checksum: str):
        """load_file of the content object stored at ``p`` in this repo (as find_object
        returned it): (FileInfo, stream or None for a symlink)."""
        mode = self.mode
        if mode == "archive":
            f = open_object(p)
            try:
                r = ArchiveReader(f)
            except Exception:
                f.close()
                raise
            if not r.info.is_regular:
                f.close()
                return r.info, None
            return r.info, r
        st = os.lstat(p)
        if mode in ("bare", "bare-split-xattrs"):
            if stat.S_ISLNK(st.st_mode):
                info = FileInfo(st.st_mode, st.st_uid, st.st_gid, 0, os.readlink(p),
                                self._load_split_xattrs(checksum) if mode == "bare-split-xattrs"
                                else list_xattrs(p))
                return info, None
            if not stat.S_ISREG(st.st_mode):
                raise InvalidObjectError(f"Not a regular file or symlink: {checksum}")
            xattrs = [] if mode == "bare-split-xattrs" else list_xattrs(p, follow=False)
            if mode == "bare-split-xattrs":
                xattrs = self._load_split_xattrs(checksum)
            info = FileInfo(st.st_mode, st.st_uid, st.st_gid, st.st_size, "", xattrs)
            return info, open_object(p)
        if mode == "bare-user":
            try:
                meta = os.getxattr(p, "user.ostreemeta", follow_symlinks=False)
            except OSError as e:
                raise InvalidObjectError(f"Opening content object {checksum}: "
                                         f"fgetxattr(user.ostreemeta): {e.strerror}") from None
            uid, gid, fmode, xattrs = parse_bareuser_meta(meta)
            if stat.S_ISLNK(fmode):
                with open_object(p) as f:
                    # the target is read as a C string: up to the first NUL
                    target = f.read(65536).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
                return FileInfo(fmode, uid, gid, 0, target, xattrs), None
            if not stat.S_ISREG(fmode):
                raise InvalidObjectError(f"Invalid mode in user.ostreemeta of {checksum}")
            return FileInfo(fmode, uid, gid, st.st_size, "", xattrs), open_object(p)
        # bare-user-only
        if stat.S_ISLNK(st.st_mode):
            return FileInfo(st.st_mode, 0, 0, 0, os.readlink(p)), None
        return FileInfo(st.st_mode, 0, 0, st.st_size), open_object(p)

    def _load_split_xattrs(self, checksum: str):
        """bare-split-xattrs: the file-xattrs-link object names the xattrs object."""
        link = self.object_path("file-xattrs-link", checksum)
        try:
            target = os.readlink(link) if os.path.islink(link) else None
        except OSError:
            target = None
        if target is None:
            if not os.path.exists(link):
                # every content object of this mode has its xattrs link
                raise ObjectNotFoundError(f"Couldn't find file object '{checksum}'")
            # a hardlink to the file-xattrs object itself
            with open(link, "rb") as f:
                data = f.read()
        else:
            with open(os.path.join(os.path.dirname(link), target), "rb") as f:
                data = f.read()
        from ostree_py.core.objects import xattrs_from_bytes
        return xattrs_from_bytes(data)

    def write_content(self, info: FileInfo, stream=None, expected: str | None = None,
                      data: bytes | None = None, out: dict | None = None, trusted: bool = False,
                      bare_content: bool = False) -> str:
        """Store a content object from ``stream`` (or ``data``); return its checksum.

        The checksum is computed while the bytes are written to a temporary
        file, which is renamed into place only if it matches ``expected``.
        Bytes given as ``data`` are hashed first, and nothing is written when
        the object already exists. With ``out`` (a dict), ``out["written"]``
        says whether the object was new; if ``out`` has a ``"stored_size"``
        key it receives the size of the stored object (the .filez size in an
        archive repo, as the reference computes it for ``ostree.sizes``).
        ``trusted`` (write_content_trusted) stores the object under ``expected``
        without comparing checksums, as trusted local pulls do.

        In a transaction with core.min-free-space-*, the object is charged before
        anything is written, as the reference charges it: its uncompressed size
        (a bare-user symlink: its target and NUL), whether or not it turns out to
        be stored already, unless ``expected`` names a stored object.
        ``bare_content``: a regular file that static-delta apply writes into a
        non-archive repo (the refusal names its exact size, as the reference's);
        as the reference's bare-content writer, it is left out of the transaction's
        statistics (a pull by delta reports 0 bytes content written).
        """
        if self.mode == "bare-split-xattrs" and os.environ.get("OSTREE_EXP_WRITE_BARE_SPLIT_XATTRS") != "true":
            raise OstreeError("Writing content object: Not allowed due to repo mode")
        if self.mode == "bare-user-only":
            info = canonicalize_bareuseronly(info)
        if self._txn_max_blocks is not None and self._txn_depth and not (
                expected is not None and self._exists(self.object_path("file", expected))):
            if info.is_symlink:
                size = len(info.symlink_target.encode("utf-8", "surrogateescape")) + 1 \
                    if self.mode == "bare-user" else 0
            else:
                size = info.size if info.size or data is None else len(data)
            self._reserve_content_space(size, exact=bare_content and info.is_regular)
        h = checksum_begin(info)
        stats = None if bare_content and info.is_regular else self._txn_stats
        if info.is_symlink:
            csum = h.hexdigest()
            csum = self._check_expected(csum, expected, trusted)
            p = self.object_path("file", csum)
            written = not self._exists(p)
            if written:
                self._write_symlink_object(p, info)
            if out is not None:
                out["written"] = written
                if "stored_size" in out:
                    out["stored_size"] = os.lstat(self.stored_path("file", csum)).st_size
            if stats is not None:
                stats.add(content_total=1, content_written=int(written))
            return csum
        if not info.is_regular:
            raise OstreeError(f"Unsupported file type for content object: mode {info.mode:o}")
        if data is not None:
            return self._write_content_bytes(info, h, data, expected, out, trusted, stats)
        fd, tmp = self.open_tmpfile()
        try:
            with os.fdopen(fd, "wb", closefd=False) as dst:
                if self.mode == "archive":
                    raw = _HashingReader(stream, h)
                    compress_stream(info, raw, dst, self.zlib_level)
                    size = raw.count
                else:
                    size = 0
                    while True:
                        chunk = stream.read(CHUNK)
                        if not chunk:
                            break
                        h.update(chunk)
                        dst.write(chunk)
                        size += len(chunk)
            if size != info.size and info.size:
                raise InvalidObjectError(f"Corrupted file object; expected size {info.size}, got {size}")
            csum = h.hexdigest()
            csum = self._check_expected(csum, expected, trusted)
            p = self.object_path("file", csum)
            if out is not None and "stored_size" in out:
                out["stored_size"] = os.fstat(fd).st_size
            if self._exists(p):
                os.close(fd)
                fd = -1
                if tmp is not None:
                    os.unlink(tmp)
                if out is not None:
                    out["written"] = False
                if stats is not None:
                    stats.add(content_total=1)
                return csum
            self._finish_regular_object(fd, info)
            self._ensure_objdir(p)
            self._link_tmpfile(fd, tmp, p)
            os.close(fd)
            fd = -1
            if out is not None:
                out["written"] = True
            if stats is not None:
                stats.add(content_total=1, content_written=1, content_bytes_written=size)
            return csum
        except BaseException:
            if fd >= 0:
                os.close(fd)
            if tmp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            raise

    def open_tmpfile(self):
        """(fd, name) of a new temporary file for an object: an unnamed O_TMPFILE
        (name None) when the filesystem has them, so that no half-written file
        is ever visible (a commit of a tree that holds the repo walks tmp/)."""
        d = self.staging_dir
        if _O_TMPFILE:
            try:
                return os.open(d, _O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600), None
            except OSError as e:
                if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                    raise
        tmp = self.new_tmp_path()
        return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), tmp

    def _link_tmpfile(self, fd: int, tmp: str | None, dest: str) -> bool:
        """Give the temporary file its object name; False if the object appeared meanwhile."""
        dest = self._staged(dest)
        if tmp is not None:
            os.rename(tmp, dest)
            checkpoint("object")
            return True
        # linkat(AT_SYMLINK_FOLLOW) of the /proc magic link (os.link would call link(2))
        if _libc().linkat(-100, f"/proc/self/fd/{fd}".encode(), -100, os.fsencode(dest), 0x400) == 0:
            checkpoint("object")
            return True
        import ctypes
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            return False
        raise OSError(err, os.strerror(err), dest)

    def _write_content_bytes(self, info: FileInfo, h, data: bytes, expected, out, trusted=False,
                             stats=None) -> str:
        """write_content for a regular file whose bytes are in memory: hash, then write if new;
        counted in ``stats`` (the transaction's, or None)."""
        if info.size and len(data) != info.size:
            raise InvalidObjectError(f"Corrupted file object; expected size {info.size}, got {len(data)}")
        h.update(data)
        csum = self._check_expected(h.hexdigest(), expected, trusted)
        p = self.object_path("file", csum)
        exists = self._exists(p)
        want_size = out is not None and "stored_size" in out
        if self.mode == "archive":
            if exists and not want_size:
                payload = None
            else:
                z = zlib.compressobj(self.zlib_level, zlib.DEFLATED, -15)
                payload = archive_header(info) + z.compress(data) + z.flush()
                if want_size:
                    out["stored_size"] = len(payload)
        else:
            payload = data
            if want_size:
                out["stored_size"] = len(data)
        if out is not None:
            out["written"] = not exists
        if exists:
            if stats is not None:
                stats.add(content_total=1)
            return csum
        fd, tmp = self.open_tmpfile()
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            self._finish_regular_object(fd, info)
            self._ensure_objdir(p)
            self._link_tmpfile(fd, tmp, p)
            os.close(fd)
            fd = -1
        except BaseException:
            if fd >= 0:
                os.close(fd)
            if tmp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            raise
        if stats is not None:
            stats.add(content_total=1, content_written=1, content_bytes_written=len(data))
        return csum

    def _check_expected(self, csum, expected, trusted=False) -> str:
        """The name to store the object under: ``csum``, which must be ``expected`` unless trusted."""
        if expected is not None and csum != expected:
            if trusted:
                return expected
            raise InvalidObjectError(f"Corrupted file object; checksum expected='{expected}' actual='{csum}'")
        return csum

    def _finish_regular_object(self, fd: int, info: FileInfo) -> None:
        mode = self.mode
        if mode == "archive":
            os.fchmod(fd, 0o644)
            return
        if mode in ("bare", "bare-split-xattrs"):
            os.fchown(fd, info.uid, info.gid)
            os.fchmod(fd, info.mode & 0o7777)
            # bare-split-xattrs keeps xattrs in separate objects (not written by this experimental path)
            if not self.disable_xattrs and mode == "bare":
                for name, value in info.xattrs:
                    os.setxattr(fd, name.decode("utf-8", "surrogateescape"), value)
        elif mode == "bare-user":
            # as the reference: no setuid/sticky or world-write bits, always owner-readable
            os.fchmod(fd, (info.mode & 0o775) | 0o400)
            os.setxattr(fd, "user.ostreemeta", bareuser_meta(info))
        else:  # bare-user-only
            os.fchmod(fd, info.mode & 0o777)
        os.utime(fd, (0, 0))
        if self.fsync and (self._txn_depth == 0 or self.per_object_fsync):
            os.fsync(fd)

    def _write_symlink_object(self, p: str, info: FileInfo) -> None:
        p = self._staged(p)
        tmp = self.new_tmp_path()
        mode = self.mode
        if mode == "archive":
            buf = io.BytesIO()
            compress_stream(info, io.BytesIO(), buf, self.zlib_level)
            self._store_bytes(p, buf.getvalue())
            return
        if mode == "bare-user":
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                # the reference stores the target with its NUL terminator
                os.write(fd, info.symlink_target.encode("utf-8", "surrogateescape") + b"\0")
                os.fchmod(fd, 0o644)
                os.setxattr(fd, "user.ostreemeta", bareuser_meta(info))
                os.utime(fd, (0, 0))
            finally:
                os.close(fd)
        else:
            os.symlink(info.symlink_target, tmp)
            if mode in ("bare", "bare-split-xattrs"):
                os.lchown(tmp, info.uid, info.gid)
                if not self.disable_xattrs and mode == "bare":
                    for name, value in info.xattrs:
                        os.setxattr(tmp, name.decode("utf-8", "surrogateescape"), value, follow_symlinks=False)
        self._ensure_objdir(p)
        try:
            os.rename(tmp, p)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        checkpoint("object")

    def import_object_from(self, src: "Repo", objtype: str, checksum: str, verify: bool = True) -> bool:
        """Copy one object from ``src`` (pull-local); hardlink when modes allow. True if written."""
        if self.has_object(objtype, checksum, check_parent=False):
            return False
        if objtype != "file":
            data = src.load_metadata_bytes(objtype, checksum)
            self.write_metadata(objtype, data, expected=checksum if verify else None)
            if objtype == "commit":
                meta = src.load_commitmeta(checksum)
                if meta:
                    self.write_commitmeta(checksum, meta)
            return True
        if src.mode == self.mode and self.mode != "archive" and os.stat(src.path).st_dev == os.stat(self.path).st_dev:
            _, sp = src.find_object("file", checksum)
            dp = self._staged(self.object_path("file", checksum))
            self._ensure_objdir(dp)
            try:
                os.link(sp, dp)
                checkpoint("object")
                return True
            except FileExistsError:
                return False
            except OSError:
                pass
        info, stream = src.load_file(checksum)
        try:
            self.write_content(info, stream, expected=checksum if verify else None)
        finally:
            if stream is not None:
                stream.close()
        return True

    # ---------------------------------------------------------------- enumeration
    def iter_objects(self, include_parent: bool = False):
        """Yield (checksum, objtype) for every loose object."""
        try:
            prefixes = sorted(os.listdir(self.objects_dir))
        except FileNotFoundError:
            return
        for pre in prefixes:
            if len(pre) != 2:
                continue
            d = os.path.join(self.objects_dir, pre)
            try:
                names = os.listdir(d)
            except NotADirectoryError:
                continue
            for n in names:
                base, dot, ext = n.partition(".")
                t = EXTENSION_TO_TYPE.get(ext)
                if t is None:
                    if ext == "filez" and self.mode == "archive":
                        t = "file"
                    else:
                        continue
                elif t == "file" and self.mode == "archive":
                    continue
                csum = pre + base
                if is_checksum(csum):
                    yield csum, t
        if include_parent and self.parent is not None:
            yield from self.parent.iter_objects(True)

    def delete_object(self, objtype: str, checksum: str) -> None:
        """Remove a loose object (and a commit's detached metadata and partial marker).

        Deleting a commit leaves a tombstone when ``core.tombstone-commits`` is set.
        """
        p = self.object_path(objtype, checksum)
        for q in {p, self._staged(p)}:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(q)
        checkpoint("object-delete")
        if objtype == "commit":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.object_path("commitmeta", checksum))
            self.forget_commit_partial(checksum)
            if self.config.get_boolean("core", "tombstone-commits", False):
                p = self.object_path("tombstone-commit", checksum)
                if not os.path.exists(p):
                    # a{sv} {"commit": bytestring (NUL-terminated) checksum}
                    data = gvariant.serialize("a{sv}", {"commit": gvariant.Variant(
                        "ay", checksum.encode("ascii") + b"\0")})
                    self._store_bytes(p, data)

    # ---------------------------------------------------------------- commit state
    def _partial_path(self, checksum: str) -> str:
        return os.path.join(self.path, "state", f"{checksum}.commitpartial")

    def is_commit_partial(self, checksum: str) -> bool:
        if checksum in self._txn_completed_commits:
            return False
        return os.path.exists(self._partial_path(checksum))

    def commit_partial_reason(self, checksum: str) -> str | None:
        """None if the commit is complete; "fsck" if fsck marked it partial; else ""."""
        if checksum in self._txn_completed_commits:
            return None
        try:
            with open(self._partial_path(checksum), "rb") as f:
                return "fsck" if f.read(1) == b"f" else ""
        except FileNotFoundError:
            return None

    def mark_commit_partial(self, checksum: str, partial: bool = True, fsck: bool = False) -> None:
        """Create (or with partial=False remove) state/CSUM.commitpartial.

        An existing marker is left as it is; ``fsck`` records that fsck found
        the commit's objects corrupt (the file then holds "f"). Inside a
        transaction, removal waits until the transaction's objects are published
        (and does not happen if it fails).
        """
        p = self._partial_path(checksum)
        if not partial and self._txn_depth > 0:
            self._txn_completed_commits.add(checksum)
            return
        self._txn_completed_commits.discard(checksum)
        if partial:
            os.makedirs(os.path.dirname(p), 0o755, exist_ok=True)
            try:
                fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOCTTY, 0o644)
            except FileExistsError:
                return
            try:
                if fsck:
                    os.write(fd, b"f")
            finally:
                os.close(fd)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)

    def forget_commit_partial(self, checksum: str) -> None:
        """Remove state/CSUM.commitpartial at once, inside a transaction too.

        For a commit object that is being removed (deleted, refused, absent
        from the source): unlike ``mark_commit_partial(csum, False)``, which
        says the commit is complete, this does not wait for the transaction,
        so a refused pull that aborts leaves no marker behind.
        """
        self._txn_completed_commits.discard(checksum)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._partial_path(checksum))

    # ---------------------------------------------------------------- refs
    from ostree_py.repo.refs import (
        list_refs,
        resolve_rev,
        resolve_rev_ext,
        set_ref,
        delete_ref,
        list_remote_names,
        list_collection_refs,
        set_collection_ref,
        ref_path,
        write_ref_file,
    )


class _HashingReader:
    """Wraps a stream so that every byte read also feeds a hash."""

    def __init__(self, stream, h):
        self._s = stream
        self._h = h
        self.count = 0

    def read(self, n=-1):
        b = self._s.read(n)
        if b:
            self._h.update(b)
            self.count += len(b)
        return b


# O_NONBLOCK: a FIFO planted in the object store must not block the open
_OBJECT_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def open_object_fd(path: str):
    """(fd, stat) of a loose object file, with open_object's checks, for callers
    that read the descriptor directly (no file object: fsck opens every object).

    O_NONBLOCK keeps a FIFO planted in the object store from blocking the
    open forever (it has no effect on reads of a regular file); a directory,
    device or dangling symlink in place of an object is reported as a corrupt
    or missing object, not an OSError.
    """
    try:
        fd = os.open(path, _OBJECT_OPEN_FLAGS)
    except FileNotFoundError:
        name = os.path.basename(os.path.dirname(path)) + os.path.basename(path)
        csum, _, ext = name.partition(".")
        raise ObjectNotFoundError(f"Couldn't find file object '{csum}'" if ext in ("file", "filez") else
                                  f"No such metadata object {name}") from None
    except OSError as e:
        name = os.path.basename(os.path.dirname(path)) + os.path.basename(path)
        raise InvalidObjectError(f"Opening object {name}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            name = os.path.basename(os.path.dirname(path)) + os.path.basename(path)
            raise InvalidObjectError(f"Corrupted object {name}: not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def open_object(path: str):
    """Open a loose object file for reading (a binary file object); see open_object_fd."""
    fd, _st = open_object_fd(path)
    try:
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def canonicalize_bareuseronly(info: FileInfo) -> FileInfo:
    """bare-user-only keeps no ownership, no xattrs and no setuid/setgid/sticky bits."""
    mode = info.mode
    if stat.S_ISREG(mode):
        mode = stat.S_IFREG | (mode & 0o777)
    if info.uid == 0 and info.gid == 0 and not info.xattrs and mode == info.mode:
        return info
    return FileInfo(mode, 0, 0, info.size, info.symlink_target, (), info.rdev)

