"""Repository consistency checks: ``ostree fsck`` and the per-object verifiers.

Every reachable object of every complete commit is re-read and re-hashed:
metadata objects are checked against their checksum and their structure
(normal form, checksum lengths, safe names, modes); content objects are
streamed through sha256 (and inflated, in archive repos) on a thread pool,
since hashlib and zlib release the GIL. Error texts are the reference's.

The checker reports through a ``reporter`` object with ``info(line)``
(stdout lines; --quiet is already applied), ``progress(done, total)`` and
``problem(line)`` (stderr lines); it never prints itself.
"""

import contextlib
import os
import stat
import struct
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from ostree_py.core import gvariant
from ostree_py.core.content import CHUNK, FileInfo, checksum_begin
from ostree_py.errors import GVariantError, InvalidObjectError, ObjectNotFoundError, OstreeError
from ostree_py.core.objects import (
    ARCHIVE_HEADER_TYPE,
    COMMIT_TYPE,
    DIRMETA_TYPE,
    DIRTREE_TYPE,
    OBJTYPES,
    xattrs_from_wire,
    parse_refspec,
)
from ostree_py.repo.traverse import Parents, key_parts, parse_commit_lenient, traverse_commit

# ---------------------------------------------------------------- structure checks

def validate_filename(name: str) -> None:
    """A dirtree entry name, with the reference's messages."""
    if name == ".":
        raise InvalidObjectError("Invalid self-referential filename '.'")
    if name == "..":
        raise InvalidObjectError("Invalid path uplink filename '..'")
    if "/" in name:
        raise InvalidObjectError(f"Invalid / in filename {name}")


def _check_csum(raw: bytes) -> None:
    if len(raw) != 32:
        raise InvalidObjectError(f"Invalid checksum of length {len(raw)} expected 32")


def _check_mode_perms(mode: int) -> None:
    if mode & ~(0o170000 | 0o7777):
        raise InvalidObjectError(f"Invalid mode {mode}; invalid bits in mode")


def validate_file_mode(mode: int) -> None:
    """A content object's mode: a regular file or symlink with sane permission bits."""
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise InvalidObjectError(f"Invalid file metadata mode {mode}; not a valid file type")
    _check_mode_perms(mode)


def _normal_form(typ: str, data: bytes):
    try:
        value = gvariant.deserialize(typ, data)
    except GVariantError:
        raise InvalidObjectError("Not normal form") from None
    if gvariant.serialize(typ, value) != bytes(data):
        raise InvalidObjectError("Not normal form")
    return value


def validate_metadata_structure(objtype: str, data: bytes) -> None:
    """The checks ostree imposes on commit, dirtree and dirmeta objects beyond their checksum."""
    if objtype == "commit":
        md, parent, _rel, _s, _b, _ts, tree, meta = _normal_form(COMMIT_TYPE, data)
        for k in md:
            if not k:
                raise InvalidObjectError("Empty metadata key")
        if parent:
            _check_csum(parent)
        _check_csum(tree)
        _check_csum(meta)
    elif objtype == "dirtree":
        files, dirs = _normal_form(DIRTREE_TYPE, data)
        for name, c in files:
            validate_filename(name)
            _check_csum(c)
        for name, t, m in dirs:
            validate_filename(name)
            _check_csum(t)
            _check_csum(m)
    elif objtype == "dirmeta":
        _uid, _gid, mode, _x = _normal_form(DIRMETA_TYPE, data)
        mode = gvariant.bswap32(mode)
        if not stat.S_ISDIR(mode):
            raise InvalidObjectError(f"Invalid directory metadata mode {mode}; not a directory")
        _check_mode_perms(mode)


def verify_metadata(objtype: str, checksum: str, data: bytes) -> None:
    """Checksum and structure of a metadata object (pull's and fsck's check)."""
    import hashlib
    actual = hashlib.sha256(data).hexdigest()
    if actual != checksum:
        raise InvalidObjectError(
            f"Corrupted {OBJTYPES[objtype]} object; checksum expected='{checksum}' actual='{actual}'")
    try:
        validate_metadata_structure(objtype, data)
    except OstreeError as e:
        raise InvalidObjectError(f"{checksum}.{OBJTYPES[objtype]}: {e.message}") from None


