"""GVariant serialisation (normal form, little-endian) for the types ostree uses.

Python value mapping:
  y n q i u x t h  -> int          b -> bool          d -> float
  s o g            -> str          v -> Variant(type, value)
  ay               -> bytes        a{..} -> dict (insertion order kept)
  other a*         -> list         m*  -> None or the value
  (...)            -> tuple        {..} outside an array -> tuple (key, value)

serialize(typ, value) -> bytes; deserialize(typ, data) -> value.
Deserialisation is strict: malformed framing raises GVariantError.
"""

import struct
from functools import lru_cache

from ostree_py.errors import GVariantError

__all__ = ["Variant", "serialize", "deserialize", "parse_type", "GVariantError", "bswap32", "bswap64"]

# Reference ostree 2022.7 refuses metadata objects above 10 MiB; our parser
# bounds every input it is given by its length anyway, so this is a sanity cap.
MAX_VARIANT_SIZE = 128 * 1024 * 1024


class Variant:
    """A boxed value of type ``v``: its type string and its Python value."""

    __slots__ = ("type", "value")

    def __init__(self, type: str, value):
        self.type = type
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Variant) and self.type == other.type and self.value == other.value

    def __hash__(self):
        return hash(self.type)

    def __repr__(self):
        return f"Variant({self.type!r}, {self.value!r})"


def bswap32(v: int) -> int:
    """Swap the byte order of a 32-bit unsigned integer."""
    return int.from_bytes(v.to_bytes(4, "little"), "big")


def bswap64(v: int) -> int:
    """Swap the byte order of a 64-bit unsigned integer."""
    return int.from_bytes(v.to_bytes(8, "little"), "big")


_BASIC_FIXED = {
    "y": (1, "<B"), "b": (1, "<?"), "n": (2, "<h"), "q": (2, "<H"),
    "i": (4, "<i"), "u": (4, "<I"), "h": (4, "<i"), "x": (8, "<q"),
    "t": (8, "<Q"), "d": (8, "<d"),
}
_BASIC = set(_BASIC_FIXED) | set("sog")


def offset_size(total: int) -> int:
    """Bytes per framing offset in a container of ``total`` bytes (0, 1, 2, 4 or 8)."""
    if total == 0:
        return 0
    if total <= 0xFF:
        return 1
    if total <= 0xFFFF:
        return 2
    if total <= 0xFFFFFFFF:
        return 4
    return 8


def _frame_size(body: int, n_offsets: int) -> int:
    """Offset size to use for a container with ``body`` bytes and n offsets."""
    if body == 0 and n_offsets == 0:
        return 0
    for size, limit in ((1, 0xFF), (2, 0xFFFF), (4, 0xFFFFFFFF)):
        if body + n_offsets * size <= limit:
            return size
    return 8


def _read_offset(data, pos: int, size: int) -> int:
    return int.from_bytes(data[pos:pos + size], "little")


def _pad(n: int, align: int) -> int:
    return (n + align - 1) & ~(align - 1)


class _T:
    """A compiled type: alignment, fixed size (or None), encoder and decoder."""

    __slots__ = ("sig", "align", "fixed", "enc", "dec")


def _split_types(sig: str, i: int) -> int:
    """Return the index just past the single complete type starting at sig[i]."""
    if i >= len(sig):
        raise GVariantError(f"Invalid type string '{sig}'")
    c = sig[i]
    if c in _BASIC or c == "v":
        return i + 1
    if c in "am":
        return _split_types(sig, i + 1)
    if c == "(":
        i += 1
        while i < len(sig) and sig[i] != ")":
            i = _split_types(sig, i)
        if i >= len(sig):
            raise GVariantError(f"Invalid type string '{sig}'")
        return i + 1
    if c == "{":
        if i + 1 >= len(sig) or sig[i + 1] not in _BASIC:
            raise GVariantError(f"Invalid type string '{sig}'")
        j = _split_types(sig, i + 2)
        if j >= len(sig) or sig[j] != "}":
            raise GVariantError(f"Invalid type string '{sig}'")
        return j + 1
    raise GVariantError(f"Invalid type string '{sig}'")


def is_valid_type(sig: str) -> bool:
    """Whether ``sig`` is exactly one complete GVariant type string."""
    try:
        return _split_types(sig, 0) == len(sig)
    except (GVariantError, RecursionError):
        return False


