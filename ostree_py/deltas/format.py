"""Static delta on-disk format: names, paths, superblocks, parts, varints.

A delta lives in ``deltas/FROM[0:2]/FROM[2:]-TO/`` (or ``deltas/TO[0:2]/TO[2:]/``
from scratch), checksums written in "modified base64" (``/`` -> ``_``, no
padding). Inside: ``superblock`` and parts ``0``, ``1``, ...

superblock ``(a{sv}tayay(commit)aya(uayttay)a(yaytt))``:
  metadata (user keys, ``ostree.endianness`` y 'l'/'B', inline parts under
  their relative part path as ``(yay)``, detached commit metadata under
  ``deltas/.../commitmeta``), timestamp (big-endian), from (empty from
  scratch), to, the target commit object, an always-empty "parents" array,
  part headers ``(version, sha256 of the part file, size, usize, objects)``
  and fallback objects ``(objtype, csum, compressed, uncompressed)``.
  The integers of part headers and fallbacks are in the *generator's* byte
  order (a historical mistake): ``ostree.endianness`` says which, or a
  heuristic guesses.

A signed superblock is ``(taya{sv})``: magic ``OSTSGNDT`` (the u64 stored
big-endian), the unsigned superblock bytes, and ``{ostree.sign.TYPE: aay}``.

A part file is the GVariant ``(yay)``: one compression byte (0 none, 'x' xz)
then the (compressed) serialised ``(a(uuu)aa(ayay)ayay)``: modes (uid, gid,
mode big-endian), xattr sets, the payload blob and the operations, each
operation one opcode byte followed by protobuf-style varint arguments.
``open_part_body`` opens one in bounded memory (``PartBody``): an xz part is
decompressed into a temporary file, never into memory, and no further than
``part_body_limit`` of its header's declared sizes allows.
"""

import hashlib
import lzma
import os
import struct
import sys

from ostree_py.core import gvariant
from ostree_py.errors import GVariantError, OstreeError
from ostree_py.core.gvariant import Variant, bswap32, bswap64
from ostree_py.core.objects import COMMIT_TYPE
from ostree_py.repo.summary import delta_path_base

SUPERBLOCK_TYPE = "(a{sv}tayay" + COMMIT_TYPE + "aya(uayttay)a(yaytt))"
META_ENTRY_TYPE = "(uayttay)"
FALLBACK_TYPE = "(yaytt)"
PART_PAYLOAD_TYPE = "(a(uuu)aa(ayay)ayay)"
SIGNED_TYPE = "(taya{sv})"
SIGNED_MAGIC = b"OSTSGNDT"
SUMMARY_STATIC_DELTAS = "ostree.static-deltas"
DELTAPART_VERSION = 0
OBJTYPE_CSUM_LEN = 33

OP_OPEN_SPLICE_AND_CLOSE = ord("S")
OP_OPEN = ord("o")
OP_WRITE = ord("w")
OP_SET_READ_SOURCE = ord("r")
OP_UNSET_READ_SOURCE = ord("R")
OP_CLOSE = ord("c")
OP_BSPATCH = ord("B")
OP_NAMES = {
    OP_OPEN_SPLICE_AND_CLOSE: "openspliceclose", OP_OPEN: "open", OP_WRITE: "write",
    OP_SET_READ_SOURCE: "setread", OP_UNSET_READ_SOURCE: "unsetread", OP_CLOSE: "close",
    OP_BSPATCH: "bspatch",
}
OP_ORDER = (OP_OPEN_SPLICE_AND_CLOSE, OP_OPEN, OP_WRITE, OP_SET_READ_SOURCE,
            OP_UNSET_READ_SOURCE, OP_CLOSE, OP_BSPATCH)

COMPRESSION_NONE = 0
COMPRESSION_XZ = ord("x")

HOST_ENDIAN = "l" if sys.byteorder == "little" else "B"


# ---------------------------------------------------------------- names and paths

def delta_dir(frm: str | None, to: str) -> str:
    """Repo-relative directory of a delta."""
    return delta_path_base("deltas/", frm, to)