def verify_bindings(collection_id: str | None, ref_name: str | None, metadata: dict) -> None:
    """Check a commit's ref/collection bindings against the ref it was reached by."""
    v = metadata.get("ostree.ref-binding")
    refs = v.value if isinstance(v, gvariant.Variant) and v.type == "as" else None
    if refs is None:
        if collection_id is None:
            return
        raise OstreeError("Expected commit metadata to have ref binding information, found none")
    if ref_name is not None and ref_name not in refs:
        listed = ", ".join(f"‘{r}’" for r in refs) if refs else "no refs"
        raise OstreeError(f"Commit has no requested ref ‘{ref_name}’ in ref binding metadata ({listed})")
    if collection_id is not None:
        c = metadata.get("ostree.collection-binding")
        if not (isinstance(c, gvariant.Variant) and c.type == "s"):
            raise OstreeError("Expected commit metadata to have collection ID binding information, found none")
        if c.value != collection_id:
            raise OstreeError(f"Commit has collection ID ‘{c.value}’ in collection binding metadata, "
                              f"while the remote it came from has collection ID ‘{collection_id}’")


# ---------------------------------------------------------------- per-object fsck

# the header of a plain regular file (see content.parse_archive_header)
_PLAIN_HEADER = struct.Struct(">QIIII")


def _archive_content_checksum(path: str) -> str:
    from ostree_py.repo import open_object_fd
    fd, st = open_object_fd(path)
    try:
        # Raw reads on the fd, sized to the object: a small object (most of a
        # tree) is one read, and no file object or buffered reader sits in between.
        size = st.st_size
        data = os.read(fd, min(size, CHUNK))
        remaining = size - len(data)
        head = data[:8]
        hlen = int.from_bytes(head[:4].ljust(4, b"\0"), "big")
        if hlen > size:
            raise InvalidObjectError(f"File header size {hlen} exceeds size {size}")
        if hlen == 0:
            raise InvalidObjectError("File header size is zero")
        while len(data) < 8 + hlen and remaining > 0:
            more = os.read(fd, min(remaining, CHUNK))
            if not more:
                break
            remaining -= len(more)
            data += more
        hdr = data[8:8 + hlen]
        if hlen == 26 and hdr[24:] == b"\0\x19":
            # no symlink target, no xattrs: decoded without the general GVariant decoder
            _size, uid, gid, mode, rdev = _PLAIN_HEADER.unpack_from(hdr)
            target, xattrs = "", []
        else:
            try:
                _size, uid, gid, mode, rdev, target, xattrs = gvariant.deserialize(ARCHIVE_HEADER_TYPE, hdr)
            except GVariantError:
                uid = gid = mode = rdev = 0
                target, xattrs = "", []
            uid, gid, mode, rdev = (gvariant.bswap32(v) for v in (uid, gid, mode, rdev))
            xattrs = xattrs_from_wire(xattrs)
        if rdev:
            raise InvalidObjectError(f"Corrupted archive file; invalid rdev {rdev}")
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            raise InvalidObjectError(f"Corrupted archive file; invalid mode {mode}")
        validate_file_mode(mode)
        info = FileInfo(mode, uid, gid, 0, target if stat.S_ISLNK(mode) else "", xattrs)
        h = checksum_begin(info)
        if stat.S_ISREG(mode):
            z = zlib.decompressobj(-15)
            chunk = data[8 + hlen:]
            try:
                while True:
                    if chunk:
                        h.update(z.decompress(chunk))
                        if z.eof:
                            break
                    if remaining <= 0:
                        break
                    # reads sized to what is left: a 256 KiB read of a tiny
                    # object costs more than the hashing
                    chunk = os.read(fd, min(remaining, CHUNK))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                h.update(z.flush())
            except zlib.error as e:
                raise InvalidObjectError(f"Corrupted archive file: {e}") from None
        return h.hexdigest()
    finally:
        os.close(fd)


def _hash_all(h, read, size: int) -> None:
    """Feed ``h`` everything ``read(n)`` returns, in reads sized to the ``size`` announced
    (a file that grew is still read to its end)."""
    remaining = size
    while True:
        chunk = read(min(remaining, CHUNK) if remaining > 0 else CHUNK)
        if not chunk:
            return
        remaining -= len(chunk)
        h.update(chunk)