@lru_cache(maxsize=None)
def parse_type(sig: str) -> _T:
    """Compile a type string into its codec."""
    if not sig or _split_types(sig, 0) != len(sig):
        raise GVariantError(f"Invalid type string '{sig}'")
    c = sig[0]
    if c in _BASIC_FIXED:
        return _basic_fixed(sig)
    if c in "sog":
        return _string(sig)
    if c == "v":
        return _variant()
    if c == "a":
        return _array(sig)
    if c == "m":
        return _maybe(sig)
    if c == "(":
        members, i = [], 1
        while sig[i] != ")":
            j = _split_types(sig, i)
            members.append(sig[i:j])
            i = j
        return _tuple(sig, members)
    # dict entry
    j = _split_types(sig, 2)
    return _tuple(sig, [sig[1:2], sig[2:j]])


def _basic_fixed(sig):
    size, fmt = _BASIC_FIXED[sig]
    st = struct.Struct(fmt)
    t = _T()
    t.sig, t.align, t.fixed = sig, size, size
    pack, unpack_from = st.pack, st.unpack_from
    if sig == "b":
        def enc(buf, v):
            buf.append(1 if v else 0)

        def dec(data, start, end):
            if end - start != 1:
                raise GVariantError("Invalid boolean size")
            b = data[start]
            if b > 1:
                raise GVariantError("Invalid boolean value")
            return b == 1
    else:
        def enc(buf, v):
            try:
                buf += pack(v)
            except struct.error as e:
                raise GVariantError(f"Value {v!r} out of range for type '{sig}'") from None

        def dec(data, start, end):
            if end - start != size:
                raise GVariantError(f"Invalid size for type '{sig}'")
            return unpack_from(data, start)[0]
    t.enc, t.dec = enc, dec
    return t


def _string(sig):
    t = _T()
    t.sig, t.align, t.fixed = sig, 1, None

    def enc(buf, v):
        if not isinstance(v, str):
            raise GVariantError(f"Expected a string for type '{sig}', got {type(v).__name__}")
        try:
            b = v.encode("utf-8")
        except UnicodeEncodeError:
            # a str holding surrogates (bytes read with surrogateescape): GVariant
            # strings are UTF-8, so the value cannot be written
            raise GVariantError(f"Invalid UTF-8 in string for type '{sig}'") from None
        if b"\0" in b:
            raise GVariantError("String contains a NUL byte")
        buf += b
        buf.append(0)

    def dec(data, start, end):
        if end <= start or data[end - 1] != 0:
            raise GVariantError("String is not NUL-terminated")
        raw = bytes(data[start:end - 1])
        if b"\0" in raw:
            raise GVariantError("String contains an embedded NUL byte")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise GVariantError("String is not valid UTF-8") from None
    t.enc, t.dec = enc, dec
    return t


def _variant():
    t = _T()
    t.sig, t.align, t.fixed = "v", 8, None

    def enc(buf, v):
        if not isinstance(v, Variant):
            raise GVariantError(f"Expected a Variant for type 'v', got {type(v).__name__}")
        child = parse_type(v.type)
        start = len(buf)
        child.enc(buf, v.value)
        if child.fixed is not None and len(buf) - start != child.fixed:
            raise GVariantError("Internal error: fixed-size child of wrong size")
        buf.append(0)
        buf += v.type.encode("ascii")

    def dec(data, start, end):
        # the type string follows the last NUL byte
        i = end - 1
        while i >= start and data[i] != 0:
            i -= 1
        if i < start:
            raise GVariantError("Variant has no type string")
        try:
            sig = bytes(data[i + 1:end]).decode("ascii")
        except UnicodeDecodeError:
            raise GVariantError("Invalid variant type string") from None
        if not is_valid_type(sig):
            raise GVariantError(f"Invalid variant type string '{sig}'")
        child = parse_type(sig)
        return Variant(sig, child.dec(data, start, i))
    t.enc, t.dec = enc, dec
    return t


