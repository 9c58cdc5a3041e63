"""Executing static delta parts, and ``apply-offline``.

A part's operations run in order against the repository, creating the
objects its header lists, one after the other:

- ``S`` open-splice-and-close: a metadata object ``(length, offset)`` or a
  content object ``(mode index, xattrs index, size, offset)`` whose bytes
  (the symlink target, for a symlink) are in the payload;
- ``o`` open ``(mode index, xattrs index, size)`` starts a content object,
  ``w`` write ``(size, offset)`` appends bytes from the payload, or from the
  read source when one is set, ``r`` set-read-source ``(offset)`` names (by
  the 32 raw checksum bytes at ``offset`` of the payload) an existing
  content object to read from, ``R`` unsets it, ``B`` bspatch ``(offset,
  length)`` produces the whole object from the read source and a bsdiff
  stream, and ``c`` close writes the object, verified against its checksum.

Memory does not depend on the part: the part is read from a file in pieces
(``format.open_part_body``) and an object's bytes stream from the operations
into the object being written (objects up to ``SMALL_OBJECT`` are gathered
in memory first), hashed as they go. A read source is read in pieces from its
object file (an archive repository's is first inflated into a temporary
file). Objects already stored are not rewritten. Different parts are
independent, so ``apply_offline`` runs them on a few threads (xz and sha256
release the GIL).
"""

import io
import itertools
import os
import stat

from ostree_py.core.content import FileInfo
from ostree_py.errors import OstreeError
from ostree_py.core.gvariant import bswap32
from ostree_py.core.objects import MAX_METADATA_SIZE, xattrs_from_wire
from ostree_py.deltas import bsdiff
from ostree_py.deltas import format as fmt

_META = {"dirtree", "dirmeta", "commit", "tombstone-commit", "commitmeta"}
SMALL_OBJECT = 1 << 20
# bspatch with old file, new file and patch at most this big runs in memory, in one go
_BSPATCH_IN_MEMORY = 4 << 20
_MAX_SYMLINK_TARGET = 64 * 1024
_OP_NAMES = {
    fmt.OP_OPEN_SPLICE_AND_CLOSE: "open-splice-and-close", fmt.OP_OPEN: "open", fmt.OP_WRITE: "write",
    fmt.OP_SET_READ_SOURCE: "set-read-source", fmt.OP_UNSET_READ_SOURCE: "unset-read-source",
    fmt.OP_CLOSE: "close", fmt.OP_BSPATCH: "bspatch",
}


class ExecuteStats:
    """How many operations of each kind ran (``static-delta show``)."""

    def __init__(self):
        self.n_ops = dict.fromkeys(fmt.OP_ORDER, 0)


def spool_fd(repo) -> int:
    """An unnamed temporary file in the repository's tmp/ (or, when that is not
    writable, the system's) for a part or read source that needs a file."""
    try:
        fd, name = repo.open_tmpfile()
    except OSError:
        import tempfile
        f = tempfile.TemporaryFile()
        fd = os.dup(f.fileno())
        f.close()
        return fd
    if name is not None:
        os.unlink(name)
    return fd


def spool_file(repo):
    """``spool_fd`` as a binary file object (for downloads)."""
    return os.fdopen(spool_fd(repo), "w+b")


class _OpError(OstreeError):
    """An error already prefixed with the operation it happened in."""


class _OpsEnded(Exception):
    """The operations ended while an object was open: the reference drops the object."""


class _Source:
    """The read source: a regular content object, read with pread from its file
    (bare modes) or from a temporary inflated copy (archive)."""

    def __init__(self, repo, csum: str):
        info, stream = repo.load_file(csum)
        if stream is None:
            raise OstreeError(f"{csum} is not a regular file")
        self.repo = repo
        self.csum = csum
        self.size = info.size
        self._stream = stream
        self._fd = stream.fileno() if isinstance(stream, io.BufferedReader) else None
        self._own_fd = False

    def _file(self) -> int:
        if self._fd is None:
            fd = spool_fd(self.repo)
            self._own_fd = True
            self._fd = fd
            while True:
                b = self._stream.read(fmt.IO_CHUNK)
                if not b:
                    break
                fmt._write_all(fd, b)
        return self._fd

    def read(self, off: int, n: int) -> bytes:
        return fmt._pread_all(self._file(), n, off)

    def chunks(self, off: int, n: int):
        """``n`` bytes from ``off``, in pieces; an error if the object ends first."""
        while n > 0:
            b = self.read(off, min(n, fmt.IO_CHUNK))
            if not b:
                raise OstreeError(f"Unexpected EOF reading object {self.csum}")
            yield b
            off += len(b)
            n -= len(b)

    def close(self) -> None:
        if self._own_fd:
            os.close(self._fd)
        self._fd = None
        self._own_fd = False
        self._stream.close()