def _bareuser_content_checksum(path: str, checksum: str) -> str:
    """content_object_checksum for a bare-user object, on the raw fd (as the archive one)."""
    from ostree_py.core.content import parse_bareuser_meta
    from ostree_py.repo import open_object_fd
    try:
        # of the path, not following a symlink (as Repo._load_file_at): a link planted
        # in the store must not lend the object another file's metadata
        meta = os.getxattr(path, "user.ostreemeta", follow_symlinks=False)
    except FileNotFoundError:
        raise ObjectNotFoundError(f"Couldn't find file object '{checksum}'") from None
    except OSError as e:
        raise InvalidObjectError(f"Opening content object {checksum}: "
                                 f"fgetxattr(user.ostreemeta): {e.strerror}") from None
    uid, gid, fmode, xattrs = parse_bareuser_meta(meta)
    fd, st = open_object_fd(path)
    try:
        if stat.S_ISLNK(fmode):
            # the target is read as a C string: up to the first NUL
            target = os.read(fd, 65536).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            validate_file_mode(fmode)
            return checksum_begin(FileInfo(fmode, uid, gid, 0, target, xattrs)).hexdigest()
        if not stat.S_ISREG(fmode):
            raise InvalidObjectError(f"Invalid mode in user.ostreemeta of {checksum}")
        validate_file_mode(fmode)
        h = checksum_begin(FileInfo(fmode, uid, gid, st.st_size, "", xattrs))
        _hash_all(h, lambda n: os.read(fd, n), st.st_size)
        return h.hexdigest()
    finally:
        os.close(fd)


def content_object_checksum(repo, checksum: str) -> str:
    """Recompute the checksum of the stored content object ``checksum`` (streaming)."""
    owner, path = repo.find_object("file", checksum)
    if owner.mode == "archive":
        return _archive_content_checksum(path)
    if owner.mode == "bare-user":
        return _bareuser_content_checksum(path, checksum)
    info, stream = owner.load_file_at(path, checksum)
    try:
        validate_file_mode(info.mode)
        h = checksum_begin(info)
        if stream is not None:
            _hash_all(h, stream.read, info.size)
        return h.hexdigest()
    finally:
        if stream is not None:
            stream.close()


def fsck_object(repo, objtype: str, checksum: str) -> None:
    """Verify one stored object; ObjectNotFoundError if absent, InvalidObjectError if bad."""
    if objtype == "file":
        prefix = f"fsck content object {checksum}: "
        try:
            actual = content_object_checksum(repo, checksum)
        except ObjectNotFoundError:
            raise
        except OstreeError as e:
            raise InvalidObjectError(prefix + e.message) from None
        except OSError as e:
            raise InvalidObjectError(prefix + (e.strerror or str(e))) from None
        if actual != checksum:
            raise InvalidObjectError(
                f"{prefix}Corrupted file object; checksum expected='{checksum}' actual='{actual}'")
        return
    prefix = f"fsck {checksum}.{OBJTYPES[objtype]}: "
    try:
        data = repo.load_metadata_bytes(objtype, checksum)
        verify_metadata(objtype, checksum, data)
    except ObjectNotFoundError:
        raise
    except OstreeError as e:
        raise InvalidObjectError(prefix + e.message) from None
    except OSError as e:
        raise InvalidObjectError(prefix + (e.strerror or str(e))) from None


# ---------------------------------------------------------------- the whole repo

class FsckOptions:
    """What ``ostree fsck`` was asked to do."""

    def __init__(self, quiet=False, delete=False, all=False, add_tombstones=False,
                 verify_bindings=False, verify_back_refs=False, threads=None):
        self.quiet = quiet
        self.delete = delete
        self.all = all
        self.add_tombstones = add_tombstones
        self.verify_bindings = verify_bindings or verify_back_refs
        self.verify_back_refs = verify_back_refs
        self.threads = threads or min(8, (os.cpu_count() or 1) * 2)


class NullReporter:
    """A reporter that drops everything (library use without a terminal)."""

    def info(self, line: str) -> None:
        pass

    def progress(self, done: int, total: int) -> None:
        pass

    def problem(self, line: str) -> None:
        pass