def _array(sig):
    esig = sig[1:]
    el = parse_type(esig)
    t = _T()
    t.sig, t.align, t.fixed = sig, el.align, None
    is_dict = esig[0] == "{"

    if esig == "y":
        def enc(buf, v):
            if not isinstance(v, (bytes, bytearray, memoryview)):
                raise GVariantError(f"Expected bytes for type 'ay', got {type(v).__name__}")
            buf += v

        def dec(data, start, end):
            return bytes(data[start:end])
        t.enc, t.dec = enc, dec
        return t

    items_of = (lambda v: v.items()) if is_dict else (lambda v: v)
    ealign = el.align

    if el.fixed is not None:
        esize = el.fixed
        eenc, edec = el.enc, el.dec

        def enc(buf, v):
            base = len(buf)
            for item in items_of(v):
                eenc(buf, item)
            if len(buf) - base != esize * len(v):
                raise GVariantError("Internal error: fixed-size element of wrong size")

        def dec(data, start, end):
            n = end - start
            if n % esize:
                raise GVariantError(f"Array of '{esig}' has a size that is not a multiple of its element size")
            out = [edec(data, p, p + esize) for p in range(start, end, esize)]
            return dict(out) if is_dict else out
        t.enc, t.dec = enc, dec
        return t

    eenc, edec = el.enc, el.dec

    def enc(buf, v):
        body = bytearray()
        ends = []
        for item in items_of(v):
            if ealign > 1:
                body += b"\0" * (_pad(len(body), ealign) - len(body))
            eenc(body, item)
            ends.append(len(body))
        osize = _frame_size(len(body), len(ends))
        for e in ends:
            body += e.to_bytes(osize, "little")
        buf += body

    def dec(data, start, end):
        n = end - start
        if n == 0:
            return {} if is_dict else []
        osize = offset_size(n)
        last = _read_offset(data, end - osize, osize)
        if last > n:
            raise GVariantError("Array framing offset out of bounds")
        nbytes = n - last
        if nbytes % osize:
            raise GVariantError("Array framing offsets have an invalid size")
        count = nbytes // osize
        out = []
        pos = 0
        op = start + last
        for _ in range(count):
            e = _read_offset(data, op, osize)
            op += osize
            s = _pad(pos, ealign)
            if s > e or e > last:
                raise GVariantError("Array element framing is invalid")
            out.append(edec(data, start + s, start + e))
            pos = e
        return dict(out) if is_dict else out
    t.enc, t.dec = enc, dec
    return t


def _maybe(sig):
    el = parse_type(sig[1:])
    t = _T()
    t.sig, t.align, t.fixed = sig, el.align, None
    eenc, edec, efixed = el.enc, el.dec, el.fixed

    def enc(buf, v):
        if v is None:
            return
        start = len(buf)
        eenc(buf, v)
        if efixed is None:
            buf.append(0)
        elif len(buf) - start != efixed:
            raise GVariantError("Internal error: fixed-size element of wrong size")

    def dec(data, start, end):
        if end == start:
            return None
        if efixed is not None:
            if end - start != efixed:
                raise GVariantError("Maybe value has an invalid size")
            return edec(data, start, end)
        if data[end - 1] != 0:
            raise GVariantError("Maybe value is missing its trailing NUL")
        return edec(data, start, end - 1)
    t.enc, t.dec = enc, dec
    return t


def _tuple(sig, members):
    ms = [parse_type(m) for m in members]
    t = _T()
    t.sig = sig
    t.align = max([m.align for m in ms], default=1)
    # fixed size: all members fixed
    if all(m.fixed is not None for m in ms):
        off = 0
        for m in ms:
            off = _pad(off, m.align) + m.fixed
        t.fixed = _pad(off, t.align) if ms else 1
    else:
        t.fixed = None
    n = len(ms)
    tfixed, talign = t.fixed, t.align
    is_entry = sig[0] == "{"

    def enc(buf, v):
        if not isinstance(v, (tuple, list)) or len(v) != n:
            raise GVariantError(f"Expected a {n}-tuple for type '{sig}'")
        if n == 0:
            buf.append(0)
            return
        body = bytearray()
        ends = []
        for i, m in enumerate(ms):
            if m.align > 1:
                body += b"\0" * (_pad(len(body), m.align) - len(body))
            m.enc(body, v[i])
            if m.fixed is None and i != n - 1:
                ends.append(len(body))
        if tfixed is not None:
            body += b"\0" * (tfixed - len(body))
        else:
            osize = _frame_size(len(body), len(ends))
            for e in reversed(ends):
                body += e.to_bytes(osize, "little")
        buf += body

    def dec(data, start, end):
        size = end - start
        if n == 0:
            if size != 1:
                raise GVariantError("Unit tuple of invalid size")
            return ()
        if tfixed is not None and size != tfixed:
            raise GVariantError(f"Fixed-size tuple '{sig}' has an invalid size")
        osize = offset_size(size)
        frame_end = end  # offsets are read backwards from here
        pos = 0
        out = []
        for i, m in enumerate(ms):
            pos = _pad(pos, m.align)
            if m.fixed is not None:
                e = pos + m.fixed
            elif i == n - 1:
                e = frame_end - start
            else:
                frame_end -= osize
                if frame_end < start:
                    raise GVariantError("Tuple framing offsets out of bounds")
                e = _read_offset(data, frame_end, osize)
            if e < pos or start + e > frame_end:
                raise GVariantError(f"Tuple '{sig}' member framing is invalid")
            out.append(m.dec(data, start + pos, start + e))
            pos = e
        return tuple(out)
    t.enc, t.dec = enc, dec
    return t


