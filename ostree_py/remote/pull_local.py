"""Copying commits between repositories on this machine (``ostree pull-local``).

The walk is the reference pull's: each requested commit is imported (and
marked partial until the pull completes), its parents up to ``depth``, and
for a commit not already complete locally every dirtree, dirmeta and file
object below it. Objects are hardlinked when both repositories can share the
file (same owner and filesystem; same mode, or a metadata object, or the
bare-user -> bare-user-only case); otherwise they are re-encoded through the
destination's writer. With ``untrusted`` every object is verified (checksum
and structure) before it is used. Content objects are imported on a small
thread pool.
"""

import contextlib
import errno
import os
import stat
from concurrent.futures import ThreadPoolExecutor

from ostree_py.errors import InvalidObjectError, ObjectNotFoundError, OstreeError, RefNotFoundError
from ostree_py.ops.fsck import fsck_object, validate_filename, verify_bindings, verify_metadata
from ostree_py.core.objects import OBJTYPES, is_checksum, validate_ref
from ostree_py.repo.traverse import parse_commit_lenient


class PullStats:
    """What a pull imported: counts of metadata and content objects, and bytes written."""

    def __init__(self):
        self.metadata = 0
        self.content = 0
        self.content_bytes_written = 0

    def status(self) -> str:
        """The reference's closing line for a local pull."""
        from ostree_py.util.text import format_size
        return (f"{self.metadata} metadata, {self.content} content objects imported; "
                f"{format_size(self.content_bytes_written)} content written")


def validate_bareuseronly_mode(mode: int, checksum: str) -> None:
    """Refuse a regular file with mode bits outside 0775 (setuid, world-writable...)."""
    if stat.S_ISREG(mode):
        bad = (mode & ~0o170000) & ~0o775
        if bad:
            raise OstreeError(f"Content object {checksum}: invalid mode 0{mode:04o} with bits 0{bad:04o}")


def _not_found(objtype: str, checksum: str) -> ObjectNotFoundError:
    if objtype == "file":
        return ObjectNotFoundError(f"Couldn't find file object '{checksum}'")
    return ObjectNotFoundError(f"No such metadata object {checksum}.{OBJTYPES[objtype]}")


def _owner_uid(repo) -> int:
    return os.stat(repo.path).st_uid


def _copy_detached_metadata(dest, src, checksum: str) -> None:
    meta = src.load_commitmeta(checksum)
    if meta:
        dest.write_commitmeta(checksum, meta)


