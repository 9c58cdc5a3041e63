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
"""

import base64
import hashlib
import lzma
import sys

from .. import gvariant
from ..errors import GVariantError, OstreeError
from ..gvariant import Variant, bswap32, bswap64
from ..objects import COMMIT_TYPE

SUPERBLOCK_TYPE = "(a{sv}tayay" + COMMIT_TYPE + "aya(uayttay)a(yaytt))"
META_ENTRY_TYPE = "(uayttay)"
FALLBACK_TYPE = "(yaytt)"
PART_PAYLOAD_TYPE = "(a(uuu)aa(ayay)ayay)"
SIGNED_TYPE = "(taya{sv})"
SIGNED_MAGIC = b"OSTSGNDT"
SUMMARY_STATIC_DELTAS = "ostree.static-deltas"
DELTAPART_VERSION = 0
OBJTYPE_CSUM_LEN = 33
PART_MAX_SIZE_BYTES = 16 * 1024 * 1024

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

def checksum_to_mb64(csum: str) -> str:
    """A hex checksum in modified base64 (43 chars)."""
    return base64.b64encode(bytes.fromhex(csum)).decode("ascii").rstrip("=").replace("/", "_")


def mb64_to_checksum(s: str) -> str:
    """Modified base64 (43 chars) back to hex; ValueError if malformed."""
    if len(s) != 43:
        raise ValueError("bad length")
    raw = base64.b64decode(s.replace("_", "/") + "=", validate=True)
    return raw.hex()


def _path_base(prefix: str, frm: str | None, to: str) -> str:
    if frm:
        f = checksum_to_mb64(frm)
        return f"{prefix}{f[:2]}/{f[2:]}-{checksum_to_mb64(to)}"
    t = checksum_to_mb64(to)
    return f"{prefix}{t[:2]}/{t[2:]}"


def delta_dir(frm: str | None, to: str) -> str:
    """Repo-relative directory of a delta."""
    return _path_base("deltas/", frm, to)


def delta_path(frm: str | None, to: str, target: str) -> str:
    return f"{delta_dir(frm, to)}/{target}"


def superblock_relpath(frm: str | None, to: str) -> str:
    return delta_path(frm, to, "superblock")


def part_relpath(frm: str | None, to: str, i: int) -> str:
    return delta_path(frm, to, str(i))


def commitmeta_key(frm: str | None, to: str) -> str:
    return delta_path(frm, to, "commitmeta")


def index_relpath(to: str) -> str:
    return _path_base("delta-indexes/", None, to) + ".index"


def delta_name(frm: str | None, to: str) -> str:
    return f"{frm}-{to}" if frm else to


def parse_delta_name(name: str) -> tuple[str | None, str]:
    """``FROM-TO`` or ``TO`` -> (from or None, to), validating the checksums as the reference."""
    from ..reflist import validate_checksum_string
    parts = name.split("-", 1)
    validate_checksum_string(parts[0])
    if len(parts) == 1:
        return None, parts[0]
    validate_checksum_string(parts[1])
    return parts[0], parts[1]


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
    from ..objects import OBJTYPE_BY_ID
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
    from ..objects import OBJTYPE_IDS
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


def open_part(data: bytes, expected_checksum: str | None = None):
    """Verify (unless ``expected_checksum`` is None) and decompress a part file;
    return (modes, xattrs, payload, ops)."""
    if expected_checksum is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected_checksum:
            raise OstreeError(f"Checksum mismatch in static delta part; expected={expected_checksum} "
                              f"actual={actual}")
    if not data:
        raise OstreeError("Reading initial compression flag byte: unexpected end of file")
    comptype = data[0]
    if comptype == COMPRESSION_NONE:
        body = data[1:]
    elif comptype == COMPRESSION_XZ:
        try:
            body = lzma.decompress(memoryview(data)[1:], format=lzma.FORMAT_XZ)
        except lzma.LZMAError as e:
            raise OstreeError(f"Decompressing delta part: {e}") from None
    else:
        raise OstreeError(f"Invalid compression type '{comptype}'")
    try:
        modes, xattrs, payload, ops = gvariant.deserialize(PART_PAYLOAD_TYPE, body)
    except GVariantError as e:
        raise OstreeError(f"Invalid delta part: {e.message}") from None
    return modes, xattrs, payload, ops


def serialize_part_payload(modes, xattrs, payload: bytes, ops: bytes) -> bytes:
    return gvariant.serialize(PART_PAYLOAD_TYPE, (modes, xattrs, payload, ops))