def serialize(typ: str, value) -> bytes:
    """Serialise ``value`` as GVariant type ``typ`` in normal form."""
    t = parse_type(typ)
    buf = bytearray()
    t.enc(buf, value)
    return bytes(buf)


# ostree's dirtree: every directory a checkout, pull, prune or fsck walks is one
_DIRTREE_SIG = "(a(say)a(sayay))"


_OFFSET_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}


def _dirtree_entries(data: bytes, start: int, end: int, with_meta: bool):
    """The a(say) (or, ``with_meta``, a(sayay)) array at data[start:end], read as the
    general decoder reads it (the same framing checks, in one loop); None where that
    decoder would raise."""
    n = end - start
    if n == 0:
        return []
    osz = offset_size(n)
    last = int.from_bytes(data[end - osz:end], "little")
    if last > n or (n - last) % osz:
        return None
    # the elements' end offsets, read in one call
    ends = struct.unpack_from(f"<{(n - last) // osz}{_OFFSET_FORMATS[osz]}", data, start + last)
    out = []
    append = out.append
    pos = 0
    for e in ends:
        if pos > e or e > last:
            return None
        # one element: a tuple at [es, ee) whose framing offsets are read backwards from ee
        es, ee = start + pos, start + e
        size = e - pos
        if size <= 0xFF:
            # nearly every entry: one-byte framing offsets, read by indexing
            if size == 0:
                return None
            eosz = 1
            fe = ee - 1
            se = data[fe]
        else:
            eosz = offset_size(size)
            fe = ee - eosz
            se = int.from_bytes(data[fe:ee], "little")
        if es + se > fe or se == 0 or data[es + se - 1] != 0:
            return None
        raw = data[es:es + se - 1]
        if b"\0" in raw:
            return None
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if with_meta:
            fe2 = fe - eosz
            if fe2 < es:
                return None
            te = data[fe2] if eosz == 1 else int.from_bytes(data[fe2:fe], "little")
            if te < se or es + te > fe2:
                return None
            append((name, data[es + se:es + te], data[es + te:fe2]))
        else:
            append((name, data[es + se:fe]))
        pos = e
    return out


def _deserialize_dirtree(data):
    """deserialize(_DIRTREE_SIG, data) without the general decoder's per-value calls,
    or None when the data is malformed (the general decoder then raises its error)."""
    if not isinstance(data, bytes):
        data = bytes(data)
    size = len(data)
    osz = offset_size(size)
    frame = size - osz
    e0 = int.from_bytes(data[frame:size], "little")
    if e0 > frame:
        return None
    files = _dirtree_entries(data, 0, e0, False)
    if files is None:
        return None
    dirs = _dirtree_entries(data, e0, frame, True)
    if dirs is None:
        return None
    return files, dirs


def deserialize(typ: str, data) -> object:
    """Parse serialised GVariant bytes of type ``typ``; raise GVariantError if malformed."""
    if typ == _DIRTREE_SIG and len(data) <= MAX_VARIANT_SIZE:
        v = _deserialize_dirtree(data)
        if v is not None:
            return v
    t = parse_type(typ)
    if len(data) > MAX_VARIANT_SIZE:
        raise GVariantError("Variant too large")
    if t.fixed is not None and len(data) != t.fixed:
        raise GVariantError(f"Invalid size {len(data)} for fixed-size type '{typ}'")
    try:
        return t.dec(data, 0, len(data))
    except RecursionError:
        raise GVariantError("Variant nested too deeply") from None
