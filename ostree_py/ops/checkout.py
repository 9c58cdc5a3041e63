"""Checking out a commit (or one of its subtrees or files) into a directory.

Behaviour follows ``ostree checkout`` 2022.7, checked against the binary:

- Content is hardlinked from the repository when the repo mode and the
  checkout mode agree (bare repo and normal mode; bare-user or bare-user-only
  repo and user mode), and copied otherwise. Zero-sized files are always
  copied (hardlinking them hits EMLINK), and so are files a user-mode
  checkout could not read (they get u+r). Bare-user symlinks are copies.
- An archive repo in user mode with the uncompressed cache enabled unpacks
  each object once into ``uncompressed-objects-cache/`` and hardlinks from it.
- Directories are made 0700, filled, then given their mode (after their
  children, so a 0500 directory still gets its contents), owner (normal mode
  only) and mtime 0 (not for --force-copy). Existing directories are left as
  they are in the union modes.
- Normal mode applies ownership and xattrs to copies; user mode applies
  neither and strips setuid/setgid.

Every entry is created relative to an open directory fd, and a directory of
the checkout is entered with O_NOFOLLOW: a symlink already in the destination
is never followed (the reference follows one in the union modes; we refuse),
and names from dirtrees were validated when the dirtree was parsed, so a
hostile repository cannot write outside the destination.

The library entry point is :func:`checkout_tree`; ``commands/checkout.py``
is the CLI over it. What ``admin deploy`` does in the reference maps to::

    checkout_tree(repo, csum, f"{csum}.{serial}", dest_dir_fd=osdeploy_fd,
                  process_passthrough_whiteouts=True)          # the hardlink farm
    checkout_tree(repo, csum, "etc", dest_dir_fd=deployment_fd,
                  subpath="/usr/etc", force_copy=True)        # /etc as copies

Copies (not hardlinks) of one directory run on a few threads
(OSTREE_PY_CHECKOUT_THREADS, 1 to disable), which overlaps their I/O.
"""

import contextlib
from collections import deque
import errno
import os
import stat
import threading

from ostree_py.core.content import CHUNK, ArchiveReader, FileInfo, checksum_begin, parse_bareuser_meta
from ostree_py.errors import ObjectNotFoundError, OstreeError
from ostree_py.util.fs import strerror
from ostree_py.core.objects import DirMeta, validate_filename

MODE_NONE = "none"
MODE_USER = "user"

OVERWRITE_NONE = "none"
OVERWRITE_UNION_FILES = "union-files"
OVERWRITE_ADD_FILES = "add-files"
OVERWRITE_UNION_IDENTICAL = "union-identical"
OVERWRITE_MODES = (OVERWRITE_NONE, OVERWRITE_UNION_FILES, OVERWRITE_ADD_FILES, OVERWRITE_UNION_IDENTICAL)

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT_NAME = ".wh..wh..opq"
OVERLAYFS_WHITEOUT_PREFIX = ".ostree-wh."

UNCOMPRESSED_CACHE_DIR = "uncompressed-objects-cache"

_USERMODE_REPOS = ("bare-user", "bare-user-only")

# hardlink attempt results
_NOT_SUPPORTED, _SKIP_EXISTED, _LINKED = 0, 1, 2

# threads for copies (see _Checkout._files); OSTREE_PY_CHECKOUT_THREADS=1 disables them
_THREADS = int(os.environ.get("OSTREE_PY_CHECKOUT_THREADS") or min(4, (os.cpu_count() or 1) + 2))
_MIN_PARALLEL = 8
# directories whose copies may still be running while the walk goes on
_MAX_UNFINISHED = 64

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NOFOLLOW_DIR_FLAGS = _DIR_FLAGS | os.O_NOFOLLOW


class CheckoutError(OstreeError):
    """A checkout that could not be completed."""


class CheckoutOptions:
    """How a checkout behaves; the fields mirror OstreeRepoCheckoutAtOptions.

    ``mode``: "none" (ownership and xattrs applied) or "user".
    ``overwrite``: "none", "union-files", "add-files" or "union-identical"
    (the last one requires ``require_hardlinks``, as in the reference's CLI).
    ``skip`` is a set of paths, or a callable(path) -> bool, of entries to
    leave out: paths are relative to the checked-out root, start with "/",
    and name directories with a trailing "/" (the root itself is "/").
    ``devino_cache``, if a dict, receives (st_dev, st_ino) -> checksum for
    every file hardlinked into place (for commit's link-checkout speedup).
    ``enable_uncompressed_cache``: archive repos in user mode unpack into
    and hardlink from ``uncompressed-objects-cache/`` (off by default, as
    in ostree_repo_checkout_at). ``fsync``: fsync every file and directory.
    ``allow_noent``: a missing ``subpath`` makes checkout_tree return False.
    """

    __slots__ = ("mode", "overwrite", "subpath", "require_hardlinks", "force_copy", "bareuseronly_dirs",
                 "process_whiteouts", "process_passthrough_whiteouts", "enable_uncompressed_cache", "fsync",
                 "skip", "devino_cache", "allow_noent", "selinux_policy", "strip_selinux_xattrs", "progress")

    def __init__(self, mode: str = MODE_NONE, overwrite: str = OVERWRITE_NONE, subpath: str = "/",
                 require_hardlinks: bool = False, force_copy: bool = False, bareuseronly_dirs: bool = False,
                 process_whiteouts: bool = False, process_passthrough_whiteouts: bool = False,
                 enable_uncompressed_cache: bool = False, fsync: bool = False,
                 skip: "set | Callable | None" = None, devino_cache: dict | None = None,
                 allow_noent: bool = False, selinux_policy=None, strip_selinux_xattrs: bool = False,
                 progress: "Callable | None" = None):
        self.mode = mode
        self.overwrite = overwrite
        self.subpath = subpath
        self.require_hardlinks = require_hardlinks
        self.force_copy = force_copy
        self.bareuseronly_dirs = bareuseronly_dirs
        self.process_whiteouts = process_whiteouts
        self.process_passthrough_whiteouts = process_passthrough_whiteouts
        self.enable_uncompressed_cache = enable_uncompressed_cache
        self.fsync = fsync
        self.skip = skip
        self.devino_cache = devino_cache
        self.allow_noent = allow_noent
        self.selinux_policy = selinux_policy
        self.strip_selinux_xattrs = strip_selinux_xattrs
        # called with the number of entries handled so far, once per directory
        self.progress = progress


def checkout_tree(repo, source, dest: str, options: CheckoutOptions | None = None, *,
                  dest_dir_fd: int | None = None, **kw) -> bool:
    """Check out ``source`` into ``dest``; return False only if allow_noent found no subpath.

    ``source`` is a commit checksum or a ``(dirtree, dirmeta)`` checksum pair.
    ``dest`` is created (it must not exist unless an overwrite mode is used;
    a file subpath goes inside ``dest``, which may exist, or is "." for the
    directory itself). It is relative to ``dest_dir_fd`` when given.
    Options come as a CheckoutOptions or as its field names, e.g.
    ``checkout_tree(repo, csum, "/sysroot/deploy/x", mode="user", overwrite="union-files")``.
    """
    if options is None:
        options = CheckoutOptions(**kw)
    elif kw:
        raise TypeError("pass either a CheckoutOptions or keyword options, not both")
    return _Checkout(repo, options).run(source, dest, os.open(".", _DIR_FLAGS) if dest_dir_fd is None
                                        else os.dup(dest_dir_fd))