class _ChunkReader:
    """A read()-able stream over an iterator of byte chunks (for Repo.write_content);
    read() returns views into the chunks, without copying."""

    def __init__(self, chunks):
        self._it = iter(chunks)
        self._buf = memoryview(b"")
        self._pos = 0

    def read(self, n: int = -1):
        while self._pos >= len(self._buf):
            b = next(self._it, None)
            if b is None:
                return b""
            self._buf = memoryview(b)
            self._pos = 0
        start = self._pos
        self._pos = len(self._buf) if n < 0 else min(len(self._buf), start + n)
        return self._buf[start:self._pos]


class _Part:
    __slots__ = ("repo", "objects", "body", "ops", "index", "stats_only", "stats", "target",
                 "skipping", "source", "current", "n_executed")

    def __init__(self, repo, objects, body: fmt.PartBody, stats_only, stats):
        self.repo = repo
        self.objects = objects
        self.body = body
        self.ops = body.ops()
        self.index = 0
        self.stats_only = stats_only
        self.stats = stats
        self.target = None
        self.skipping = False  # an open object that is not written (already stored)
        self.source = None
        self.current = None
        self.n_executed = 0

    # -------------------------------------------------------------- helpers
    def check_ofs(self, offset: int, length: int) -> None:
        if offset + length > self.body.payload_size:
            raise OstreeError(f"Invalid offset/length {offset}/{length}")

    def payload_chunks(self, offset: int, n: int):
        end = offset + n
        while offset < end:
            k = min(fmt.IO_CHUNK, end - offset)
            yield self.body.payload(offset, k)
            offset += k

    def open_target(self):
        if self.index >= len(self.objects):
            raise OstreeError("Too many objects in delta part operations")
        self.target = self.objects[self.index]
        return self.target

    def content_info(self, size: int) -> FileInfo | None:
        mode_ofs = self.ops.varint()
        xattr_ofs = self.ops.varint()
        if self.stats_only:
            return None
        try:
            uid, gid, mode = self.body.mode(mode_ofs)
            xattrs = self.body.xattrs(xattr_ofs)
        except IndexError:
            raise OstreeError(f"Invalid mode/xattr index {mode_ofs}/{xattr_ofs}") from None
        return FileInfo(bswap32(mode), bswap32(uid), bswap32(gid), size, "", xattrs_from_wire(xattrs))

    def next_op(self) -> int:
        opcode = self.ops.byte()
        name = _OP_NAMES.get(opcode)
        if name is None:
            raise _OpError(f"Unknown opcode {opcode} at offset {self.n_executed}")
        self.current = name
        self.n_executed += 1
        if self.stats is not None:
            self.stats.n_ops[opcode] += 1
        return opcode

    def unset_source(self) -> None:
        if self.source is not None:
            self.source.close()
            self.source = None

    def write_regular(self, info: FileInfo, csum: str, chunks) -> None:
        """Store a regular file object of ``info.size`` bytes that come from ``chunks``."""
        bare = self.repo.mode != "archive"
        if info.size <= SMALL_OBJECT:
            self.repo.write_content(info, data=b"".join(chunks), expected=csum, bare_content=bare)
        else:
            self.repo.write_content(info, stream=_ChunkReader(chunks), expected=csum, bare_content=bare)

    def write_opened(self, info: FileInfo, csum: str, chunks) -> None:
        """Store the object of an ``open``, its bytes coming from ``chunks``, however
        many there turn out to be: as the reference, the checksum decides (the
        size ``open`` declared is not part of it); a small object is written from
        memory, a larger one as a stream."""
        head = []
        n = 0
        it = iter(chunks)
        for c in it:
            head.append(c)
            n += len(c)
            if n > SMALL_OBJECT:
                break
        else:
            info.size = n
            self.repo.write_content(info, data=b"".join(head), expected=csum,
                                    bare_content=self.repo.mode != "archive")
            return
        if self.repo.mode != "archive":
            info.size = 0  # not known yet: write_content then checks no size
        self.repo.write_content(info, stream=_ChunkReader(itertools.chain(head, it)), expected=csum,
                                bare_content=self.repo.mode != "archive")

    # -------------------------------------------------------------- operations
    def op_open_splice_and_close(self):
        objtype, csum = self.open_target()
        if objtype in _META:
            length = self.ops.varint()
            offset = self.ops.varint()
            self.check_ofs(offset, length)
            if not self.stats_only:
                if length > MAX_METADATA_SIZE:
                    raise OstreeError(f"Metadata object of type '{objtype}' is {length} bytes, "
                                      f"exceeding maximum {MAX_METADATA_SIZE}")
                self.repo.write_metadata(objtype, self.body.payload(offset, length), csum)
        else:
            info = self.content_info(0)
            size = self.ops.varint()
            offset = self.ops.varint()
            self.check_ofs(offset, size)
            if not self.stats_only:
                if stat.S_ISLNK(info.mode):
                    if size > _MAX_SYMLINK_TARGET:
                        raise OstreeError(f"Invalid symlink target of {size} bytes")
                    # read as a C string, as the reference does: up to the first NUL
                    target = self.body.payload(offset, size).split(b"\0", 1)[0]
                    info.symlink_target = target.decode("utf-8", "surrogateescape")
                    self.repo.write_content(info, expected=csum)
                elif stat.S_ISREG(info.mode):
                    if not self.repo.has_object("file", csum):
                        info.size = size
                        try:
                            self.write_regular(info, csum, self.payload_chunks(offset, size))
                        except OstreeError as e:
                            if self.repo.mode == "archive" or isinstance(e, _OpError):
                                raise
                            # the reference verifies and stores bare content in its close step
                            raise OstreeError(f"opcode close: {e.message}") from None
                else:
                    raise OstreeError(f"Invalid file metadata mode {info.mode:o}")
        self.op_close()

    def op_open(self):
        self.open_target()
        info = self.content_info(0)
        size = self.ops.varint()
        if self.stats_only:
            return
        objtype, csum = self.target
        if objtype != "file" or not stat.S_ISREG(info.mode):
            raise OstreeError("not a regular file object")
        if self.repo.has_object("file", csum):
            self.skipping = True
            return
        info.size = size
        try:
            self.write_opened(info, csum, self.object_chunks(size))
        except _OpsEnded:
            return
        self.op_close()

    def object_chunks(self, size: int):
        """Run the operations of the open object up to its close, yielding its bytes.

        An archive object's header holds its size, so there the bytes must come
        to the size ``open`` declared: any more are refused at once."""
        strict = self.repo.mode == "archive"
        written = 0
        ops = self.ops
        while True:
            if ops.at_end():
                raise _OpsEnded
            op = self.next_op()
            if op == fmt.OP_WRITE:
                n = ops.varint()
                offset = ops.varint()
                if strict and written + n > size:
                    raise OstreeError(f"Corrupted file object; expected size {size}, got {written + n}")
                if self.source is not None:
                    yield from self.source.chunks(offset, n)
                else:
                    self.check_ofs(offset, n)
                    yield from self.payload_chunks(offset, n)
                written += n
            elif op == fmt.OP_BSPATCH:
                offset = ops.varint()
                length = ops.varint()
                if self.source is None:
                    raise OstreeError("no object or read source")
                self.check_ofs(offset, length)
                # the patch makes the whole declared size, whatever came before
                if strict and written:
                    raise OstreeError(f"Corrupted file object; expected size {size}, got {written + size}")
                yield from self.bspatch(offset, length, size)
                written += size
            elif op == fmt.OP_SET_READ_SOURCE:
                self.op_set_read_source()
            elif op == fmt.OP_UNSET_READ_SOURCE:
                self.unset_source()
            elif op == fmt.OP_CLOSE:
                if strict and written != size:
                    raise OstreeError(f"Corrupted file object; expected size {size}, got {written}")
                return
            else:
                raise OstreeError(f"object {self.target[1]} is still open")

    def bspatch(self, offset: int, length: int, size: int):
        src = self.source
        if src.size <= _BSPATCH_IN_MEMORY and size <= _BSPATCH_IN_MEMORY and length <= 2 * _BSPATCH_IN_MEMORY:
            yield bsdiff.patch(src.read(0, src.size), size, self.body.payload(offset, length))
            return
        yield from bsdiff.patch_chunks(src.read, src.size, size,
                                       lambda o, n: self.body.payload(offset + o, n), length, fmt.IO_CHUNK)

    def op_write(self):
        self.ops.varint()
        self.ops.varint()
        if not (self.stats_only or self.skipping):
            raise OstreeError("no object open")

    def op_set_read_source(self):
        self.unset_source()
        offset = self.ops.varint()
        self.check_ofs(offset, 32)
        if self.stats_only:
            return
        self.source = _Source(self.repo, self.body.payload(offset, 32).hex())

    def op_unset_read_source(self):
        self.unset_source()

    def op_close(self):
        self.skipping = False
        self.unset_source()
        self.index += 1
        self.target = None

    def op_bspatch(self):
        self.ops.varint()
        self.ops.varint()
        if not (self.stats_only or self.skipping):
            raise OstreeError("no object or read source")

    _OPS = {
        fmt.OP_OPEN_SPLICE_AND_CLOSE: op_open_splice_and_close,
        fmt.OP_OPEN: op_open,
        fmt.OP_WRITE: op_write,
        fmt.OP_SET_READ_SOURCE: op_set_read_source,
        fmt.OP_UNSET_READ_SOURCE: op_unset_read_source,
        fmt.OP_CLOSE: op_close,
        fmt.OP_BSPATCH: op_bspatch,
    }

    def run(self) -> None:
        ops = self.ops
        table = self._OPS
        try:
            while not ops.at_end():
                opcode = self.next_op()
                try:
                    table[opcode](self)
                except _OpError:
                    raise
                except OstreeError as e:
                    # the operation running when it failed: inside an open, the write,
                    # bspatch or close that the object's bytes were coming from
                    raise _OpError(f"opcode {self.current}: {e.message}") from None
                except OSError as e:
                    raise _OpError(f"opcode {self.current}: {e.strerror or e}") from None
        finally:
            self.unset_source()