class _Checker:
    def __init__(self, repo, opts: FsckOptions, reporter):
        self.repo = repo
        self.opts = opts
        self.rep = reporter
        self.found_corruption = False
        self._parents: Parents | None = None
        self._commits: list[str] = []

    def parents_of(self, key: bytes) -> list[str]:
        if self._parents is None:
            # Built only once something is wrong: a second walk that records
            # who references what, so a clean fsck never pays for it.
            self._parents = Parents()
            reach: set = set()
            for c in self._commits:
                traverse_commit(self.repo, c, 0, reach, self._parents)
        return self._parents.commits(key)

    def handle_failure(self, objtype: str, checksum: str, err: OstreeError, key: bytes | None) -> None:
        """React to one object failing its check, as the reference's fsck_one_object does."""
        parent_commits = self.parents_of(key) if key is not None else None
        in_commits = ", ".join(parent_commits) if parent_commits is not None else None
        name = f"{checksum}.{OBJTYPES[objtype] if objtype != 'file' else 'file'}"
        missing = False
        if isinstance(err, ObjectNotFoundError):
            if in_commits is not None:
                self.rep.problem(f"Object missing in commits {in_commits}: {name}")
            else:
                self.rep.problem(f"Object missing: {name}")
            missing = True
        else:
            msg = err.message
            if in_commits is not None:
                msg = f"In commits {in_commits}: {msg}"
            if self.opts.delete:
                self.rep.problem(msg)
                self.repo.delete_object(objtype, checksum)
                missing = True
            elif self.opts.all:
                self.found_corruption = True
                self.rep.problem(msg)
            else:
                raise InvalidObjectError(msg)
        if missing:
            self.found_corruption = True
            if parent_commits and objtype != "commit":
                for pc in parent_commits:
                    if self.repo.commit_partial_reason(pc) is None:
                        self.rep.problem(f"Marking commit as partial: {pc}")
                        self.repo.mark_commit_partial(pc, True, fsck=True)

    def check_one(self, objtype: str, checksum: str, key: bytes | None) -> None:
        try:
            fsck_object(self.repo, objtype, checksum)
        except OstreeError as e:
            self.handle_failure(objtype, checksum, e, key)

    def commit_for_ref(self, checksum: str, collection_id: str | None, ref_name: str) -> None:
        self.check_one("commit", checksum, None)
        try:
            data = self.repo.load_metadata_bytes("commit", checksum)
        except OstreeError as e:
            if collection_id is not None:
                raise OstreeError(f"Loading commit for ref ({collection_id}, {ref_name}): {e.message}") from None
            raise OstreeError(f"Loading commit for ref {ref_name}: {e.message}") from None
        if self.opts.verify_bindings:
            md = parse_commit_lenient(data)[4]
            try:
                verify_bindings(collection_id, ref_name, md)
            except OstreeError as e:
                raise OstreeError(f"Commit {checksum}: {e.message}") from None

    def back_refs(self, checksum: str, md: dict) -> None:
        cb = md.get("ostree.collection-binding")
        cid = cb.value if isinstance(cb, gvariant.Variant) and cb.type == "s" else None
        rb = md.get("ostree.ref-binding")
        refs = rb.value if isinstance(rb, gvariant.Variant) and rb.type == "as" else []
        for ref in refs:
            if cid is not None:
                found = self.repo.list_collection_refs(cid).get((cid, ref))
            else:
                found = self.repo.resolve_rev(ref, allow_noent=True)
            if found is None:
                if cid is not None:
                    raise OstreeError(f"Collection–ref ({cid}, {ref}) in bindings for commit {checksum} does not exist")
                raise OstreeError(f"Ref ‘{ref}’ in bindings for commit {checksum} does not exist")
            if found != checksum:
                if cid is not None:
                    raise OstreeError(f"Collection–ref ({cid}, {ref}) in bindings for commit {checksum} "
                                      "does not resolve to that commit")
                raise OstreeError(f"Ref ‘{ref}’ in bindings for commit {checksum} does not resolve to that commit")

    def check_reachable(self, commits: list[str]) -> None:
        reachable: set = set()
        for c in commits:
            traverse_commit(self.repo, c, 0, reachable)
        total = len(reachable)
        if not total:
            return
        repo = self.repo

        def check_chunk(chunk):
            # (key, error or None) for each object, in order
            out = []
            for k in chunk:
                csum, objtype = key_parts(k)
                try:
                    fsck_object(repo, objtype, csum)
                    out.append((k, None))
                except OstreeError as e:
                    out.append((k, e))
                except OSError as e:
                    out.append((k, InvalidObjectError(e.strerror or str(e))))
            return out

        def chunks(n=64):
            buf = []
            for k in reachable:
                buf.append(k)
                if len(buf) == n:
                    yield buf
                    buf = []
            if buf:
                yield buf

        procs = None
        n_procs = _n_processes(total)
        if n_procs > 1:
            from ostree_py.util.procpool import ProcPool

            def child_chunk(chunk):
                # in a worker process: the failures as (key, missing?, message), which pickle
                return [(k, isinstance(e, ObjectNotFoundError), e.message)
                        for k, e in check_chunk(chunk) if e is not None]

            procs = ProcPool(n_procs, child_chunk)

            def check_chunk_in_child(chunk):
                failed = {k: (ObjectNotFoundError if missing else InvalidObjectError)(msg)
                          for k, missing, msg in procs.call(chunk)}
                return [(k, failed.get(k)) for k in chunk]

        done = 0
        inflight = deque()
        source = chunks()
        threads = self.opts.threads if procs is None else 2 * n_procs
        work = check_chunk if procs is None else check_chunk_in_child
        with contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=threads) as pool:
            if procs is not None:
                stack.callback(procs.close)
            try:
                for chunk in source:
                    inflight.append(pool.submit(work, chunk))
                    if len(inflight) < threads * 4:
                        continue
                    done = self._consume(inflight.popleft().result(), done, total)
                while inflight:
                    done = self._consume(inflight.popleft().result(), done, total)
            finally:
                for fut in inflight:
                    fut.cancel()

    def _consume(self, results, done: int, total: int) -> int:
        for k, err in results:
            if err is not None:
                csum, objtype = key_parts(k)
                self.handle_failure(objtype, csum, err, k)
            done += 1
            self.rep.progress(done, total)
        return done