def resolve_subpath(repo, tree: str, meta: str, subpath: str):
    """Find ``subpath`` below a root dirtree.

    Returns ("dir", dirtree, dirmeta, name) or ("file", content checksum, None, name);
    raises CheckoutError("No such file or directory: PATH") or ("Not a directory").
    """
    s = subpath
    if s.startswith("/"):
        s = s[1:]
    if s == "" and subpath.startswith("/"):
        return "dir", tree, meta, "/"
    parts = s.split("/")
    kind, cur_tree, cur_meta, name = "dir", tree, meta, "/"
    walked = ""
    for i, part in enumerate(parts):
        if kind != "dir":
            raise CheckoutError("Not a directory")
        walked += "/" + part
        if part == "" and i == len(parts) - 1 and i > 0:
            raise CheckoutError(f"No such file or directory: {walked[:-1]}/")
        dt = repo.load_dirtree(cur_tree)
        found = None
        for n, c in dt.files:
            if n == part:
                found = ("file", c, None)
                break
        if found is None:
            for n, t, m in dt.dirs:
                if n == part:
                    found = ("dir", t, m)
                    break
        if found is None:
            raise CheckoutError(f"No such file or directory: {walked}")
        kind, cur_tree, cur_meta = found
        name = part
    return kind, cur_tree, cur_meta, name


# ---------------------------------------------------------------- low-level helpers

_UTIME_OMIT = (1 << 30) - 2
# futimens(fd, {atime omitted, mtime 0}) through ctypes (os.utime cannot omit atime),
# made on first use: importing ctypes is start-up time that only a checkout needs
_futimens_mtime_zero = None


def _make_futimens_mtime_zero():
    import ctypes

    class Timespec(ctypes.Structure):
        _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]
    futimens = ctypes.CDLL(None, use_errno=True).futimens
    futimens.argtypes = [ctypes.c_int, ctypes.POINTER(Timespec)]
    times = (Timespec * 2)(Timespec(0, _UTIME_OMIT), Timespec(0, 0))

    def call(fd: int) -> int:
        """0, or the errno of the failure."""
        return ctypes.get_errno() if futimens(fd, times) != 0 else 0
    return call


def _set_mtime_zero(fd: int) -> None:
    """futimens: leave atime, set mtime to 0 (OSTREE_TIMESTAMP)."""
    global _futimens_mtime_zero
    if _futimens_mtime_zero is None:
        _futimens_mtime_zero = _make_futimens_mtime_zero()
    e = _futimens_mtime_zero(fd)
    if e:
        raise CheckoutError(f"futimens: {os.strerror(e)}")


def _proc_path(dfd: int, name: str) -> str:
    return f"/proc/self/fd/{dfd}/{name}"


def rm_rf_at(dfd: int, name: str) -> None:
    """Remove ``name`` under ``dfd`` and everything below it, never following symlinks; no error if absent."""
    try:
        os.unlink(name, dir_fd=dfd)
        return
    except FileNotFoundError:
        return
    except IsADirectoryError:
        pass
    except PermissionError as e:
        # unlink() of a directory is EISDIR on Linux, EPERM elsewhere
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            raise CheckoutError(f"unlinkat({name}): {strerror(e)}") from None
    import shutil
    try:
        shutil.rmtree(name, dir_fd=dfd)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise CheckoutError(f"Removing {name}: {strerror(e)}") from None


def _copy_fd(infd: int, outfd: int, size: int) -> None:
    """Copy ``size`` bytes from the start of ``infd``: copy_file_range (may reflink), else sendfile, else read/write."""
    off = 0
    use = "cfr"
    while off < size:
        n = 0
        if use == "cfr":
            try:
                n = os.copy_file_range(infd, outfd, size - off, off)
            except OSError as e:
                if e.errno in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                    use = "sendfile"
                    continue
                raise
        elif use == "sendfile":
            try:
                n = os.sendfile(outfd, infd, off, size - off)
            except OSError as e:
                if e.errno in (errno.EINVAL, errno.ENOSYS):
                    use = "rw"
                    continue
                raise
        else:
            data = os.pread(infd, min(CHUNK, size - off), off)
            n = len(data)
            view = memoryview(data)
            while view:
                w = os.write(outfd, view)
                view = view[w:]
        if n == 0:
            break
        off += n


def _write_stream(stream, outfd: int) -> None:
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        view = memoryview(chunk)
        while view:
            w = os.write(outfd, view)
            view = view[w:]


def _set_xattrs_fd(fd: int, xattrs) -> None:
    for name, value in xattrs:
        n = name.decode("utf-8", "surrogateescape")
        try:
            os.setxattr(fd, n, value)
        except OSError as e:
            raise CheckoutError(f"fsetxattr({n}): {strerror(e)}") from None


def _set_xattrs_at(dfd: int, name: str, xattrs) -> None:
    p = _proc_path(dfd, name)
    for xname, value in xattrs:
        n = xname.decode("utf-8", "surrogateescape")
        try:
            os.setxattr(p, n, value, follow_symlinks=False)
        except OSError as e:
            raise CheckoutError(f"lsetxattr({n}): {strerror(e)}") from None


def _read_xattrs_at(dfd: int, name: str):
    from ostree_py.repo import list_xattrs
    return list_xattrs(_proc_path(dfd, name), follow=False)


def checksum_file_at(dfd: int, name: str, st: os.stat_result, ignore_xattrs: bool = False,
                     canonical_permissions: bool = False) -> str:
    """The content checksum of the file or symlink ``name`` as it is on disk (ostree_checksum_file_at)."""
    uid, gid = (0, 0) if canonical_permissions and stat.S_ISREG(st.st_mode) else (st.st_uid, st.st_gid)
    xattrs = [] if ignore_xattrs else _read_xattrs_at(dfd, name)
    if stat.S_ISLNK(st.st_mode):
        info = FileInfo(st.st_mode, uid, gid, 0, os.readlink(name, dir_fd=dfd), xattrs)
        return checksum_begin(info).hexdigest()
    if not stat.S_ISREG(st.st_mode):
        # not a content object: cannot be identical to one
        return ""
    info = FileInfo(st.st_mode, uid, gid, st.st_size, "", xattrs)
    h = checksum_begin(info)
    fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW, dir_fd=dfd)
    try:
        while True:
            b = os.read(fd, CHUNK)
            if not b:
                break
            h.update(b)
    finally:
        os.close(fd)
    return h.hexdigest()


def _stbuf_equal(a: os.stat_result, b: os.stat_result) -> bool:
    if a.st_mode != b.st_mode:
        return False
    if stat.S_ISREG(a.st_mode) and a.st_size != b.st_size:
        return False
    return a.st_uid == b.st_uid and a.st_gid == b.st_gid