def delta_path(frm: str | None, to: str, target: str) -> str:
    return f"{delta_dir(frm, to)}/{target}"


def part_relpath(frm: str | None, to: str, i: int) -> str:
    return delta_path(frm, to, str(i))


def commitmeta_key(frm: str | None, to: str) -> str:
    return delta_path(frm, to, "commitmeta")


def delta_name(frm: str | None, to: str) -> str:
    return f"{frm}-{to}" if frm else to


# ---------------------------------------------------------------- varints

def write_varuint64(out: bytearray, n: int) -> None:
    """Append ``n`` as a protobuf varint (7 bits a byte, low bits first)."""
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def read_varuint64(data, pos: int) -> tuple[int, int]:
    """(value, new position); OstreeError on truncation or more than 10 bytes."""
    result = 0
    shift = 0
    n = len(data)
    for count in range(10):
        if pos >= n:
            break
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
    raise OstreeError("Unexpected EOF reading varint")


# ---------------------------------------------------------------- superblocks

class Superblock:
    """A parsed delta superblock; integers of parts/fallbacks already in host meaning."""

    __slots__ = ("metadata", "timestamp", "from_checksum", "to_checksum", "commit", "parents",
                 "parts", "fallbacks", "endianness", "endianness_heuristic", "swap", "raw",
                 "signed", "signatures")

    def part_objects(self, i: int) -> list[tuple[str, str]]:
        return parse_object_array(self.parts[i][4])


class PartHeader(tuple):
    """(version, checksum bytes, size, usize, objects bytes)."""


def _endianness(metadata: dict, parts) -> tuple[str, bool]:
    """('l' | 'B' | 'invalid', was_heuristic) as _ostree_delta_get_endianness."""
    v = metadata.get("ostree.endianness")
    if isinstance(v, Variant) and v.type == "y":
        c = chr(v.value)
        return ({"l": "l", "B": "B"}.get(c, "invalid"), False)
    total_size = total_objects = 0
    swapped = False
    for _version, _csum, size, usize, objects in parts:
        total_objects += len(objects) // OBJTYPE_CSUM_LEN
        total_size += size
        if size > usize:
            ratio = size / usize if usize else float("inf")
            if ratio > 1.2:
                swapped = True
                break
    if not swapped and total_objects > 0 and total_size // total_objects > 0xFFFFFFFF:
        swapped = True
    if swapped:
        return ("B" if HOST_ENDIAN == "l" else "l"), True
    return "invalid", True


def is_signed_superblock(data: bytes) -> bool:
    """Whether ``data`` is a signed superblock holding at least one ``ostree.sign.*`` entry."""
    if data[:8] != SIGNED_MAGIC:
        return False
    try:
        _magic, _sb, sigs = gvariant.deserialize(SIGNED_TYPE, data)
    except GVariantError:
        return False
    return any(k.startswith("ostree.sign.") for k in sigs)


def unwrap_signed(data: bytes) -> tuple[bytes, dict | None]:
    """(superblock bytes, signatures dict or None) of a possibly signed superblock file."""
    if is_signed_superblock(data):
        _magic, sb, sigs = gvariant.deserialize(SIGNED_TYPE, data)
        return bytes(sb), sigs
    return data, None


def wrap_signed(superblock: bytes, signatures: dict) -> bytes:
    """The signed superblock ``(taya{sv})`` around ``superblock``."""
    magic = int.from_bytes(SIGNED_MAGIC, "little")
    return gvariant.serialize(SIGNED_TYPE, (magic, superblock, signatures))