def execute_part(repo, objects: bytes, part, stats_only: bool = False,
                 stats: ExecuteStats | None = None) -> None:
    """Run one opened part creating the objects listed in ``objects``. ``part``: a
    ``format.PartBody``, or (modes, xattrs, payload, ops) values (small parts)."""
    objs = fmt.parse_object_array(objects)
    if not objs:
        return
    if not isinstance(part, fmt.PartBody):
        data = fmt.serialize_part_payload(*part)
        part = fmt.PartBody(data, 0, len(data))
    _Part(repo, objs, part, stats_only, stats).run()


def have_all_objects(repo, objects: bytes) -> bool:
    """Whether every object a part creates is already stored."""
    return all(repo.has_object(t, c) for t, c in fmt.parse_object_array(objects))


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise OstreeError(f"{what}: {os.strerror(e.errno)}") from None


def load_superblock_for_apply(path: str) -> tuple[str, bytes]:
    """(directory holding the parts, superblock bytes) for a delta directory or superblock file."""
    import errno
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        if e.errno != errno.ENOTDIR:
            raise OstreeError(f"openat(O_DIRECTORY): {os.strerror(e.errno)}") from None
        d = os.path.dirname(path) or "."
        name = os.path.basename(path)
    else:
        os.close(fd)
        d, name = path, "superblock"
    return d, _read(os.path.join(d, name), f"openat({name})")