_TMP_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _tmp_name(prefix: str) -> str:
    """prefix + 6 random letters/digits, like glnx_gen_temp_name."""
    return prefix + "".join(_TMP_CHARS[b % 62] for b in os.urandom(6))


def _bare_relpath(csum: str) -> str:
    return f"{csum[:2]}/{csum[2:]}.file"


class _RepoLink:
    """One repository of the parent chain, with what hardlinking from it needs."""

    __slots__ = ("repo", "mode", "objects_fd", "usermode")

    def __init__(self, repo):
        self.repo = repo
        self.mode = repo.mode
        self.usermode = repo.mode in _USERMODE_REPOS
        self.objects_fd = -1
        if repo.mode == "bare" or self.usermode:
            try:
                self.objects_fd = os.open(repo.objects_dir, _DIR_FLAGS)
            except OSError:
                self.objects_fd = -1

    def close(self):
        if self.objects_fd >= 0:
            os.close(self.objects_fd)
            self.objects_fd = -1


class _SrcInfo:
    """What a checkout needs to know about a content object before placing it."""

    __slots__ = ("mode", "uid", "gid", "size", "target", "xattrs", "loaded")

    def __init__(self, mode, uid, gid, size, target="", xattrs=None):
        self.mode, self.uid, self.gid, self.size, self.target, self.xattrs = mode, uid, gid, size, target, xattrs
        self.loaded = None


class _ObjectFd:
    """An open object file as the stream of a copy: its fd (copies use copy_file_range)."""

    __slots__ = ("fd",)

    def __init__(self, fd: int):
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def read(self, n: int = -1) -> bytes:
        return os.read(self.fd, n if n >= 0 else 1 << 30)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


# ---------------------------------------------------------------- the checkout