def parse_superblock(data: bytes) -> Superblock:
    """Parse a superblock file (signed or not)."""
    raw, sigs = unwrap_signed(data)
    try:
        md, ts, frm, to, commit, parents, parts, fallbacks = gvariant.deserialize(SUPERBLOCK_TYPE, raw)
    except GVariantError as e:
        raise OstreeError(f"Invalid delta superblock: {e.message}") from None
    sb = Superblock()
    sb.raw = raw
    sb.signed = sigs is not None
    sb.signatures = sigs
    sb.metadata = md
    sb.timestamp = bswap64(ts)
    sb.from_checksum = bytes(frm).hex() if len(frm) else None
    if frm and len(frm) != 32:
        raise OstreeError(f"Invalid checksum of length {len(frm)} expected 32")
    if len(to) != 32:
        raise OstreeError(f"Invalid checksum of length {len(to)} expected 32")
    sb.to_checksum = bytes(to).hex()
    sb.commit = commit
    sb.parents = bytes(parents)
    endian, heuristic = _endianness(md, parts)
    sb.endianness = endian
    sb.endianness_heuristic = heuristic
    sb.swap = endian in ("l", "B") and endian != HOST_ENDIAN
    sw32 = bswap32 if sb.swap else (lambda v: v)
    sw64 = bswap64 if sb.swap else (lambda v: v)
    sb.parts = [(sw32(v), bytes(c), sw64(s), sw64(u), bytes(o)) for v, c, s, u, o in parts]
    sb.fallbacks = [(t, bytes(c), sw64(s), sw64(u)) for t, c, s, u in fallbacks]
    return sb


def commit_bytes(sb: Superblock) -> bytes:
    """The serialised target commit carried in the superblock."""
    return gvariant.serialize(COMMIT_TYPE, sb.commit)


def build_superblock(metadata: dict, timestamp: int, frm: str | None, to: str, commit_data: bytes,
                     part_headers, fallbacks, endianness: str) -> bytes:
    """Serialise a superblock. ``part_headers``: (version, csum bytes, size, usize, objects bytes);
    ``fallbacks``: (objtype id, csum hex, compressed, uncompressed); integers in host meaning,
    swapped here when ``endianness`` is not the host's."""
    swap = endianness != HOST_ENDIAN
    sw32 = bswap32 if swap else (lambda v: v)
    sw64 = bswap64 if swap else (lambda v: v)
    commit = gvariant.deserialize(COMMIT_TYPE, commit_data)
    parts = [(sw32(v), c, sw64(s), sw64(u), o) for v, c, s, u, o in part_headers]
    fb = [(t, bytes.fromhex(c), sw64(s), sw64(u)) for t, c, s, u in fallbacks]
    return gvariant.serialize(SUPERBLOCK_TYPE, (
        metadata, bswap64(timestamp), bytes.fromhex(frm) if frm else b"", bytes.fromhex(to),
        commit, b"", parts, fb))


def parse_object_array(objects: bytes) -> list[tuple[str, str]]:
    """The (objtype name, hex checksum) list of a part header's object array."""
    from ostree_py.core.objects import OBJTYPE_BY_ID
    n = len(objects)
    if n % OBJTYPE_CSUM_LEN:
        raise OstreeError(f"Invalid checksum array length {n}")
    out = []
    for i in range(0, n, OBJTYPE_CSUM_LEN):
        t = objects[i]
        name = OBJTYPE_BY_ID.get(t)
        if name is None:
            raise OstreeError(f"Invalid object type '{t}'")
        out.append((name, objects[i + 1:i + OBJTYPE_CSUM_LEN].hex()))
    return out


def object_array(objects) -> bytes:
    """Serialise (objtype name, hex checksum) pairs as a part header's object array."""
    from ostree_py.core.objects import OBJTYPE_IDS
    return b"".join(bytes((OBJTYPE_IDS[t],)) + bytes.fromhex(c) for t, c in objects)


# ---------------------------------------------------------------- parts

def compress_part(payload: bytes, compression: int = COMPRESSION_XZ) -> bytes:
    """The part file bytes for a serialised ``(a(uuu)aa(ayay)ayay)``."""
    if compression == COMPRESSION_NONE:
        return b"\0" + payload
    # the reference's xz preset 8 (CRC64); the dictionary need not exceed the input
    dict_size = max(1 << 16, min(1 << 25, 1 << max(0, (len(payload) - 1).bit_length())))
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 8, "dict_size": dict_size}]
    return b"x" + lzma.compress(payload, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, filters=filters)


