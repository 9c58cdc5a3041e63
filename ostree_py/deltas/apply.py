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

Objects already stored are not rewritten. Different parts are independent,
so ``apply_offline`` runs them on a few threads (xz and sha256 release the
GIL).
"""

import os
import stat

from ..content import FileInfo
from ..errors import OstreeError
from ..objects import _xattrs_from_wire
from . import format as fmt

_META = {"dirtree", "dirmeta", "commit", "tombstone-commit", "commitmeta"}


class ExecuteStats:
    """How many operations of each kind ran (``static-delta show``)."""

    def __init__(self):
        self.n_ops = dict.fromkeys(fmt.OP_ORDER, 0)


class _Part:
    __slots__ = ("repo", "objects", "modes", "xattrs", "payload", "ops", "pos", "index",
                 "stats_only", "target", "info", "buf", "have_obj", "source", "source_csum")

    def __init__(self, repo, objects, part, stats_only):
        self.repo = repo
        self.objects = objects
        self.modes, self.xattrs, self.payload, self.ops = part
        self.pos = 0
        self.index = 0
        self.stats_only = stats_only
        self.target = None
        self.info = None
        self.buf = None
        self.have_obj = False
        self.source = None
        self.source_csum = None

    def varint(self) -> int:
        v, self.pos = fmt.read_varuint64(self.ops, self.pos)
        return v

    def check_ofs(self, offset: int, length: int) -> None:
        if offset + length > len(self.payload):
            raise OstreeError(f"Invalid offset/length {offset}/{length}")

    def open_target(self):
        if self.index >= len(self.objects):
            raise OstreeError("Too many objects in delta part operations")
        self.target = self.objects[self.index]
        return self.target

    def content_info(self, size: int) -> FileInfo:
        mode_ofs = self.varint()
        xattr_ofs = self.varint()
        if self.stats_only:
            return None
        try:
            uid, gid, mode = self.modes[mode_ofs]
            xattrs = self.xattrs[xattr_ofs]
        except IndexError:
            raise OstreeError(f"Invalid mode/xattr index {mode_ofs}/{xattr_ofs}") from None
        from ..gvariant import bswap32
        return FileInfo(bswap32(mode), bswap32(uid), bswap32(gid), size, "", _xattrs_from_wire(xattrs))

    # -------------------------------------------------------------- operations
    def op_open_splice_and_close(self):
        objtype, csum = self.open_target()
        if objtype in _META:
            length = self.varint()
            offset = self.varint()
            self.check_ofs(offset, length)
            if not self.stats_only:
                self.repo.write_metadata(objtype, bytes(self.payload[offset:offset + length]), csum)
        else:
            info = self.content_info(0)
            size = self.varint()
            offset = self.varint()
            self.check_ofs(offset, size)
            if not self.stats_only:
                data = self.payload[offset:offset + size]
                if stat.S_ISLNK(info.mode):
                    info.symlink_target = bytes(data).decode("utf-8", "surrogateescape")
                    info.size = 0
                    self.repo.write_content(info, expected=csum)
                elif stat.S_ISREG(info.mode):
                    if not self.repo.has_object("file", csum):
                        info.size = size
                        bare = self.repo.mode != "archive"
                        try:
                            self.repo.write_content(info, data=bytes(data), expected=csum, bare_content=bare)
                        except OstreeError as e:
                            if not bare:
                                raise
                            # the reference verifies and stores bare content in its close step
                            raise OstreeError(f"opcode close: {e.message}") from None
                else:
                    raise OstreeError(f"Invalid file metadata mode {info.mode:o}")
        self.op_close()

    def op_open(self):
        self.open_target()
        info = self.content_info(0)
        size = self.varint()
        if self.stats_only:
            return
        objtype, csum = self.target
        if objtype != "file" or not stat.S_ISREG(info.mode):
            raise OstreeError("opcode open: not a regular file object")
        info.size = size
        self.info = info
        self.have_obj = self.repo.has_object("file", csum)
        self.buf = None if self.have_obj else bytearray()

    def op_write(self):
        size = self.varint()
        offset = self.varint()
        if self.stats_only or self.have_obj:
            return
        if self.buf is None:
            raise OstreeError("opcode write: no object open")
        if self.source is not None:
            chunk = self.source[offset:offset + size]
            if len(chunk) != size:
                raise OstreeError(f"Unexpected EOF reading object {self.source_csum}")
            self.buf += chunk
        else:
            self.check_ofs(offset, size)
            self.buf += self.payload[offset:offset + size]

    def op_set_read_source(self):
        self.source = None
        self.source_csum = None
        offset = self.varint()
        self.check_ofs(offset, 32)
        if self.stats_only:
            return
        csum = bytes(self.payload[offset:offset + 32]).hex()
        info, stream = self.repo.load_file(csum)
        if stream is None:
            raise OstreeError(f"opcode set-read-source: {csum} is not a regular file")
        try:
            self.source = stream.read()
        finally:
            stream.close()
        self.source_csum = csum

    def op_unset_read_source(self):
        self.source = None
        self.source_csum = None

    def op_close(self):
        if self.buf is not None and not self.stats_only:
            objtype, csum = self.target
            if len(self.buf) != self.info.size:
                raise OstreeError(f"Corrupted file object; expected size {self.info.size}, got {len(self.buf)}")
            self.repo.write_content(self.info, data=bytes(self.buf), expected=csum,
                                    bare_content=self.repo.mode != "archive")
        self.buf = None
        self.info = None
        self.have_obj = False
        self.op_unset_read_source()
        self.index += 1
        self.target = None

    def op_bspatch(self):
        offset = self.varint()
        length = self.varint()
        if self.stats_only or self.have_obj:
            return
        if self.buf is None or self.source is None:
            raise OstreeError("opcode bspatch: no object or read source")
        self.check_ofs(offset, length)
        from . import bsdiff
        self.buf += bsdiff.patch(self.source, self.info.size, self.payload[offset:offset + length])

    _OPS = {
        fmt.OP_OPEN_SPLICE_AND_CLOSE: ("open-splice-and-close", op_open_splice_and_close),
        fmt.OP_OPEN: ("open", op_open),
        fmt.OP_WRITE: ("write", op_write),
        fmt.OP_SET_READ_SOURCE: ("set-read-source", op_set_read_source),
        fmt.OP_UNSET_READ_SOURCE: ("unset-read-source", op_unset_read_source),
        fmt.OP_CLOSE: ("close", op_close),
        fmt.OP_BSPATCH: ("bspatch", op_bspatch),
    }

    def run(self, stats: ExecuteStats | None) -> None:
        ops = self.ops
        n_executed = 0
        while self.pos < len(ops):
            opcode = ops[self.pos]
            self.pos += 1
            entry = self._OPS.get(opcode)
            if entry is None:
                raise OstreeError(f"Unknown opcode {opcode} at offset {n_executed}")
            name, fn = entry
            try:
                fn(self)
            except OstreeError as e:
                raise OstreeError(f"opcode {name}: {e.message}") from None
            n_executed += 1
            if stats is not None:
                stats.n_ops[opcode] += 1


def execute_part(repo, objects: bytes, part, stats_only: bool = False,
                 stats: ExecuteStats | None = None) -> None:
    """Run one opened part (``format.open_part``) creating the objects listed in ``objects``."""
    objs = fmt.parse_object_array(objects)
    if not objs:
        return
    _Part(repo, objs, part, stats_only).run(stats)


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
    from ..gvariant import Variant
    v = sigs.get(sign.metadata_key)
    if not isinstance(v, Variant) or v.type != sign.metadata_format:
        raise OstreeError(f"no signature for '{sign.metadata_key}' in static-delta superblock")
    return sign.verify(raw, [bytes(s) for s in v.value])


def write_target_commit(repo, sb: fmt.Superblock) -> bool:
    """Store the superblock's commit (and its detached metadata) unless present; True if written."""
    to = sb.to_checksum
    if repo.has_object("commit", to):
        return False
    from ..gvariant import Variant
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


def part_data(sb: fmt.Superblock, i: int, parts_dir: str | None, fetch=None) -> tuple[bytes, str | None]:
    """(part file bytes, expected checksum or None for inline parts) of part ``i``."""
    from ..gvariant import Variant
    inline = sb.metadata.get(fmt.part_relpath(sb.from_checksum, sb.to_checksum, i))
    if isinstance(inline, Variant) and inline.type == "(yay)":
        comp, body = inline.value
        return bytes((comp,)) + bytes(body), None
    expected = sb.parts[i][1].hex()
    if fetch is not None:
        return fetch(i), expected
    p = os.path.join(parts_dir, str(i))
    return _read(p, f"Opening deltapart '{i}'"), expected


def apply_parts(repo, sb: fmt.Superblock, parts_dir: str | None = None, fetch=None,
                skip_validation: bool = False, threads: int | None = None,
                on_part_done=None) -> int:
    """Execute every part whose objects are not all stored yet; return how many ran."""
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
        data, expected = part_data(sb, i, parts_dir, fetch)
        part = fmt.open_part(data, None if skip_validation else expected)
        del data
        try:
            execute_part(repo, sb.parts[i][4], part)
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
