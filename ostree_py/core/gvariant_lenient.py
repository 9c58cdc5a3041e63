"""Reading serialised GVariant data the way GLib reads untrusted, non-normal data.

ostree loads some data with ``g_variant_new_from_bytes(..., trusted=FALSE)``
and goes on with whatever GLib makes of it: framing that does not fit gives
empty children, which read as the type's default value (0, "", "/", empty
containers, ``<()>`` for a variant, Nothing for a maybe). Writing such a
value back gives its normal form. ``read(type, data)`` returns the Python
value of ``ostree_py.core.gvariant`` (dictionaries as ``PairDict``, which keeps
duplicate keys so the normal form can be written back byte for byte).

Checked against GLib (tests/unit/test_gvariant_lenient.py) for arrays,
dictionaries and tuples of variable-size members such as ``a{sv}``; tuples
mixing fixed-size members with variable-size ones after them may still
differ from GLib on malformed data.
"""

from ostree_py.core import gvariant
from ostree_py.core.gvariant import Variant, offset_size

_FIXED = {"y": 1, "b": 1, "n": 2, "q": 2, "i": 4, "u": 4, "h": 4, "x": 8, "t": 8, "d": 8}
_MAX_DEPTH = 64


class PairDict(dict):
    """A dict that remembers every (key, value) pair in order, duplicates included.

    As a mapping a key has its last value; ``items()`` (what serialisation
    uses) yields all pairs, so ``gvariant.serialize`` writes them all.
    """

    def __init__(self, pairs=()):
        self._pairs = list(pairs)
        super().__init__(self._pairs)

    def items(self):
        return list(self._pairs)

    def __len__(self):
        return len(self._pairs)

    def __iter__(self):
        return iter([k for k, _v in self._pairs])


def _split(sig: str, i: int = 0) -> int:
    return gvariant._split_types(sig, i)