# A part is read in bounded pieces: its payload may expand to far more than
# it takes on the wire (xz), so it is decompressed into a temporary file
# (``spool``, in the repository's tmp/) and read from there with pread, the
# GVariant framing (at its end) first. Memory stays the same whatever the
# part's size; disk use is capped by ``part_body_limit``.
IO_CHUNK = 1 << 20
_XZ_INPUT_CHUNK = 64 * 1024
# liblzma's memory for a stream, mostly its dictionary: ostree's generators use
# preset 8 (32 MiB, 33 MiB in all). A stream asking for more is refused.
XZ_MEMLIMIT = 48 * 1024 * 1024
# What a part's serialised payload may hold beyond the declared uncompressed
# size (the sum of its objects' sizes, as the reference's generator counts it):
# mode and xattr tables, symlink targets, read-source checksums, bsdiff control
# blocks and the operations themselves.
PART_SLACK = 1024 * 1024
PART_SLACK_PER_OBJECT = 64 * 1024
MAX_XATTRS_SIZE = 16 * 1024 * 1024


def part_body_limit(usize: int, n_objects: int) -> int:
    """The most bytes a part declaring ``usize`` for ``n_objects`` objects may decompress to."""
    return 2 * usize + n_objects * PART_SLACK_PER_OBJECT + PART_SLACK


def _pread_all(fd: int, n: int, off: int) -> bytes:
    """Up to ``n`` bytes at ``off`` (fewer only at end of file)."""
    b = os.pread(fd, n, off)
    if len(b) == n or not b:
        return b
    parts = [b]
    got = len(b)
    while got < n:
        b = os.pread(fd, n - got, off + got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def _write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class PartBody:
    """An opened part: the serialised ``(a(uuu)aa(ayay)ayay)`` in a file (read with
    pread) or in memory, its framing checked, members read in bounded pieces.

    ``n_modes``, ``n_xattrs``, ``payload_size``, ``ops_size``; ``mode(i)`` ->
    raw (uid, gid, mode) (big-endian values, as stored); ``xattrs(i)`` -> wire
    xattrs; ``payload(offset, n)`` -> bytes; ``ops()`` -> an ``OpsReader``.
    Malformed framing raises "Invalid delta part: ..." (OstreeError).
    """

    def __init__(self, src, start: int, end: int, closers=()):
        if isinstance(src, int):
            self._fd, self._mem = src, None
        else:
            self._fd, self._mem = None, memoryview(src)
        self._base = start
        self._closers = list(closers)
        self._mode_cache = {}
        self._xattrs_cache = (None, None)
        try:
            self._parse_framing(end - start)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        closers, self._closers = self._closers, []
        for c in closers:
            c()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self, off: int, n: int) -> bytes:
        """``n`` bytes at body offset ``off`` (the caller keeps within the body)."""
        if self._mem is not None:
            return bytes(self._mem[self._base + off:self._base + off + n])
        return _pread_all(self._fd, n, self._base + off)

    def _offset(self, pos: int, size: int) -> int:
        return int.from_bytes(self._read(pos, size), "little") if size else 0

    @staticmethod
    def _invalid(what: str):
        return OstreeError(f"Invalid delta part: {what}")

    def _parse_framing(self, size: int) -> None:
        # the tuple: members a(uuu) (4-aligned), aa(ayay), ay, ay; the end offsets
        # of the first three are stored last, the first member's at the very end
        osize = gvariant.offset_size(size)
        frame_end = size
        pos = 0
        ends = []
        for align in (4, 1, 1):
            pos = (pos + align - 1) & ~(align - 1)
            frame_end -= osize
            if frame_end < 0:
                raise self._invalid("Tuple framing offsets out of bounds")
            e = self._offset(frame_end, osize)
            if e < pos or e > frame_end:
                raise self._invalid(f"Tuple '{PART_PAYLOAD_TYPE}' member framing is invalid")
            ends.append(e)
            pos = e
        e0, e1, e2 = ends
        self.ops_start, self.ops_size = e2, frame_end - e2
        self.payload_start, self.payload_size = e1, e2 - e1
        if e0 % 12:
            raise self._invalid("Array of '(uuu)' has a size that is not a multiple of its element size")
        self.n_modes = e0 // 12
        # aa(ayay): elements of alignment 1, their end offsets after them
        self._xa_start = e0
        n = e1 - e0
        if n == 0:
            self.n_xattrs = 0
            self._xa_osize = self._xa_last = 0
            return
        xo = gvariant.offset_size(n)
        last = self._offset(e1 - xo, xo)
        if last > n:
            raise self._invalid("Array framing offset out of bounds")
        if (n - last) % xo:
            raise self._invalid("Array framing offsets have an invalid size")
        self.n_xattrs = (n - last) // xo
        self._xa_osize, self._xa_last = xo, last

    def mode(self, i: int) -> tuple[int, int, int]:
        """Raw (uid, gid, mode) of entry ``i``; IndexError if there is none."""
        v = self._mode_cache.get(i)
        if v is None:
            if not 0 <= i < self.n_modes:
                raise IndexError(i)
            v = struct.unpack("<III", self._read(12 * i, 12))
            if len(self._mode_cache) < 4096:
                self._mode_cache[i] = v
        return v

    def xattrs(self, i: int) -> list:
        """The wire xattrs ``[(name, value)]`` of entry ``i``; IndexError if there is none."""
        if self._xattrs_cache[0] == i:
            return self._xattrs_cache[1]
        if not 0 <= i < self.n_xattrs:
            raise IndexError(i)
        xo = self._xa_osize
        table = self._xa_start + self._xa_last
        s = self._offset(table + (i - 1) * xo, xo) if i else 0
        e = self._offset(table + i * xo, xo)
        if s > e or e > self._xa_last:
            raise self._invalid("Array element framing is invalid")
        if e - s > MAX_XATTRS_SIZE:
            raise self._invalid(f"xattrs of {e - s} bytes, more than {MAX_XATTRS_SIZE}")
        try:
            v = gvariant.deserialize("a(ayay)", self._read(self._xa_start + s, e - s))
        except GVariantError as err:
            raise self._invalid(err.message) from None
        self._xattrs_cache = (i, v)
        return v

    def payload(self, offset: int, n: int) -> bytes:
        """``n`` payload bytes at ``offset`` (the caller checks the range)."""
        return self._read(self.payload_start + offset, n)

    def ops(self) -> "OpsReader":
        return OpsReader(self)

    def values(self):
        """(modes, xattrs, payload, ops) all in memory, for small parts (tests)."""
        return ([self.mode(i) for i in range(self.n_modes)], [self.xattrs(i) for i in range(self.n_xattrs)],
                self.payload(0, self.payload_size), self._read(self.ops_start, self.ops_size))