# Objects are checked by forked processes (procpool.py says why) when there are
# enough of them to pay for the forks: threads of one process contend for the
# GIL between the reads, inflates and hashes of small objects.
# OSTREE_PY_FSCK_PROCESSES sets how many (0: threads only); default one per CPU.
_PROCESSES_FROM = 2000


def _n_processes(total: int) -> int:
    if total < _PROCESSES_FROM:
        return 0
    from ostree_py.util.procpool import count_from_env
    return count_from_env("OSTREE_PY_FSCK_PROCESSES", os.cpu_count() or 1)


def fsck_repo(repo, opts: FsckOptions | None = None, reporter=None) -> int:
    """Check ``repo`` like ``ostree fsck``; return the number of commits verified.

    Raises OstreeError ("Repository corruption encountered", ...) when
    something is wrong; messages about individual objects go to the reporter.
    """
    opts = opts or FsckOptions()
    rep = reporter or NullReporter()
    chk = _Checker(repo, opts, rep)
    with repo.lock(exclusive=opts.delete or opts.add_tombstones):
        if not opts.quiet:
            rep.info("Validating refs...")
        for refspec, checksum in repo.list_refs().items():
            _remote, ref_name = parse_refspec(refspec)
            chk.commit_for_ref(checksum, None, ref_name)
        if not opts.quiet:
            rep.info("Validating refs in collections...")
        for (cid, ref_name), checksum in repo.list_collection_refs().items():
            chk.commit_for_ref(checksum, cid, ref_name)
        if not opts.quiet:
            rep.info("Enumerating commits...")
        tombstones = []
        n_partial = n_fsck_partial = 0
        commits = []
        for checksum, objtype in repo.iter_objects():
            if objtype != "commit":
                continue
            data = repo.load_metadata_bytes("commit", checksum)
            parent, _t, _m, _ts, md = parse_commit_lenient(data)
            if opts.verify_back_refs:
                chk.back_refs(checksum, md)
            if opts.add_tombstones and parent:
                pc = parent.hex() if len(parent) == 32 else None
                if pc is not None and not repo.has_object("commit", pc):
                    tombstones.append(checksum)
            reason = repo.commit_partial_reason(checksum)
            if reason is not None:
                n_partial += 1
                if reason == "fsck":
                    n_fsck_partial += 1
            else:
                commits.append(checksum)
        chk._commits = commits
        if not opts.quiet:
            rep.info(f"Verifying content integrity of {len(commits)} commit objects...")
        chk.check_reachable(commits)
        if opts.add_tombstones:
            if tombstones:
                from ostree_py.ops.prune import enable_tombstone_commits
                enable_tombstone_commits(repo)
            for c in tombstones:
                rep.info(f"Adding tombstone for commit {c}")
                repo.delete_object("commit", c)
        elif n_partial:
            rep.info(f"{n_partial} partial commits not verified")
        if chk.found_corruption:
            raise OstreeError("Repository corruption encountered")
        if n_fsck_partial:
            raise OstreeError(f"{n_partial} partial commits from fsck-detected corruption")
        rep.info(f"object fsck of {len(commits)} commits completed successfully - no errors found.")
        return len(commits)