def _members(sig: str) -> list:
    out, i = [], 0
    while i < len(sig):
        j = _split(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def _info(sig: str):
    """(alignment, fixed size or None) of a type."""
    t = gvariant.parse_type(sig)
    return t.align, t.fixed


def default(sig: str):
    """The value GLib gives an empty (invalid) child of type ``sig``."""
    c = sig[0]
    if c in _FIXED:
        return False if c == "b" else (0.0 if c == "d" else 0)
    if c in "sg":
        return ""
    if c == "o":
        return "/"
    if c == "v":
        return Variant("()", ())
    if c == "a":
        if sig == "ay":
            return b""
        return PairDict() if sig[1] == "{" else []
    if c == "m":
        return None
    if c in "({":
        vals = tuple(default(m) for m in _members(sig[1:-1]))
        return vals
    raise gvariant.GVariantError(f"Unsupported type '{sig}'")


def _rd(data, pos: int, size: int) -> int:
    return int.from_bytes(data[pos:pos + size], "little")


def _pad(n: int, a: int) -> int:
    return (n + a - 1) & ~(a - 1)


def read(sig: str, data, depth: int = 0):
    """The value GLib reads from ``data`` as type ``sig`` (non-normal data allowed)."""
    data = bytes(data)
    c = sig[0]
    _align, fixed = _info(sig)
    if fixed is not None and len(data) != fixed:
        return default(sig)
    if c in _FIXED:
        return gvariant.deserialize(sig, data)
    if c in "sog":
        if not data or data[-1] != 0 or 0 in data[:-1]:
            return default(sig)
        try:
            s = data[:-1].decode("utf-8")
        except UnicodeDecodeError:
            return default(sig)
        try:
            gvariant.deserialize(sig, data)
        except gvariant.GVariantError:
            return default(sig)
        return s
    if c == "v":
        return _read_variant(data, depth)
    if c == "m":
        esig = sig[1:]
        _ea, efixed = _info(esig)
        if efixed is not None:
            return read(esig, data, depth + 1) if len(data) == efixed else None
        if not data:
            return None
        return read(esig, data[:-1], depth + 1)
    if c == "a":
        return _read_array(sig, data, depth)
    if c in "({":
        return _read_tuple(sig, data, depth)
    raise gvariant.GVariantError(f"Unsupported type '{sig}'")


def _read_variant(data: bytes, depth: int):
    if not data:
        return default("v")
    nul = data.rfind(b"\0")
    if nul < 0:
        return default("v")
    try:
        tsig = data[nul + 1:].decode("ascii")
    except UnicodeDecodeError:
        return default("v")
    if not tsig or not gvariant.is_valid_type(tsig) or _split(tsig) != len(tsig) or depth >= _MAX_DEPTH:
        return default("v")
    return Variant(tsig, read(tsig, data[:nul], depth + 1))


def _read_array(sig: str, data: bytes, depth: int):
    esig = sig[1:]
    is_dict = esig[0] == "{"
    ealign, efixed = _info(esig)
    if esig == "y":
        return bytes(data)
    if efixed is not None:
        if efixed == 0 or len(data) % efixed:
            items = []
        else:
            items = [read(esig, data[p:p + efixed], depth + 1) for p in range(0, len(data), efixed)]
        return PairDict(items) if is_dict else items
    items = []
    n = len(data)
    if n:
        osz = offset_size(n)
        last_end = _rd(data, n - osz, osz)
        if last_end <= n and (n - last_end) % osz == 0:
            count = (n - last_end) // osz
            prev_end, ordered = 0, True
            for i in range(count):
                end = _rd(data, last_end + i * osz, osz)
                start = _pad(prev_end, ealign) if i else 0
                if ordered and (start > end or end > last_end):
                    ordered = False
                if ordered:
                    items.append(read(esig, data[start:end], depth + 1))
                    prev_end = end
                else:
                    items.append(default(esig))
    return PairDict(items) if is_dict else items


def _read_tuple(sig: str, data: bytes, depth: int):
    """gvs_tuple_get_child for every member: each starts after the framing offset of the
    previous variable-size member (plus the fixed members between, aligned); offsets
    that go backwards or past the offset table make the members that use them empty."""
    members = _members(sig[1:-1])
    n = len(data)
    osz = offset_size(n)
    infos = [_info(m) for m in members]
    last = len(members) - 1
    n_off = sum(1 for j, (_a, f) in enumerate(infos) if f is None and j != last)
    table_start = n - osz * n_off
    offsets, bad_from, prev = [], n_off, 0
    for k in range(n_off):
        o = _rd(data, n - osz * (k + 1), osz) if table_start >= 0 else -1
        offsets.append(o)
        if bad_from == n_off and (o < prev or o > table_start):
            bad_from = k
        prev = max(prev, o)
    out = []
    base_idx, pos = -1, 0
    for j, m in enumerate(members):
        a, f = infos[j]
        usable = table_start >= 0 and base_idx < bad_from
        start = _pad(pos, a) if usable else 0
        if f is not None:
            end = start + f
        elif j == last:
            end = table_start
        else:
            usable = usable and base_idx + 1 < bad_from
            end = offsets[base_idx + 1] if usable else 0
            if usable and start > end:
                # an offset before its member's start: it and the later ones are unusable
                bad_from = base_idx + 1
                usable = False
        if usable and start <= end <= max(table_start, 0) and end <= n:
            out.append(read(m, data[start:end], depth + 1))
        else:
            out.append(default(m))
        if f is None and j != last:
            base_idx += 1
            pos = offsets[base_idx] if base_idx < n_off and base_idx < bad_from and offsets[base_idx] >= 0 else 0
        else:
            pos = _pad(pos, a) + (f or 0)
    return tuple(out)


def normal_form(sig: str, data) -> bytes:
    """The normal form GLib makes of ``data`` read as ``sig``."""
    return gvariant.serialize(sig, read(sig, data))