class OpsReader:
    """The operations of a part, read through a small window."""

    __slots__ = ("_body", "_end", "_buf", "_off", "pos")
    WINDOW = 64 * 1024

    def __init__(self, body: PartBody):
        self._body = body
        self._end = body.ops_size
        self._buf = b""
        self._off = 0
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= self._end

    def _fill(self) -> None:
        self._off = self.pos
        # a varint takes up to 10 bytes
        n = min(max(self.WINDOW, 10), self._end - self.pos)
        self._buf = self._body._read(self._body.ops_start + self.pos, n)

    def byte(self) -> int:
        i = self.pos - self._off
        if i >= len(self._buf):
            self._fill()
            i = 0
        self.pos += 1
        return self._buf[i]

    def varint(self) -> int:
        i = self.pos - self._off
        if len(self._buf) - i < 10 and self._off + len(self._buf) < self._end:
            self._fill()
            i = 0
        v, j = read_varuint64(self._buf, i)
        self.pos += j - i
        return v


def _hash_file(fd: int) -> str:
    h = hashlib.sha256()
    off = 0
    while True:
        b = os.pread(fd, IO_CHUNK, off)
        if not b:
            return h.hexdigest()
        h.update(b)
        off += len(b)


def _unxz(read_input, out_fd: int, limit: int | None) -> int:
    """Decompress the xz input (``read_input()`` -> next chunk, b"" at the end)
    into ``out_fd``; the number of bytes written. Concatenated streams are read
    as lzma.decompress reads them (trailing bytes that are no stream are ignored)."""
    written = 0
    first = True
    pending = b""
    while True:
        d = lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT)
        start = written
        try:
            while not d.eof:
                if d.needs_input:
                    data = pending or read_input()
                    pending = b""
                    if not data:
                        break
                    out = d.decompress(data, IO_CHUNK)
                else:
                    out = d.decompress(b"", IO_CHUNK)
                if out:
                    written += len(out)
                    if limit is not None and written > limit:
                        raise OstreeError(f"Decompressing delta part: more than the {limit} bytes "
                                          f"its declared uncompressed size allows")
                    _write_all(out_fd, out)
        except lzma.LZMAError as e:
            if first:
                raise OstreeError(f"Decompressing delta part: {e}") from None
            os.ftruncate(out_fd, start)
            return start
        if not d.eof:
            raise OstreeError("Decompressing delta part: Compressed data ended before the "
                              "end-of-stream marker was reached")
        first = False
        pending = d.unused_data or read_input()
        if not pending:
            return written