def verify_signature(data: bytes, sign) -> str:
    """Check a signed superblock with the sign engine ``sign``; return its success message."""
    raw, sigs = fmt.unwrap_signed(data)
    if sigs is None:
        raise OstreeError("no signatures in static-delta")
    from ostree_py.core.gvariant import Variant
    v = sigs.get(sign.metadata_key)
    if not isinstance(v, Variant) or v.type != sign.metadata_format:
        raise OstreeError(f"no signature for '{sign.metadata_key}' in static-delta superblock")
    return sign.verify(raw, [bytes(s) for s in v.value])


def write_target_commit(repo, sb: fmt.Superblock) -> bool:
    """Store the superblock's commit (and its detached metadata) unless present; True if written."""
    to = sb.to_checksum
    if repo.has_object("commit", to):
        return False
    from ostree_py.core.gvariant import Variant
    detached = sb.metadata.get(fmt.commitmeta_key(sb.from_checksum, to))
    data = fmt.commit_bytes(sb)
    import hashlib
    if hashlib.sha256(data).hexdigest() != to:
        raise OstreeError(f"Corrupted commit object; checksum expected='{to}' "
                          f"actual='{hashlib.sha256(data).hexdigest()}'")
    repo.mark_commit_partial(to, True)
    if isinstance(detached, Variant) and detached.type == "a{sv}":
        repo.write_commitmeta(to, detached.value)
    repo.write_metadata("commit", data, to)
    return True


