"""Content (file) objects: headers, checksums, archive .filez streams, bare-user metadata.

A content object's checksum is sha256 over BE32(len(header)) + 4 zero bytes +
header + file bytes, where header is ``(uuuusa(ayay))`` with uid, gid, mode
and rdev stored big-endian. Symlinks carry their target in the header and no
file bytes.
"""

import stat
import struct
import zlib
from functools import lru_cache

from ostree_py.core import gvariant
from ostree_py.errors import InvalidObjectError
from ostree_py.core.objects import (
    ARCHIVE_HEADER_TYPE,
    DIRMETA_TYPE,
    FILE_HEADER_TYPE,
    new_sha256,
    xattrs_from_wire,
    xattrs_to_wire,
)

_bs32 = gvariant.bswap32
_bs64 = gvariant.bswap64

CHUNK = 256 * 1024
MAX_HEADER_SIZE = 10 * 1024 * 1024


class FileInfo:
    """What a content object records about a file besides its bytes."""

    __slots__ = ("mode", "uid", "gid", "size", "symlink_target", "xattrs", "rdev")

    def __init__(self, mode, uid=0, gid=0, size=0, symlink_target="", xattrs=(), rdev=0):
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.symlink_target = symlink_target
        self.xattrs = list(xattrs)
        self.rdev = rdev

    @property
    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.mode)

    @property
    def is_regular(self) -> bool:
        return stat.S_ISREG(self.mode)

    def __repr__(self):
        return (f"FileInfo(mode={self.mode:o}, uid={self.uid}, gid={self.gid}, size={self.size}, "
                f"symlink_target={self.symlink_target!r}, xattrs={self.xattrs!r})")


def validate_file_mode(mode: int) -> None:
    """Only regular files and symlinks are content objects."""
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise InvalidObjectError(f"Invalid file metadata mode {mode:o}")


def file_header(info: FileInfo) -> bytes:
    """The serialised ``(uuuusa(ayay))`` header used for checksums."""
    return _file_header(info.uid, info.gid, info.mode, info.rdev, info.symlink_target,
                        tuple((bytes(n), bytes(v)) for n, v in info.xattrs) if info.xattrs else ())


@lru_cache(maxsize=4096)
def _file_header(uid, gid, mode, rdev, target, xattrs) -> bytes:
    # most files of a tree share their header (a commit serialises it once)
    return gvariant.serialize(FILE_HEADER_TYPE, (
        _bs32(uid), _bs32(gid), _bs32(mode), _bs32(rdev), target, xattrs_to_wire(xattrs)))


def _framed(header: bytes) -> bytes:
    return len(header).to_bytes(4, "big") + b"\0\0\0\0" + header


def checksum_begin(info: FileInfo):
    """A sha256 object already fed with the framed header; feed it the file bytes."""
    h = new_sha256(_framed(file_header(info)))
    return h


def content_checksum(info: FileInfo, data: bytes = b"") -> str:
    """Checksum of a content object whose bytes are all in memory."""
    h = checksum_begin(info)
    if data:
        h.update(data)
    return h.hexdigest()


def parse_file_header(data: bytes) -> FileInfo:
    """Parse a ``(uuuusa(ayay))`` header."""
    uid, gid, mode, rdev, target, xattrs = gvariant.deserialize(FILE_HEADER_TYPE, data)
    mode = _bs32(mode)
    validate_file_mode(mode)
    return FileInfo(mode, _bs32(uid), _bs32(gid), 0, target, xattrs_from_wire(xattrs), _bs32(rdev))


def archive_header(info: FileInfo) -> bytes:
    """The framed ``(tuuuusa(ayay))`` header that starts a .filez object."""
    return _framed(gvariant.serialize(ARCHIVE_HEADER_TYPE, (
        _bs64(info.size), _bs32(info.uid), _bs32(info.gid), _bs32(info.mode), _bs32(info.rdev),
        info.symlink_target, xattrs_to_wire(info.xattrs))))


def parse_archive_header_prefix(head: bytes) -> int:
    """Given at least 8 bytes of a .filez object, return the header length."""
    if len(head) < 8:
        raise InvalidObjectError("File header size 0 exceeds size 0") if not head else \
            InvalidObjectError(f"Corrupted archive file; size={len(head)}")
    n = int.from_bytes(head[:4], "big")
    if n > MAX_HEADER_SIZE:
        raise InvalidObjectError(f"File header size {n} exceeds maximum")
    return n