def open_part_body(src, expected_checksum: str | None = None, *, limit: int | None = None,
                   spool=None) -> PartBody:
    """Verify (unless ``expected_checksum`` is None) and open a part file.

    ``src``: the part file's bytes, or a binary file (read by descriptor with
    pread; the returned body closes it). ``spool()`` -> the descriptor of a new,
    unnamed temporary file for a compressed part's payload (needed for xz).
    ``limit``: the most bytes the payload may take (``part_body_limit``).
    """
    closers = []
    if isinstance(src, (bytes, bytearray, memoryview)):
        mem = memoryview(src)
        fd = None
        size = len(mem)
    else:
        if src.writable():
            src.flush()
        fd = src.fileno()
        closers.append(src.close)
        mem = None
        size = os.fstat(fd).st_size
    try:
        if expected_checksum is not None:
            actual = hashlib.sha256(mem).hexdigest() if mem is not None else _hash_file(fd)
            if actual != expected_checksum:
                raise OstreeError(f"Checksum mismatch in static delta part; expected={expected_checksum} "
                                  f"actual={actual}")
        if size == 0:
            raise OstreeError("Reading initial compression flag byte: unexpected end of file")
        comptype = mem[0] if mem is not None else os.pread(fd, 1, 0)[0]
        if comptype == COMPRESSION_NONE:
            if limit is not None and size - 1 > limit:
                raise OstreeError(f"Invalid delta part: more than the {limit} bytes "
                                  f"its declared uncompressed size allows")
            return PartBody(mem if mem is not None else fd, 1, size, closers)
        if comptype != COMPRESSION_XZ:
            raise OstreeError(f"Invalid compression type '{comptype}'")
        if mem is not None:
            chunks = iter([mem[i:i + _XZ_INPUT_CHUNK] for i in range(1, size, _XZ_INPUT_CHUNK)])

            def read_input():
                return bytes(next(chunks, b""))
        else:
            pos = 1

            def read_input():
                nonlocal pos
                b = os.pread(fd, _XZ_INPUT_CHUNK, pos)
                pos += len(b)
                return b
        out = spool()
        try:
            n = _unxz(read_input, out, limit)
        except OSError as e:
            os.close(out)
            raise OstreeError(f"Decompressing delta part: {e.strerror or e}") from None
        except BaseException:
            os.close(out)
            raise
        for c in closers:
            c()
        return PartBody(out, 0, n, [lambda: os.close(out)])
    except OSError as e:
        for c in closers:
            c()
        raise OstreeError(f"Reading delta part: {e.strerror or e}") from None
    except BaseException:
        for c in closers:
            c()
        raise


def serialize_part_payload(modes, xattrs, payload: bytes, ops: bytes) -> bytes:
    return gvariant.serialize(PART_PAYLOAD_TYPE, (modes, xattrs, payload, ops))