def _drop_tombstone(dest, checksum: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(dest.object_path("tombstone-commit", checksum))


class _Importer:
    def __init__(self, dest, src, trusted: bool, verify_bareuseronly: bool):
        self.dest = dest
        self.src = src
        self.trusted = trusted
        self.verify_bareuseronly = verify_bareuseronly
        self.same_owner = _owner_uid(src) == _owner_uid(dest)
        self.can_hardlink = self.same_owner and os.stat(src.objects_dir).st_dev == os.stat(dest.objects_dir).st_dev

    def import_object(self, objtype: str, checksum: str) -> int:
        """Import one object; return the content bytes written (0 when linked or present)."""
        dest, src = self.dest, self.src
        is_meta = objtype != "file"
        conversion = src.mode == "bare-user" and dest.mode == "bare-user-only" and not is_meta
        try_direct = True
        if (self.verify_bareuseronly or conversion) and not is_meta:
            info, stream = src.load_file(checksum)
            if stream is not None:
                stream.close()
            if self.verify_bareuseronly:
                validate_bareuseronly_mode(info.mode, checksum)
            if conversion and info.is_symlink:
                try_direct = False  # bare-user stores symlinks as regular files
        if try_direct and (self.trusted or self.same_owner) and \
                (src.mode == dest.mode or is_meta or conversion):
            if not self.trusted:
                fsck_object(src, objtype, checksum)
            if self._import_direct(objtype, checksum):
                if objtype == "commit":
                    _copy_detached_metadata(dest, src, checksum)
                    _drop_tombstone(dest, checksum)
                return 0
        if dest.has_object(objtype, checksum):
            return 0
        if is_meta:
            if objtype == "commit":
                _copy_detached_metadata(dest, src, checksum)
            data = src.load_metadata_bytes(objtype, checksum)
            if not self.trusted:
                verify_metadata(objtype, checksum, data)
            dest.write_object_bytes(objtype, checksum, data)
            if objtype == "commit":
                _drop_tombstone(dest, checksum)
            return 0
        info, stream = src.load_file(checksum)
        try:
            if dest.mode == "bare-user-only":
                try:
                    validate_bareuseronly_mode(info.mode, checksum)
                except OstreeError as e:
                    raise OstreeError(f"Writing content object: {e.message}") from None
            dest.write_content(info, stream, expected=checksum, trusted=self.trusted)
        finally:
            if stream is not None:
                stream.close()
        return info.size if info.is_regular else 0

    def _import_direct(self, objtype: str, checksum: str) -> bool:
        """Hardlink (or copy byte for byte) the loose object file; False if not possible."""
        dest, src = self.dest, self.src
        sp = src.object_path(objtype, checksum)
        if not os.path.lexists(sp):
            if src.parent is not None and src.parent.has_object(objtype, checksum):
                return False  # only in the parent repo: take the copy path
            raise _not_found(objtype, checksum)
        dp = dest.object_write_path(objtype, checksum)
        if self.can_hardlink:
            try:
                os.link(sp, dp)
                return True
            except FileExistsError:
                return True
            except OSError as e:
                if e.errno not in (errno.EMLINK, errno.EXDEV, errno.EPERM):
                    raise OstreeError(f"Importing {checksum}.{OBJTYPES[objtype]}: linkat: {e.strerror}") from None
        st = os.lstat(sp)
        if not stat.S_ISREG(st.st_mode):
            return False
        tmp = dest.new_tmp_path()
        try:
            with open(sp, "rb") as fi, open(tmp, "xb") as fo:
                while True:
                    b = fi.read(1 << 20)
                    if not b:
                        break
                    fo.write(b)
                fo.flush()
                if dest.mode == "bare":
                    os.fchown(fo.fileno(), st.st_uid, st.st_gid)
                if objtype == "file" and src.mode in ("bare", "bare-user"):
                    if src.mode == "bare":
                        for name in os.listxattr(fi.fileno()):
                            os.setxattr(fo.fileno(), name, os.getxattr(fi.fileno(), name))
                    elif dest.mode == "bare-user":
                        os.setxattr(fo.fileno(), "user.ostreemeta", os.getxattr(fi.fileno(), "user.ostreemeta"))
                os.fchmod(fo.fileno(), st.st_mode & 0o7777)
                if dest.mode != "archive":
                    os.utime(fo.fileno(), ns=(st.st_atime_ns, st.st_mtime_ns))
            os.rename(tmp, dp)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return True


class LocalPull:
    """One ``pull-local`` run; see ``pull_local``."""

    def __init__(self, dest, src, depth=0, trusted=True, bareuseronly_files=False,
                 commit_only=False, verify_bindings=True, threads=4):
        self.dest = dest
        self.src = src
        self.maxdepth = depth
        self.commit_only = commit_only
        self.verify_bindings = verify_bindings
        self.imp = _Importer(dest, src, trusted, bareuseronly_files)
        self.stats = PullStats()
        self.scanned: set = set()
        self.requested_content: set = set()
        self.commit_to_depth: dict = {}
        self.threads = threads
        self._pool = None
        self._futures = []
        self._batch = []
        self.src_collection_id = src.collection_id or None
        self.src_tombstones = src.config.get_boolean("core", "tombstone-commits", False)

    # -- content, imported in the background
    def _import_if_missing(self, checksums) -> tuple[int, int]:
        # runs on the pool: the existence checks too, so that the walk in the
        # main thread does not queue behind the workers for every lstat
        n = written = 0
        for c in checksums:
            if self.dest.has_object("file", c):
                continue
            n += 1
            written += self.imp.import_object("file", c)
        return n, written

    def _queue_content(self, checksum: str) -> None:
        self.requested_content.add(checksum)
        self._batch.append(checksum)
        if len(self._batch) >= 32:
            self._flush_batch()

    def _flush_batch(self) -> None:
        if self._batch:
            self._futures.append(self._pool.submit(self._import_if_missing, self._batch))
            self._batch = []
        if len(self._futures) >= 64:
            self._drain(keep=16)

    def _drain(self, keep: int = 0) -> None:
        while len(self._futures) > keep:
            n, written = self._futures.pop(0).result()
            self.stats.content += n
            self.stats.content_bytes_written += written

    # -- metadata walk
    def scan_commit(self, checksum: str, ref: str | None) -> str | None:
        """Import and scan one commit; return the parent commit to scan next, if any."""
        key = ("commit", checksum)
        if key in self.scanned:
            return None
        dest = self.dest
        if not dest.has_object("commit", checksum):
            dest.mark_commit_partial(checksum, True)
            try:
                self.imp.import_object("commit", checksum)
            except ObjectNotFoundError:
                if self.maxdepth != 0 and checksum in self.commit_to_depth:
                    # a shallow source: the history ends here
                    if self.src_tombstones and self.src.has_object("tombstone-commit", checksum):
                        self.imp.import_object("tombstone-commit", checksum)
                    return None
                raise
            self.stats.metadata += 1
        elif self.src.has_object("commitmeta", checksum):
            # signatures may have been added since: always refresh detached metadata
            _copy_detached_metadata(dest, self.src, checksum)
        self.scanned.add(key)
        depth = self.commit_to_depth.get(checksum, self.maxdepth)
        data = dest.load_metadata_bytes("commit", checksum)
        parent, tree, meta, _ts, md = parse_commit_lenient(data)
        if self.verify_bindings:
            try:
                verify_bindings(self.src_collection_id, ref, md)
            except OstreeError as e:
                raise OstreeError(f"Commit {checksum}: {e.message}") from None
        partial = dest.is_commit_partial(checksum)
        nxt = None
        if parent and (self.maxdepth == -1 or depth > 0):
            if len(parent) != 32:
                raise InvalidObjectError(f"Invalid checksum of length {len(parent)} expected 32")
            nxt = parent.hex()
            self.commit_to_depth[nxt] = depth - 1 if depth > 0 else -1
        if partial and not self.commit_only:
            for raw in (tree, meta):
                if len(raw) != 32:
                    raise InvalidObjectError(f"Invalid checksum of length {len(raw)} expected 32")
            self.scan_dirtree(tree.hex(), "/")
            self.scan_dirmeta(meta.hex())
        return nxt

    def scan_dirmeta(self, checksum: str) -> None:
        key = ("dirmeta", checksum)
        if key in self.scanned:
            return
        self.scanned.add(key)
        if not self.dest.has_object("dirmeta", checksum):
            self.imp.import_object("dirmeta", checksum)
            self.stats.metadata += 1

    def scan_dirtree(self, checksum: str, path: str) -> None:
        # iterative over the tree, depth first
        stack = [(checksum, path)]
        while stack:
            csum, p = stack.pop()
            key = ("dirtree", csum)
            if key in self.scanned:
                continue
            if not self.dest.has_object("dirtree", csum):
                self.imp.import_object("dirtree", csum)
                self.stats.metadata += 1
            try:
                subdirs = self._scan_dirtree_object(csum, p)
            except OstreeError as e:
                raise OstreeError(f"Validating dirtree {csum} ({p}): {e.message}") from None
            self.scanned.add(key)
            for name, tcsum, mcsum in reversed(subdirs):
                self.scan_dirmeta(mcsum)
                stack.append((tcsum, p.rstrip("/") + "/" + name))

    def _scan_dirtree_object(self, checksum: str, path: str):
        from ostree_py.core import gvariant
        from ostree_py.errors import GVariantError
        from ostree_py.core.objects import DIRTREE_TYPE
        data = self.dest.load_metadata_bytes("dirtree", checksum)
        try:
            files, dirs = gvariant.deserialize(DIRTREE_TYPE, data)
        except GVariantError:
            raise InvalidObjectError("Invalid checksum of length 0 expected 32") from None
        for i, (name, raw) in enumerate(files):
            try:
                validate_filename(name)
            except OstreeError as e:
                raise OstreeError(f"File {i} in dirtree: {e.message}") from None
            if len(raw) != 32:
                raise InvalidObjectError(f"Invalid checksum of length {len(raw)} expected 32")
            fc = raw.hex()
            if fc not in self.requested_content:
                self._queue_content(fc)
        out = []
        for i, (name, traw, mraw) in enumerate(dirs):
            try:
                validate_filename(name)
            except OstreeError as e:
                raise OstreeError(f"Dir {i} in dirtree: {e.message}") from None
            for raw in (traw, mraw):
                if len(raw) != 32:
                    raise InvalidObjectError(f"Invalid checksum of length {len(raw)} expected 32")
            out.append((name, traw.hex(), mraw.hex()))
        return out

    def run(self, targets) -> PullStats:
        """Pull ``targets``: a list of (ref name or None, commit checksum)."""
        with self.dest.transaction(), ThreadPoolExecutor(max_workers=self.threads) as pool:
            self._pool = pool
            try:
                for ref, checksum in targets:
                    nxt = self.scan_commit(checksum, ref)
                    while nxt is not None:
                        nxt = self.scan_commit(nxt, None)
                self._flush_batch()
                self._drain()
            finally:
                for f in self._futures:
                    f.cancel()
        if not self.commit_only:
            for _ref, checksum in targets:
                self.dest.mark_commit_partial(checksum, False)
            for checksum in self.commit_to_depth:
                self.dest.mark_commit_partial(checksum, False)
        return self.stats


def open_source_repo(path: str):
    """Open the repository to pull from, with the reference's error text."""
    from ostree_py.repo import Repo
    abspath = os.path.abspath(path)
    if not os.path.isdir(abspath):
        raise OstreeError(f"opendir({abspath}): No such file or directory")
    return Repo.open(abspath)


def pull_local(dest, src_path: str, refs=(), remote: str | None = None, depth: int = 0,
               untrusted: bool = False, bareuseronly_files: bool = False,
               commit_metadata_only: bool = False, disable_fsync: bool = False,
               verify_bindings_: bool = True) -> PullStats:
    """Pull ``refs`` (all of the source's refs when empty) from the repo at ``src_path`` into ``dest``.

    Refs are written under ``remote`` when given (refs/remotes/REMOTE/REF),
    else as local branches; a checksum pulls that commit without a ref.
    """
    src = open_source_repo(src_path)
    if disable_fsync:
        dest.fsync = False
    if not refs:
        refs = list(src.list_refs().keys())
    targets = []
    for ref in refs:
        if is_checksum(ref):
            targets.append((None, ref))
            continue
        validate_ref(ref)
        try:
            checksum = src.resolve_rev(ref)
        except RefNotFoundError:
            raise OstreeError(f"Refspec '{ref}' not found") from None
        targets.append((ref, checksum))
    job = LocalPull(dest, src, depth=depth, trusted=not untrusted, bareuseronly_files=bareuseronly_files,
                    commit_only=commit_metadata_only, verify_bindings=verify_bindings_)
    # the refs are written under the repo lock the transaction took: a prune waiting
    # for it must see them, or it would delete the commits just pulled
    with dest.lock():
        stats = job.run(targets)
        for ref, checksum in targets:
            if ref is not None:
                dest.set_ref(ref, checksum, remote)
    return stats