def part_data(sb: fmt.Superblock, i: int, parts_dir: str | None, fetch=None):
    """(part file, expected checksum or None for inline parts) of part ``i``: the
    bytes of an inline part, else an open binary file (``fetch(i)`` gives one)."""
    from ostree_py.core.gvariant import Variant
    inline = sb.metadata.get(fmt.part_relpath(sb.from_checksum, sb.to_checksum, i))
    if isinstance(inline, Variant) and inline.type == "(yay)":
        comp, body = inline.value
        return bytes((comp,)) + bytes(body), None
    expected = sb.parts[i][1].hex()
    if fetch is not None:
        return fetch(i), expected
    p = os.path.join(parts_dir, str(i))
    try:
        return open(p, "rb"), expected
    except OSError as e:
        raise OstreeError(f"Opening deltapart '{i}': {os.strerror(e.errno)}") from None


def open_part(repo, sb: fmt.Superblock, i: int, src, expected: str | None) -> fmt.PartBody:
    """Open part ``i`` from ``src`` (see ``part_data``), decompressing into the repository's tmp/
    no further than its declared uncompressed size allows."""
    _v, _c, _size, usize, objects = sb.parts[i]
    limit = fmt.part_body_limit(usize, len(objects) // fmt.OBJTYPE_CSUM_LEN)
    return fmt.open_part_body(src, expected, limit=limit, spool=lambda: spool_fd(repo))


def apply_parts(repo, sb: fmt.Superblock, parts_dir: str | None = None, fetch=None,
                skip_validation: bool = False, threads: int | None = None,
                on_part_done=None) -> int:
    """Execute every part whose objects are not all stored yet; return how many ran.

    ``fetch(i)``, when given, downloads part ``i`` into a binary file (``spool_file``)."""
    todo = []
    for i, (version, csum, _size, _usize, objects) in enumerate(sb.parts):
        if version > fmt.DELTAPART_VERSION:
            raise OstreeError(f"Delta part has too new version {version}")
        if have_all_objects(repo, objects):
            continue
        if len(csum) != 32:
            raise OstreeError(f"Invalid checksum of length {len(csum)} expected 32")
        todo.append(i)

    def one(i):
        src, expected = part_data(sb, i, parts_dir, fetch)
        with open_part(repo, sb, i, src, None if skip_validation else expected) as body:
            try:
                execute_part(repo, sb.parts[i][4], body)
            except OstreeError as e:
                raise OstreeError(f"Executing delta part {i}: {e.message}") from None
        if on_part_done is not None:
            on_part_done(i)

    if threads is None:
        threads = min(4, os.cpu_count() or 1)
    if len(todo) <= 1 or threads <= 1:
        for i in todo:
            one(i)
        return len(todo)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(one, i) for i in todo]
        first_error = None
        for f in futures:
            try:
                f.result()
            except BaseException as e:  # report the lowest-numbered part's error
                if first_error is None:
                    first_error = e
        if first_error is not None:
            raise first_error
    return len(todo)


def apply_offline(repo, path: str, sign=None, skip_validation: bool = False) -> str:
    """ostree_repo_static_delta_execute_offline_with_signature; returns the target commit.

    The caller holds a transaction. The target commit stays marked partial
    until all parts have been applied.
    """
    parts_dir, data = load_superblock_for_apply(path)
    if fmt.is_signed_superblock(data):
        verify = repo.config.get_boolean("core", "sign-verify-deltas", False) \
            if repo.config.has_key("core", "sign-verify-deltas") else False
        if verify and sign is None:
            raise OstreeError("Key is mandatory to check delta signature")
        if sign is not None:
            verify_signature(data, sign)
    sb = fmt.parse_superblock(data)
    frm, to = sb.from_checksum, sb.to_checksum
    if frm is not None and not repo.has_object("commit", frm):
        raise OstreeError(f"Commit {frm}, which is the delta source, is not in repository")
    write_target_commit(repo, sb)
    if sb.fallbacks:
        raise OstreeError("Cannot execute delta offline: contains nonempty http fallback entries")
    apply_parts(repo, sb, parts_dir, skip_validation=skip_validation)
    # also when an earlier, interrupted apply wrote the commit: its parts are all in now
    repo.mark_commit_partial(to, False)
    return to