class _Checkout:
    def __init__(self, repo, opts: CheckoutOptions):
        if opts.overwrite not in OVERWRITE_MODES:
            raise ValueError(f"unknown overwrite mode {opts.overwrite!r}")
        if opts.mode not in (MODE_NONE, MODE_USER):
            raise ValueError(f"unknown checkout mode {opts.mode!r}")
        self.repo = repo
        self.o = opts
        # a bare-user-only repo only makes sense in user mode
        self.user = opts.mode == MODE_USER or repo.mode == "bare-user-only"
        self.overwrite = opts.overwrite
        skip = opts.skip
        if skip is None:
            self.skip = None
        elif callable(skip):
            self.skip = skip
        else:
            skipset = frozenset(skip)
            self.skip = skipset.__contains__
        self.strip_selinux = opts.strip_selinux_xattrs or opts.selinux_policy is not None
        self._progress = opts.progress
        self._n_done = 0
        self._dirmeta: dict[str, DirMeta] = {}
        self._chain: list[_RepoLink] = []
        self._cache_fd = -1
        self._tmp_fd = -1
        self._repo_dev = None
        self.can_cache = False
        self._fast = None
        self._lock = threading.Lock()
        self._pool = None
        # Files that must be copied (or unpacked) go to a few threads, which
        # overlap their I/O and decompression; only when nothing in a
        # directory can depend on the order files are placed in.
        # Not with require_hardlinks: everything is hardlinked in the walk, and an
        # object that cannot be must stop it where the reference stops.
        self._parallel = (opts.overwrite == OVERWRITE_NONE and not opts.process_whiteouts
                          and not opts.process_passthrough_whiteouts and not opts.require_hardlinks
                          and _THREADS > 1)

    # -------------------------------------------------------------- setup/teardown
    def _setup(self):
        r = self.repo
        while r is not None:
            self._chain.append(_RepoLink(r))
            r = r.parent
        repo = self.repo
        self.can_cache = bool(self.o.enable_uncompressed_cache and _repo_cache_enabled(repo))
        if self.can_cache and repo.mode == "archive":
            try:
                self._cache_fd = os.open(os.path.join(repo.path, UNCOMPRESSED_CACHE_DIR), _DIR_FLAGS)
            except FileNotFoundError:
                self._cache_fd = -1
            except OSError as e:
                raise CheckoutError(f"opendir({UNCOMPRESSED_CACHE_DIR}): {strerror(e)}") from None
        if self.o.require_hardlinks:
            self._repo_dev = os.stat(repo.path).st_dev
        self._fast = self._fast_link_fn()

    def _close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        for link in self._chain:
            link.close()
        for fd in (self._cache_fd, self._tmp_fd):
            if fd >= 0:
                os.close(fd)
        self._cache_fd = self._tmp_fd = -1

    def _repo_tmp_fd(self) -> int:
        with self._lock:
            if self._tmp_fd < 0:
                self._tmp_fd = os.open(self.repo.tmp_dir, _DIR_FLAGS)
            return self._tmp_fd

    # -------------------------------------------------------------- entry
    def run(self, source, dest: str, parent_fd: int) -> bool:
        try:
            self._setup()
            repo = self.repo
            if isinstance(source, str):
                commit = repo.load_commit(source)
                tree, meta = commit.root_tree, commit.root_meta
            else:
                tree, meta = source
            subpath = self.o.subpath or ""
            if subpath == "/":
                kind, name = "dir", "/"
            else:
                try:
                    kind, tree, meta, name = resolve_subpath(repo, tree, meta, subpath)
                except CheckoutError as e:
                    if self.o.allow_noent and e.message.startswith("No such file or directory"):
                        return False
                    raise
            if kind == "file":
                self._checkout_single_file(parent_fd, dest, tree, name)
            else:
                self._checkout_dir_tree(parent_fd, dest, tree, meta)
            return True
        finally:
            self._close()
            os.close(parent_fd)

    def _checkout_single_file(self, parent_fd: int, dest: str, csum: str, name: str) -> None:
        # The reference makes the destination directory (0700, may exist)
        # unless it is ".", then checks the file out inside it, unfiltered.
        if dest == ".":
            dfd = os.dup(parent_fd)
        else:
            try:
                os.mkdir(dest, 0o700, dir_fd=parent_fd)
            except FileExistsError:
                pass
            except OSError as e:
                raise CheckoutError(f"mkdirat: {strerror(e)}") from None
            try:
                dfd = os.open(dest, _DIR_FLAGS, dir_fd=parent_fd)
            except OSError as e:
                raise CheckoutError(f"opendir({dest}): {strerror(e)}") from None
        try:
            self.skip = None
            self._file(dfd, name, csum, None)
        finally:
            os.close(dfd)

    # -------------------------------------------------------------- directories
    def _load_dirmeta(self, csum: str) -> DirMeta:
        m = self._dirmeta.get(csum)
        if m is None:
            m = self._dirmeta[csum] = self.repo.load_dirmeta(csum)
        return m

    def _open_dir(self, parent_fd: int, name: str, meta: DirMeta, dirtree, is_root: bool):
        """mkdir + open one directory; returns (fd, did_exist)."""
        o = self.o
        if o.process_whiteouts and any(n == OPAQUE_WHITEOUT_NAME for n, _ in dirtree.files):
            rm_rf_at(parent_fd, name)
        did_exist = False
        try:
            os.mkdir(name, 0o700, dir_fd=parent_fd)
        except FileExistsError:
            if self.overwrite == OVERWRITE_NONE:
                raise CheckoutError("mkdirat: File exists") from None
            did_exist = True
        except OSError as e:
            raise CheckoutError(f"mkdirat: {strerror(e)}") from None
        try:
            # the destination the caller named may be reached through
            # symlinks; nothing inside the checkout is
            fd = os.open(name, _DIR_FLAGS if is_root else _NOFOLLOW_DIR_FLAGS, dir_fd=parent_fd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise CheckoutError(f"opendir({name}): Not a directory (refusing to follow a symlink "
                                    f"in the destination)") from None
            raise CheckoutError(f"opendir({name}): {strerror(e)}") from None
        try:
            if self._repo_dev is not None:
                dev = os.fstat(fd).st_dev
                if dev != self._repo_dev:
                    raise CheckoutError(f"Unable to do hardlink checkout across devices "
                                        f"(src={self._repo_dev} destination={dev})")
            if not did_exist and not self.user and meta.xattrs:
                xattrs = meta.xattrs
                if self.strip_selinux:
                    xattrs = [x for x in xattrs if x[0] != b"security.selinux"]
                _set_xattrs_fd(fd, xattrs)
        except BaseException:
            os.close(fd)
            raise
        return fd, did_exist

    def _finish_dir(self, fd: int, meta: DirMeta, did_exist: bool) -> None:
        """Mode, owner and mtime, applied once the children are in place."""
        try:
            if not did_exist:
                mode = meta.mode
                if self.repo.mode == "bare-user-only" or self.o.bareuseronly_dirs:
                    mode = (mode & 0o775) | stat.S_IFDIR
                try:
                    os.fchmod(fd, stat.S_IMODE(mode))
                except OSError as e:
                    raise CheckoutError(f"fchmod: {strerror(e)}") from None
                if not self.user:
                    try:
                        os.fchown(fd, meta.uid, meta.gid)
                    except OSError as e:
                        raise CheckoutError(f"fchown: {strerror(e)}") from None
                if not self.o.force_copy:
                    _set_mtime_zero(fd)
            if self.o.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def _checkout_dir_tree(self, parent_fd: int, dest: str, tree: str, meta_csum: str) -> None:
        """Depth-first without recursion: each stack frame is one open directory.

        The copies of a directory's files run on the pool while the walk goes
        on; a directory left by the walk waits in ``done`` (oldest first, so
        children before parents) until its copies have finished, and only then
        gets its mode and mtime and is closed. At most _MAX_UNFINISHED wait.
        """
        skip = self.skip
        if skip is not None and skip("/"):
            return
        repo = self.repo
        dt = repo.load_dirtree(tree)
        meta = self._load_dirmeta(meta_csum)
        fd, did_exist = self._open_dir(parent_fd, dest, meta, dt, True)
        # frame: [fd, meta, did_exist, iterator over subdirs, path, dirtree checksum,
        #         pending copies, preorder number]
        stack = [[fd, meta, did_exist, None, "/", tree, None, 0]]
        on_stack = {tree}   # the dirtree checksums of ``stack``
        done = deque()
        limit = _MAX_UNFINISHED if self._parallel else 0
        seq = 0
        try:
            stack[-1][6] = self._files(fd, dt.files, "/")
            stack[-1][3] = iter(dt.dirs)
            while stack:
                frame = stack[-1]
                nxt = next(frame[3], None)
                if nxt is None:
                    frame.append(seq)   # [8]: the last preorder number of its subtree
                    done.append(stack.pop())
                    on_stack.discard(frame[5])
                    if len(done) > limit:
                        self._finish_frame(done[0])
                        done.popleft()
                    continue
                name, sub_tree, sub_meta = nxt
                validate_filename(name)
                path = None
                if skip is not None:
                    path = frame[4] + name + "/"
                    if skip(path):
                        continue
                if sub_tree in on_stack:
                    # only possible with objects whose content does not match their
                    # name; following it would create directories without end
                    raise CheckoutError(f"Corrupted dirtree object {sub_tree}: it contains itself "
                                        f"(at directory {name})")
                sdt = repo.load_dirtree(sub_tree)
                smeta = self._load_dirmeta(sub_meta)
                sfd, sexist = self._open_dir(frame[0], name, smeta, sdt, False)
                seq += 1
                stack.append([sfd, smeta, sexist, iter(()), path, sub_tree, None, seq])
                on_stack.add(sub_tree)
                stack[-1][6] = self._files(sfd, sdt.files, path)
                stack[-1][3] = iter(sdt.dirs)
            while done:
                self._finish_frame(done[0])
                done.popleft()
        except BaseException as e:
            # No copy may still use a directory fd once it is closed: wait for them all,
            # and report the failure a sequential checkout would have met first (a
            # directory is finished after its subtree, before what follows it).
            frames = list(stack) + list(done)
            first = self._drain(frames, getattr(e, "_checkout_before", None))
            for frame in frames:
                if frame[0] >= 0:
                    with contextlib.suppress(OSError):
                        os.close(frame[0])
            if first is not None and first is not e and isinstance(e, Exception):
                raise first from None
            raise

    def _finish_frame(self, frame) -> None:
        """Wait for a finished directory's copies, then give it its mode and mtime."""
        pending = frame[6]
        if pending is not None:
            err = self._first_error(pending, frame[7])
            if err is not None:
                raise err[1]   # frame[6] stays for _drain
            frame[6] = None
        fd, frame[0] = frame[0], -1
        try:
            self._finish_dir(fd, frame[1], frame[2])
        except Exception as e:
            e._checkout_before = frame[8]
            raise

    def _drain(self, frames, before=None):
        """Wait for the copies of ``frames``; the error first in dirtree order (among
        directories numbered up to ``before``, when given), or None."""
        errors = []
        for frame in frames:
            if frame[6] is not None:
                for f in frame[6][0]:
                    f.cancel()
        for frame in frames:
            if frame[6] is not None:
                err = self._first_error(frame[6], frame[7])
                if err is not None and (before is None or frame[7] <= before):
                    errors.append(err)
        return min(errors, key=lambda x: x[0])[1] if errors else None

    @staticmethod
    def _first_error(pending, seq):
        """Wait for one directory's copies: ((seq, index), error) of its first failure, or None."""
        futures, rest = pending
        errors = []
        for f in futures:
            if f.cancelled():
                continue
            e = f.exception()
            if e is not None:
                errors.append(e)
        if not errors:
            return None
        # the failure of the first file in dirtree order, as a sequential checkout would report
        order = {name: i for i, (name, _) in enumerate(rest)}
        e = min(errors, key=lambda e: order.get(getattr(e, "_checkout_name", ""), 0))
        return (seq, order.get(getattr(e, "_checkout_name", ""), 0)), e

    # -------------------------------------------------------------- files
    def _files(self, dfd: int, files, dirpath):
        """Place the files of one directory; copies go to the pool: returns
        (futures, files) for _finish_frame to wait on, or None."""
        if self._progress is not None:
            self._n_done += len(files) + 1
            self._progress(self._n_done)
        skip = self.skip
        fast = self._fast
        parallel = self._parallel
        if skip is None and fast is not None and parallel:
            # the common case (e.g. checkout -U): what the fast path leaves goes to the pool
            rest = [entry for entry in files if not fast(dfd, entry[0], entry[1])]
        else:
            rest = self._files_in_order(dfd, files, dirpath, skip, fast, parallel)
        return self._launch(dfd, rest) if rest else None

    def _files_in_order(self, dfd: int, files, dirpath, skip, fast, parallel) -> list:
        """_files one by one: each file placed (or, ``parallel``, listed) before the next."""
        rest = []
        for name, csum in files:
            if skip is not None and skip(dirpath + name):
                continue
            if fast is not None and fast(dfd, name, csum):
                continue
            if parallel:
                rest.append((name, csum))
            else:
                self._file(dfd, name, csum, None)
        return rest

    def _launch(self, dfd: int, rest):
        """Copy ``rest`` on the pool, in a few batches per thread (per-task overhead stays
        small): (futures, rest)."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="checkout")
        n = 1 if len(rest) < _MIN_PARALLEL else min(len(rest), _THREADS * 4)
        batches = [rest[i::n] for i in range(n)]
        return [self._pool.submit(self._file_batch, dfd, b) for b in batches], rest

    def _file_batch(self, dfd: int, batch) -> None:
        for name, csum in batch:
            try:
                self._file(dfd, name, csum, None)
            except BaseException as e:
                e._checkout_name = name
                raise

    def _fast_link_fn(self):
        """A fast path for the common cases, or None.

        It returns True when the file was put in place (hardlinked, in user
        mode also a symlink or empty file) and False when the general path
        must decide (zero-sized, symlink in a user repo, missing from this
        repo, already existing, an overlayfs whiteout, ...).
        """
        fast = self._fast_fn()
        if fast is None or not self.o.process_passthrough_whiteouts:
            return fast
        # admin deploy's checkout: only names with the prefix are whiteouts
        prefix = OVERLAYFS_WHITEOUT_PREFIX

        def fast_unless_whiteout(dfd, name, csum):
            return not name.startswith(prefix) and fast(dfd, name, csum)
        return fast_unless_whiteout

    def _fast_fn(self):
        o = self.o
        if o.force_copy or o.process_whiteouts or not self._chain:
            return None
        first = self._chain[0]
        devino = o.devino_cache
        if first.mode == "bare" and not self.user and first.objects_fd >= 0:
            ofd = first.objects_fd

            def fast(dfd, name, csum):
                rel = f"{csum[:2]}/{csum[2:]}.file"
                try:
                    st = os.stat(rel, dir_fd=ofd, follow_symlinks=False)
                except OSError:
                    return False
                if stat.S_ISREG(st.st_mode) and st.st_size == 0:
                    return False
                try:
                    os.link(rel, name, src_dir_fd=ofd, dst_dir_fd=dfd, follow_symlinks=False)
                except OSError:
                    return False
                if devino is not None:
                    devino[(st.st_dev, st.st_ino)] = csum
                return True
            return fast
        if first.usermode and self.user and first.objects_fd >= 0:
            return self._fast_user_link_fn(first, devino, o.fsync)
        if first.mode == "archive" and self.user and self.can_cache:
            def fast(dfd, name, csum):
                cfd = self._cache_fd
                if cfd < 0:
                    return False
                rel = f"{csum[:2]}/{csum[2:]}.file"
                try:
                    os.link(rel, name, src_dir_fd=cfd, dst_dir_fd=dfd, follow_symlinks=False)
                except OSError:
                    return False
                if devino is not None:
                    st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                    devino[(st.st_dev, st.st_ino)] = csum
                return True
            return fast
        return None

    @staticmethod
    def _fast_user_link_fn(first: "_RepoLink", devino, fsync: bool):
        """The fast path of a user-mode checkout from a bare-user(-only) repo (checkout -U).

        A few system calls a file, in the walk rather than on the copy threads
        (whose GIL hand-offs cost more than these calls). A bare-user object is
        opened for its size and user.ostreemeta (open, fstat, fgetxattr, close:
        half the time of a stat and a getxattr by path), then hardlinked; a
        bare-user symlink (a regular file holding the target, which
        user.ostreemeta says is a symlink) is read and made a symlink; a
        zero-sized file (never hardlinked) becomes an empty file with its mode.
        An object whose mode lacks u+r, and any failure (e.g. the name exists),
        are left to the general path.
        """
        ofd = first.objects_fd
        bare_user = first.mode == "bare-user"
        # user.ostreemeta value -> its mode, or None when the general path must decide;
        # most files share a few values
        modes: dict[bytes, int | None] = {}
        S_ISREG, S_ISLNK, S_IRUSR = stat.S_ISREG, stat.S_ISLNK, stat.S_IRUSR
        # O_NONBLOCK: a FIFO planted in the object store must not block the open
        read_flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        create_flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

        def fast(dfd, name, csum):
            rel = f"{csum[:2]}/{csum[2:]}.file"
            if bare_user:
                try:
                    fd = os.open(rel, read_flags, dir_fd=ofd)
                except OSError:
                    return False
                try:
                    st = os.fstat(fd)
                    if not S_ISREG(st.st_mode):
                        return False
                    meta = os.getxattr(fd, "user.ostreemeta")
                    try:
                        mode = modes[meta]
                    except KeyError:
                        try:
                            mode = parse_bareuser_meta(meta)[2]
                        except OstreeError:
                            return False
                        if not ((S_ISREG(mode) and mode & S_IRUSR) or S_ISLNK(mode)):
                            mode = None
                        modes[meta] = mode
                    if mode is None:
                        return False
                    if S_ISLNK(mode):
                        # as _probe_bare_user_copy and _copy_symlink: the target is read as
                        # a C string; a user-mode checkout sets no owner or xattrs on it
                        target = os.pread(fd, 65536, 0).split(b"\0", 1)[0]
                        os.symlink(target.decode("utf-8", "surrogateescape"), name, dir_fd=dfd)
                        return True
                except OSError:
                    return False
                finally:
                    os.close(fd)
            else:
                try:
                    st = os.stat(rel, dir_fd=ofd, follow_symlinks=False)
                except OSError:
                    return False
                mode = st.st_mode
                if not S_ISREG(mode) or not mode & S_IRUSR:
                    return False
            if st.st_size == 0:
                # as _copy_regular in user mode: the mode without setuid/setgid
                if fsync:
                    return False
                try:
                    fd = os.open(name, create_flags, 0o600, dir_fd=dfd)
                except OSError:
                    return False
                try:
                    os.fchmod(fd, stat.S_IMODE(mode) & ~(stat.S_ISUID | stat.S_ISGID))
                except OSError:
                    os.close(fd)
                    with contextlib.suppress(OSError):
                        os.unlink(name, dir_fd=dfd)
                    return False
                os.close(fd)
                return True
            try:
                os.link(rel, name, src_dir_fd=ofd, dst_dir_fd=dfd, follow_symlinks=False)
            except OSError:
                return False
            if devino is not None:
                devino[(st.st_dev, st.st_ino)] = csum
            return True
        return fast

    def _probe(self, csum: str) -> _SrcInfo:
        """Type, mode, owner and size of a content object, without reading its bytes.

        An archive object has to be opened for its header; the open
        (FileInfo, stream) is kept in ``src.loaded`` for a copy to use.
        """
        for link in self._chain:
            r = link.repo
            p = r.object_path("file", csum)
            try:
                if link.mode == "archive":
                    info, stream = r.load_file_at(p, csum)
                    src = _SrcInfo(info.mode, info.uid, info.gid, info.size, info.symlink_target, info.xattrs)
                    src.loaded = (info, stream)
                    return src
                if link.mode == "bare-user" and not self.user and link.objects_fd >= 0:
                    # a normal-mode checkout copies every object of a bare-user repo:
                    # open it once for its metadata and the copy
                    src = self._probe_bare_user_copy(link.objects_fd, csum)
                    if src is not None:
                        return src
                    info, stream = r.load_file_at(p, csum)  # raises the proper error
                    src = _SrcInfo(info.mode, info.uid, info.gid, info.size, info.symlink_target, info.xattrs)
                    src.loaded = (info, stream)
                    return src
                st = os.lstat(p)
                if link.mode == "bare-user":
                    try:
                        meta = os.getxattr(p, "user.ostreemeta", follow_symlinks=False)
                    except OSError:
                        info, stream = r.load_file_at(p, csum)  # raises the proper error
                        src = _SrcInfo(info.mode, info.uid, info.gid, info.size, info.symlink_target, info.xattrs)
                        src.loaded = (info, stream)
                        return src
                    uid, gid, mode, xattrs = parse_bareuser_meta(meta)
                    return _SrcInfo(mode, uid, gid, 0 if stat.S_ISLNK(mode) else st.st_size, "", xattrs)
                if link.mode == "bare-user-only":
                    return _SrcInfo(st.st_mode, 0, 0, 0 if stat.S_ISLNK(st.st_mode) else st.st_size)
                return _SrcInfo(st.st_mode, st.st_uid, st.st_gid, 0 if stat.S_ISLNK(st.st_mode) else st.st_size)
            except FileNotFoundError:
                continue
        raise ObjectNotFoundError(f"Couldn't find file object '{csum}'")

    @staticmethod
    def _probe_bare_user_copy(objects_fd: int, csum: str) -> "_SrcInfo | None":
        """_probe of a bare-user object to be copied, with the object left open for the copy
        (one open, fstat and fgetxattr instead of two of each); None if it is not a regular
        file with a readable user.ostreemeta (the general loader then reports the problem)."""
        try:
            fd = os.open(_bare_relpath(csum), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=objects_fd)
        except FileNotFoundError:
            raise   # _probe tries the next repo of the chain
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                os.close(fd)
                return None
            meta = os.getxattr(fd, "user.ostreemeta")
        except OSError:
            os.close(fd)
            return None
        uid, gid, mode, xattrs = parse_bareuser_meta(meta)
        if stat.S_ISLNK(mode):
            # the target is read as a C string: up to the first NUL
            target = os.pread(fd, 65536, 0).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            os.close(fd)
            src = _SrcInfo(mode, uid, gid, 0, target, xattrs)
            src.loaded = (FileInfo(mode, uid, gid, 0, target, xattrs), None)
            return src
        if not stat.S_ISREG(mode):
            os.close(fd)
            return None
        os.set_blocking(fd, True)
        src = _SrcInfo(mode, uid, gid, st.st_size, "", xattrs)
        src.loaded = (FileInfo(mode, uid, gid, st.st_size, "", xattrs), _ObjectFd(fd))
        return src

    def _file(self, dfd: int, name: str, csum: str, _path) -> None:
        """Place one content object as ``name`` in ``dfd`` (checkout_one_file_at)."""
        src = self._probe(csum)
        try:
            self._file_with(dfd, name, csum, src)
        finally:
            if src.loaded is not None and src.loaded[1] is not None:
                src.loaded[1].close()

    def _file_with(self, dfd: int, name: str, csum: str, src: "_SrcInfo") -> None:
        validate_filename(name)
        o = self.o
        is_symlink = stat.S_ISLNK(src.mode)
        if not is_symlink and o.process_whiteouts and name.startswith(WHITEOUT_PREFIX):
            target = name[len(WHITEOUT_PREFIX):]
            if not target:
                raise CheckoutError(f"Invalid empty whiteout '{target}'")
            if target in (".", ".."):
                # ".wh..." would remove the parent directory, outside the checkout
                raise CheckoutError(f"Invalid whiteout '{name}': it names '{target}'")
            rm_rf_at(dfd, target)
            return
        if not is_symlink and o.process_passthrough_whiteouts and name.startswith(OVERLAYFS_WHITEOUT_PREFIX):
            target = name[len(OVERLAYFS_WHITEOUT_PREFIX):]
            if not target:
                raise CheckoutError(f"Invalid empty overlayfs whiteout '{target}'")
            if target in (".", ".."):
                raise CheckoutError(f"Invalid overlayfs whiteout '{name}': it names '{target}'")
            self._overlayfs_whiteout(dfd, target, src, csum)
            return
        is_zero = not is_symlink and src.size == 0
        unreadable = self.user and not is_symlink and not (src.mode & stat.S_IRUSR)
        need_copy = True
        if is_zero or unreadable:
            pass
        elif not o.force_copy:
            res = _NOT_SUPPORTED
            for link in self._chain:
                hardlinkable = (link.mode == "bare" and not self.user) or (link.usermode and self.user)
                archive_cache = link.mode == "archive" and self.user and link is self._chain[0] and self.can_cache
                bare_user_symlink = link.usermode and is_symlink
                if o.require_hardlinks and not hardlinkable and not bare_user_symlink:
                    raise CheckoutError("User repository mode requires user checkout mode to hardlink"
                                        if link.usermode else
                                        "Bare repository mode cannot hardlink in user checkout mode")
                if hardlinkable and not bare_user_symlink:
                    res = self._hardlink(link.objects_fd, csum, dfd, name, True)
                elif archive_cache:
                    res = self._hardlink(self._cache_fd, csum, dfd, name, True)
                else:
                    continue
                if res != _NOT_SUPPORTED:
                    break
            need_copy = res == _NOT_SUPPORTED
        if (need_copy and self.can_cache and not is_symlink and not (is_zero or unreadable)
                and self.repo.mode == "archive" and self.user):
            try:
                self._unpack_to_cache(csum, src)
            except OstreeError as e:
                raise CheckoutError(f"Unpacking loose object {csum}: {e.message}") from None
            except OSError as e:
                raise CheckoutError(f"Unpacking loose object {csum}: {strerror(e)}") from None
            try:
                res = self._hardlink(self._cache_fd, csum, dfd, name, False)
            except OstreeError as e:
                raise CheckoutError(f"Using new cached uncompressed hardlink of {csum} to {name}: "
                                    f"{e.message}") from None
            need_copy = res == _NOT_SUPPORTED
        if need_copy:
            if unreadable:
                src.mode |= stat.S_IRUSR
            try:
                self._copy(dfd, name, csum, src)
            except CheckoutError as e:
                raise CheckoutError(f"Copy checkout of {csum} to {name}: {e.message}") from None

    def _hardlink(self, srcfd: int, csum: str, dfd: int, name: str, allow_noent: bool) -> int:
        """checkout_file_hardlink: link the bare-form object into place, honouring the overwrite mode."""
        if srcfd < 0:
            return _NOT_SUPPORTED
        loose = _bare_relpath(csum)
        try:
            os.link(loose, name, src_dir_fd=srcfd, dst_dir_fd=dfd, follow_symlinks=False)
            res = _LINKED
        except OSError as e:
            err = e.errno
            if not self.o.require_hardlinks and err in (errno.EMLINK, errno.EXDEV, errno.EPERM):
                return _NOT_SUPPORTED
            if allow_noent and err == errno.ENOENT:
                return _NOT_SUPPORTED
            if err != errno.EEXIST:
                raise CheckoutError(f"Hardlinking {loose} to {name}: {strerror(e)}") from None
            ow = self.overwrite
            if ow == OVERWRITE_NONE:
                raise CheckoutError(f"Hardlinking {loose} to {name}: File exists") from None
            if ow == OVERWRITE_ADD_FILES:
                return _SKIP_EXISTED
            src_st = os.stat(loose, dir_fd=srcfd, follow_symlinks=False)
            dst_st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            identical = src_st.st_dev == dst_st.st_dev and src_st.st_ino == dst_st.st_ino
            if not identical and _stbuf_equal(src_st, dst_st):
                identical = self._dest_checksum(dfd, name, dst_st) == csum
            if identical:
                return _SKIP_EXISTED
            if ow == OVERWRITE_UNION_IDENTICAL:
                raise CheckoutError(f"Hardlinking {loose} to {name}: File exists") from None
            # union: link under a temporary name, then rename over the old file
            tmpfd = self._repo_tmp_fd()
            for _ in range(128):
                tmpname = _tmp_name("checkout-union-")
                try:
                    os.link(loose, tmpname, src_dir_fd=srcfd, dst_dir_fd=tmpfd, follow_symlinks=False)
                    break
                except FileExistsError:
                    continue
                except OSError as e2:
                    raise CheckoutError(f"linkat: {strerror(e2)}") from None
            else:
                raise CheckoutError("Exhausted attempts to make temporary hardlink")
            if self.o.process_whiteouts:
                rm_rf_at(dfd, name)
            try:
                os.rename(tmpname, name, src_dir_fd=tmpfd, dst_dir_fd=dfd)
            except OSError as e2:
                with contextlib.suppress(OSError):
                    os.unlink(tmpname, dir_fd=tmpfd)
                raise CheckoutError(f"renameat({tmpname}, {name}): {strerror(e2)}") from None
            res = _LINKED
        devino = self.o.devino_cache
        if res == _LINKED and devino is not None:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            devino[(st.st_dev, st.st_ino)] = csum
        return res

    def _dest_checksum(self, dfd: int, name: str, st) -> str:
        repo = self.repo
        return checksum_file_at(dfd, name, st,
                                ignore_xattrs=repo.disable_xattrs or repo.mode == "bare-user-only",
                                canonical_permissions=repo.mode == "bare-user-only")

    def _unpack_to_cache(self, csum: str, src: _SrcInfo) -> None:
        """Inflate an archive object into uncompressed-objects-cache/XX/YYY.file."""
        repo = self.repo
        info, stream = self._take_loaded(csum, src)
        tmpdir = repo.tmp_dir
        tmp = os.path.join(tmpdir, _tmp_name("checkout-cache-"))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                _write_stream(stream, fd)
            finally:
                stream.close()
            if repo.fsync:
                os.fsync(fd)
            os.fchmod(fd, stat.S_IMODE(info.mode) & ~(stat.S_ISUID | stat.S_ISGID))
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.close(fd)
        try:
            with self._lock:
                if self._cache_fd < 0:
                    cache = os.path.join(repo.path, UNCOMPRESSED_CACHE_DIR)
                    os.makedirs(cache, 0o775, exist_ok=True)
                    self._cache_fd = os.open(cache, _DIR_FLAGS)
            try:
                os.mkdir(csum[:2], 0o775, dir_fd=self._cache_fd)
            except FileExistsError:
                pass
            try:
                os.link(tmp, _bare_relpath(csum), dst_dir_fd=self._cache_fd)
            except FileExistsError:
                pass
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _take_loaded(self, csum: str, src: "_SrcInfo"):
        """The (FileInfo, stream) of the object: the one _probe opened, else a fresh load."""
        if src.loaded is not None:
            loaded, src.loaded = src.loaded, None
            return loaded
        return self.repo.load_file(csum)

    # -------------------------------------------------------------- copies
    def _copy(self, dfd: int, name: str, csum: str, src: _SrcInfo) -> None:
        """create_file_copy_from_input_at: write a fresh copy of the object."""
        info, stream = self._take_loaded(csum, src)
        try:
            xattrs = info.xattrs
            if self.strip_selinux:
                xattrs = [x for x in xattrs if x[0] != b"security.selinux"]
            if info.is_symlink:
                self._copy_symlink(dfd, name, info, xattrs)
            else:
                self._copy_regular(dfd, name, csum, info, stream, xattrs, src.mode)
        finally:
            if stream is not None:
                stream.close()

    def _copy_symlink(self, dfd: int, name: str, info: FileInfo, xattrs) -> None:
        target = info.symlink_target
        try:
            os.symlink(target, name, dir_fd=dfd)
        except FileExistsError:
            ow = self.overwrite
            if ow == OVERWRITE_NONE:
                raise CheckoutError("symlinkat: File exists") from None
            if ow == OVERWRITE_ADD_FILES:
                return
            if ow == OVERWRITE_UNION_IDENTICAL:
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode) and os.readlink(name, dir_fd=dfd) == target:
                    return
                raise CheckoutError("symlinkat: File exists") from None
            # union
            if self.o.process_whiteouts:
                rm_rf_at(dfd, name)
            else:
                try:
                    os.unlink(name, dir_fd=dfd)
                except FileNotFoundError:
                    pass
                except OSError as e:
                    raise CheckoutError(f"unlinkat({name}): {strerror(e)}") from None
            try:
                os.symlink(target, name, dir_fd=dfd)
            except OSError as e:
                raise CheckoutError(f"symlinkat: {strerror(e)}") from None
            # the reference returns here: a replaced symlink keeps our ownership
            return
        except OSError as e:
            raise CheckoutError(f"symlinkat: {strerror(e)}") from None
        if not self.user:
            try:
                os.chown(name, info.uid, info.gid, dir_fd=dfd, follow_symlinks=False)
            except OSError as e:
                raise CheckoutError(f"fchownat: {strerror(e)}") from None
            if xattrs:
                _set_xattrs_at(dfd, name, xattrs)

    def _copy_regular(self, dfd: int, name: str, csum: str, info: FileInfo, stream, xattrs, mode: int) -> None:
        ow = self.overwrite
        whiteouts = self.o.process_whiteouts
        replace = False
        if ow == OVERWRITE_UNION_IDENTICAL:
            try:
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None:
                if self._dest_checksum(dfd, name, st) == csum:
                    return
                raise CheckoutError("linkat: File exists")
        elif ow == OVERWRITE_UNION_FILES:
            if whiteouts:
                rm_rf_at(dfd, name)
            else:
                replace = True
        # Write under the final name when nothing may be replaced (O_EXCL never
        # follows a symlink); to replace, write a temporary and rename it over.
        target = _tmp_name("tmp.") if replace else name
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=dfd)
        except FileExistsError:
            if ow == OVERWRITE_ADD_FILES:
                return
            raise CheckoutError("linkat: File exists") from None
        except OSError as e:
            raise CheckoutError(f"openat: {strerror(e)}") from None
        try:
            try:
                if not isinstance(stream, ArchiveReader):
                    _copy_fd(stream.fileno(), fd, info.size)
                else:
                    _write_stream(stream, fd)
            except OSError as e:
                raise CheckoutError(f"regfile copy: {strerror(e)}") from None
            if not self.user:
                try:
                    os.fchown(fd, info.uid, info.gid)
                except OSError as e:
                    raise CheckoutError(f"fchown: {strerror(e)}") from None
                if xattrs:
                    _set_xattrs_fd(fd, xattrs)
            fmode = stat.S_IMODE(mode)
            if self.user:
                fmode &= ~(stat.S_ISUID | stat.S_ISGID)
            try:
                os.fchmod(fd, fmode)
            except OSError as e:
                raise CheckoutError(f"fchmod: {strerror(e)}") from None
            if self.o.fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(target, dir_fd=dfd)
            raise
        os.close(fd)
        if replace:
            try:
                os.rename(target, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            except OSError as e:
                with contextlib.suppress(OSError):
                    os.unlink(target, dir_fd=dfd)
                raise CheckoutError(f"renameat(./{target}, {name}): {strerror(e)}") from None

    # -------------------------------------------------------------- overlayfs whiteouts
    def _overlayfs_whiteout(self, dfd: int, name: str, src: _SrcInfo, csum: str) -> None:
        """A ``.ostree-wh.NAME`` file becomes the 0:0 character device NAME."""
        xattrs = src.xattrs
        if xattrs is None and not self.user:
            info, stream = self.repo.load_file(csum)
            if stream is not None:
                stream.close()
            xattrs = info.xattrs
        try:
            self._mknod_whiteout(dfd, name, src, xattrs)
            return
        except FileExistsError:
            pass
        ow = self.overwrite
        if ow == OVERWRITE_NONE:
            raise CheckoutError("Creating whiteout char device: File exists")
        if ow == OVERWRITE_ADD_FILES:
            return
        if ow == OVERWRITE_UNION_FILES:
            try:
                os.unlink(name, dir_fd=dfd)
            except FileNotFoundError:
                pass
            except OSError as e:
                raise CheckoutError(f"unlinkat({name}): {strerror(e)}") from None
            try:
                self._mknod_whiteout(dfd, name, src, xattrs)
            except FileExistsError:
                raise CheckoutError("Creating whiteout char device: File exists") from None
            return
        # union-identical: what is there must be the same whiteout
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        repo = self.repo
        if not (repo.disable_xattrs or repo.mode == "bare-user-only"):
            if sorted(_read_xattrs_at(dfd, name)) != sorted(xattrs or []):
                raise CheckoutError(f"existing destination file {name} xattrs don't match")
        if not self.user:
            if src.gid != st.st_gid:
                raise CheckoutError(f"existing destination file {name} does not match gid {src.gid}")
            if src.uid != st.st_uid:
                raise CheckoutError(f"existing destination file {name} does not match uid {src.uid}")
            if (src.mode & 0o7777) != (st.st_mode & 0o7777):
                raise CheckoutError(f"existing destination file {name} does not match mode {src.mode:o}")

    def _mknod_whiteout(self, dfd: int, name: str, src: _SrcInfo, xattrs) -> None:
        perms = src.mode & 0o7777
        try:
            os.mknod(name, perms | stat.S_IFCHR, 0, dir_fd=dfd)
        except FileExistsError:
            raise
        except OSError as e:
            raise CheckoutError(f"Creating whiteout char device: {strerror(e)}") from None
        if not self.user:
            if xattrs:
                _set_xattrs_at(dfd, name, xattrs)
            try:
                os.chown(name, src.uid, src.gid, dir_fd=dfd, follow_symlinks=False)
            except OSError as e:
                raise CheckoutError(f"fchownat: {strerror(e)}") from None
            try:
                os.chmod(name, perms, dir_fd=dfd)
            except OSError as e:
                raise CheckoutError(f"fchmodat {name} to 0{perms:o}: {strerror(e)}") from None


def _repo_cache_enabled(repo) -> bool:
    """core.enable-uncompressed-cache (default true), and only in a writable repo."""
    cfg = repo.config
    enabled = True
    if cfg.has_key("core", "enable-uncompressed-cache"):
        enabled = cfg.get_boolean("core", "enable-uncompressed-cache", True)
    return enabled and os.access(repo.objects_dir, os.W_OK)


def checkout_gc(repo) -> int:
    """Delete uncompressed-cache objects no checkout links to any more; return how many."""
    cache = os.path.join(repo.path, UNCOMPRESSED_CACHE_DIR)
    removed = 0
    try:
        prefixes = os.listdir(cache)
    except FileNotFoundError:
        return 0
    for pre in prefixes:
        d = os.path.join(cache, pre)
        try:
            it = os.scandir(d)
        except NotADirectoryError:
            continue
        with it:
            for e in it:
                try:
                    if e.stat(follow_symlinks=False).st_nlink == 1:
                        os.unlink(e.path)
                        removed += 1
                except FileNotFoundError:
                    pass
    return removed


def selinux_policy_enabled(rootfs: str) -> str | None:
    """The SELinux policy type a root filesystem enables, or None (as OstreeSePolicy reads it).

    ``etc/selinux/config`` (else ``usr/etc/selinux/config``) enables a policy
    when SELINUX= is enforcing or permissive; SELINUXTYPE= names it.
    """
    etc = os.path.join(rootfs, "etc/selinux")
    if not os.path.exists(etc):
        etc = os.path.join(rootfs, "usr/etc/selinux")
    cfg = os.path.join(etc, "config")
    enabled, name = False, None
    try:
        with open(cfg, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CheckoutError(f"Opening {cfg}: {strerror(e)}") from None
    for line in lines:
        if line.startswith("SELINUXTYPE="):
            name = line[len("SELINUXTYPE="):].strip()
        elif line.startswith("SELINUX="):
            v = line[len("SELINUX="):].lower()
            if v.startswith("enforcing") or v.startswith("permissive"):
                enabled = True
    return (name or "") if enabled else None