# The header of a regular file without xattrs, the bulk of a tree: t, 4 u, an
# empty string (its NUL), an empty array, and one framing offset (the end of
# the string, 25). Decoding it with struct is ~20x cheaper than the general
# GVariant decoder, which matters once per object in fsck, checkout and pull.
_PLAIN_ARCHIVE_HEADER = struct.Struct(">QIIII")
_PLAIN_ARCHIVE_TAIL = b"\0\x19"


def parse_archive_header(data: bytes) -> FileInfo:
    """Parse the unframed ``(tuuuusa(ayay))`` header of a .filez object."""
    if len(data) == 26 and data[24:] == _PLAIN_ARCHIVE_TAIL:
        size, uid, gid, mode, rdev = _PLAIN_ARCHIVE_HEADER.unpack_from(data)
        validate_file_mode(mode)
        return FileInfo(mode, uid, gid, size, "", (), rdev)
    size, uid, gid, mode, rdev, target, xattrs = gvariant.deserialize(ARCHIVE_HEADER_TYPE, data)
    mode = _bs32(mode)
    validate_file_mode(mode)
    return FileInfo(mode, _bs32(uid), _bs32(gid), _bs64(size), target, xattrs_from_wire(xattrs), _bs32(rdev))


class ArchiveReader:
    """Reads a .filez object: the header, then the inflated file bytes as a stream."""

    def __init__(self, f):
        self._f = f
        prefix = f.read(8)
        n = parse_archive_header_prefix(prefix)
        hdr = f.read(n)
        if len(hdr) != n:
            raise InvalidObjectError("Truncated archive file header")
        self.info = parse_archive_header(hdr)
        self._z = zlib.decompressobj(-15)
        self._remaining = self.info.size if self.info.is_regular else 0
        self._eof = False

    def read(self, n: int = -1) -> bytes:
        """Read up to n inflated bytes (all when n < 0)."""
        if n < 0:
            chunks = []
            while True:
                c = self.read(CHUNK)
                if not c:
                    return b"".join(chunks)
                chunks.append(c)
        # Inflate at most n bytes at a time (max_length): the rest of the input
        # waits in unconsumed_tail, so a highly compressed file never sits
        # inflated in memory and no buffer is re-sliced.
        out = b""
        z = self._z
        while not out and n > 0 and not self._eof:
            raw = z.unconsumed_tail or self._f.read(CHUNK)
            try:
                if raw:
                    out = z.decompress(raw, n)
                else:
                    out = z.flush()
                    self._eof = True
            except zlib.error as e:
                raise InvalidObjectError(f"Corrupted archive file: {e}") from None
            if z.eof:
                self._eof = True
        self._remaining -= len(out)
        if self._remaining < 0:
            raise InvalidObjectError("Corrupted archive file: more data than its header says")
        if not out and n > 0 and self._remaining > 0:
            raise InvalidObjectError("Corrupted archive file: truncated content")
        return out

    def close(self):
        self._f.close()


def compress_stream(info: FileInfo, src, dst, level: int = 6) -> None:
    """Write a .filez object for ``info`` reading file bytes from ``src`` into ``dst``."""
    dst.write(archive_header(info))
    if info.is_regular:
        z = zlib.compressobj(level, zlib.DEFLATED, -15)
        while True:
            chunk = src.read(CHUNK)
            if not chunk:
                break
            dst.write(z.compress(chunk))
        dst.write(z.flush())


def bareuser_meta(info: FileInfo) -> bytes:
    """The ``user.ostreemeta`` xattr value of a bare-user object: ``(uuua(ayay))``, BE ints."""
    return gvariant.serialize(DIRMETA_TYPE, (
        _bs32(info.uid), _bs32(info.gid), _bs32(info.mode), xattrs_to_wire(info.xattrs)))


_BAREUSER_PLAIN = struct.Struct(">III")


def parse_bareuser_meta(data: bytes):
    """Parse ``user.ostreemeta``: returns (uid, gid, mode, xattrs)."""
    if len(data) == 12:
        # no xattrs (the common case): three big-endian u32 and an empty array
        uid, gid, mode = _BAREUSER_PLAIN.unpack(data)
        return uid, gid, mode, []
    uid, gid, mode, xattrs = gvariant.deserialize(DIRMETA_TYPE, data)
    return _bs32(uid), _bs32(gid), _bs32(mode), xattrs_from_wire(xattrs)
