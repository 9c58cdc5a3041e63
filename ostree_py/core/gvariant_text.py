"""The GVariant text format: what ``g_variant_print()`` writes and ``g_variant_parse()`` reads.

ostree shows metadata in this format (``show --print-metadata-key``, ``show --raw``,
``summary --view``, ``ls -X``) and parses it for ``commit --add-metadata=KEY=VALUE``.
Values use the Python mapping of :mod:`ostree_py.core.gvariant` (``v`` is a ``Variant``).

    print_variant(typ, value, annotate=True) -> str
    parse_variant(text, typ=None) -> (type_string, value)
    byteswap_value(typ, value) -> value   (ostree prints byte-swapped variants)

The rules below were established by experiment against GLib 2.74 (Debian 12).
Printing: with ``annotate``, values whose text would not imply their type get a
prefix (``uint32 5``, ``@as []``, ``@mu nothing``); inside an array or dictionary
only the first element is annotated; inside a maybe nothing is.  ``ay`` holding a
NUL-terminated string without inner NULs prints as ``b'...'``.

Parsing infers a type when none is given (untyped integers are ``i``, numbers with
a ``.``/``e``/``inf``/``nan`` are ``d``, strings ``s``) by unifying the "patterns"
of array elements and dictionary keys.  Errors raise GVariantError with GLib's
message, positions in UTF-8 bytes: ``5:expected value``, ``0-2:unable to infer type``.

The Python mapping has a single ``None`` for a maybe, so in nested maybes (``mmu``)
``just nothing`` cannot be told from ``nothing``; both read and print as ``nothing``.
"""

from __future__ import annotations

import math
import re
import struct
from bisect import bisect_right
from fractions import Fraction
from functools import lru_cache

from ostree_py.errors import GVariantError
from ostree_py.core.gvariant import Variant

__all__ = ["print_variant", "parse_variant", "byteswap_value", "GVariantError"]

# GLib's limit on container nesting, for type strings and for parsed text.
_MAX_DEPTH = 128

_INT_RANGES = {
    "y": (0, 0xFF), "n": (-0x8000, 0x7FFF), "q": (0, 0xFFFF),
    "i": (-0x80000000, 0x7FFFFFFF), "h": (-0x80000000, 0x7FFFFFFF), "u": (0, 0xFFFFFFFF),
    "x": (-0x8000000000000000, 0x7FFFFFFFFFFFFFFF), "t": (0, 0xFFFFFFFFFFFFFFFF),
}
_BASIC = "bynqiuxthdsog"


# ---------------------------------------------------------------------------
# Type strings


class _Type:
    """A parsed, definite type string (cached per string)."""

    __slots__ = ("sig", "kind", "elem", "members", "printers", "pattern")

    def __init__(self, sig, kind, elem=None, members=()):
        self.sig = sig
        self.kind = kind          # first character: a basic type, 'v', 'a', 'm', '(' or '{'
        self.elem = elem          # element type of 'a' and 'm'
        self.members = members    # member types of '(' and '{' (key, value)
        self.printers = None      # (annotated, plain) print functions, compiled on demand
        self.pattern = None       # the type as a parser pattern, built on demand


def _scan_type(sig: str, i: int, depth: int) -> tuple[int, int, bool]:
    """Scan one complete (possibly indefinite) type at sig[i].

    Returns (end index, container depth, definite); raises ValueError if invalid.
    """
    if i >= len(sig):
        raise ValueError
    c = sig[i]
    if c in _BASIC or c == "v":
        return i + 1, 0, True
    if c in "*?r":
        return i + 1, 0, False
    if depth >= _MAX_DEPTH:
        raise ValueError
    if c in "am":
        j, d, definite = _scan_type(sig, i + 1, depth + 1)
        return j, d + 1, definite
    if c == "(":
        i += 1
        dmax, definite = 0, True
        while i < len(sig) and sig[i] != ")":
            i, d, df = _scan_type(sig, i, depth + 1)
            dmax, definite = max(dmax, d), definite and df
        if i >= len(sig):
            raise ValueError
        return i + 1, dmax + 1, definite
    if c == "{":
        if i + 1 >= len(sig) or sig[i + 1] not in _BASIC + "?":
            raise ValueError
        j, d, definite = _scan_type(sig, i + 2, depth + 1)
        if j >= len(sig) or sig[j] != "}":
            raise ValueError
        return j + 1, d + 1, definite and sig[i + 1] != "?"
    raise ValueError


def _type_shape(sig: str):
    """(container depth, definite) of a complete type string, or None if invalid."""
    try:
        end, depth, definite = _scan_type(sig, 0, 0)
    except (ValueError, RecursionError):
        return None
    return (depth, definite) if end == len(sig) else None


@lru_cache(maxsize=None)
def _get_type(sig: str) -> _Type:
    """The parsed form of a definite type string; GVariantError if it is not one."""
    shape = _type_shape(sig) if isinstance(sig, str) else None
    if shape is None or not shape[1]:
        raise GVariantError(f"Invalid type string '{sig}'")
    return _build_type(sig)


def _build_type(sig: str) -> _Type:
    c = sig[0]
    if c in "am":
        return _Type(sig, c, elem=_get_type(sig[1:]))
    if c in "({":
        members, i = [], 1
        while i < len(sig) - 1:
            j = _scan_type(sig, i, 0)[0]
            members.append(_get_type(sig[i:j]))
            i = j
        return _Type(sig, c, members=tuple(members))
    return _Type(sig, c)


# ---------------------------------------------------------------------------
# Printing

def _decode_table(text: str) -> list[int]:
    out, pos = [], 0
    for delta in text.split():
        pos += int(delta, 36)
        out.append(pos)
    return out


# Code points that g_unichar_isprint() accepts in GLib 2.74 (Unicode 15.0): every
# assigned character except categories Cc, Cf, Cs (and unassigned Cn); private
# use counts as printable.  Stored as the boundaries of printable runs (base-36
# deltas): a code point c is printable iff an odd number of boundaries are <= c.
# Kept as data so that the output does not depend on Python's Unicode version.
_PRINTABLE_TABLE = (
    "w 2n x d 1 ju 2 6 4 7 1 1 1 k 1 b1 1 12 2 1e 2 3 1 1j 8 r 4 6 h m 1 5c 1 1c 2 1n 2 2t e 1n 2 "
    "1d 2 f 1 s 2 1 1 b 5 v 9 22 1 4h 1 8 2 2 2 m 1 7 1 1 3 4 2 9 2 2 2 4 8 1 4 2 1 5 2 p 2 3 1 6 4 "
    "2 2 m 1 7 1 2 1 2 1 2 2 1 1 5 4 2 2 3 3 1 7 4 1 1 7 h a 3 1 9 1 3 1 m 1 7 1 2 1 5 2 a 1 3 1 3 "
    "2 1 f 4 2 c 7 7 1 3 1 8 2 2 2 m 1 7 1 2 1 5 2 9 2 2 2 3 7 3 4 2 1 5 2 i a 2 1 6 3 3 1 4 3 2 1 "
    "1 1 2 3 2 3 3 3 c 4 5 3 3 1 4 2 1 6 1 e l 5 d 1 3 1 n 1 g 2 9 1 3 1 4 7 2 1 3 2 1 2 4 2 a 7 m "
    "1 3 1 n 1 a 1 5 2 9 1 3 1 4 7 2 6 2 1 4 2 a 1 3 c d 1 3 1 1f 1 3 1 6 4 g 2 q 1 3 1 i 3 o 1 9 1 "
    "1 2 7 3 1 4 6 1 1 1 8 6 a 2 3 c 1m 4 t 11 2 1 1 1 5 1 o 1 1 1 n 2 5 1 1 1 7 1 a 2 4 w 20 1 10 "
    "4 13 1 10 1 f 1 d 11 5i 1 1 5 1 2 ah 1 4 2 7 1 1 1 4 2 15 1 4 2 x 1 4 2 7 1 1 1 4 2 f 1 1l 1 4 "
    "2 1v 2 w 3 q 6 2e 2 6 2 il 3 2h 7 m 9 o 9 k c d 1 3 1 2 c 2m 2 a 6 a 6 e 1 b 6 2h 7 17 5 1y a "
    "v 1 c 4 c 4 1 3 16 2 5 b 18 4 q 6 b 3 1q 2 1t 1 t 2 b 6 a 6 e 2 v 1d 25 3 1b 1 38 8 1o 3 f 3 "
    "1o 7 17 2 b 8 17 5 eu 2 6 2 12 2 6 2 8 1 1 1 1 1 1 1 v 2 1h 1 f 1 e 2 6 1 j 2 3 1 9 1 b 5 q 5 "
    "1d g 2 2 r 1 d 3 x f x f 3w 4 if p b l 1ec 2 w 1 9p 5 19 1 1 5 1 2 1k 7 2 e o 9 7 1 7 1 7 1 7 "
    "1 7 1 7 1 7 1 7 1 3i y q 1 2h c 5y q c 4 1s 1 2e 2 2v 5 17 1 2m 1 2c c 1b 1 mlp 3 1j 9 9o k 54 "
    "8 5n 5 2 1 1 1 5 o 1n 3 a 6 1k 8 1y 8 c 6 38 b u 3 26 1 b 4 x 1 1j 9 e 2 a 2 2v o s a 6 2 6 2 "
    "6 9 7 1 7 1 1o 4 3i 2 a 6 8mc c n 4 1d 1l0 57y 2 2y 12 7 c 5 5 q 1 5 1 1 1 2 1 2 1 3h g cd 2 "
    "1i 7 1 w 16 6 1f 1 j 1 4 4 5 1 3r 4 5a 3 6 2 6 2 6 2 3 3 7 1 7 d 2 2 c 1 q 1 j 1 2 1 f 2 e y "
    "3f 5 3 4 19 3 2g 1 d 3 1 1b 1a 3m t 3 1d f s 4 10 9 u 5 17 5 u 1 11 4 e 16 4e 2 a 6 10 4 10 4 "
    "14 8 1g b c 1 f 1 7 1 2 1 b 1 f 1 7 1 2 1v 8n 9 m a 8 o 6 1 16 1 9 1x 6 2 1 1 18 1 2 3 1 2 n 1 "
    "20 8 9 1c j 1 2 5 x 3 r 5 1 1s 1k 4 k 2 1e 1 2 5 8 1 3 1 t 2 3 4 a 7 9 7 1s w 13 4 c 9 1i 3 t "
    "2 r 5 q 7 4 c 7 28 21 1j 1f d 1f 7 1a 8 a 86 v 1 16 1 3 2 2 23 17 8 16 m q 12 s k n 9 26 4 10 "
    "9 1q 1 5 d p 7 a 6 1h 1 i 8 13 9 2o 1 k b i 1 1b 1q 7 1 1 1 4 1 f 1 b 6 1n 5 a 6 4 1 8 2 2 2 m "
    "1 7 1 2 1 5 1 a 2 2 2 3 2 1 6 1 5 7 2 7 3 5 3v 2k 1 5 u 20 8 a 4m 1i 2 12 y 1x b a 6 d j 1m 6 "
    "a 1i r 2 f 4 n 55 1o 2s 2b c 8 2 1 2 8 1 2 1 u 1 2 2 c 9 a 1y 8 2 1a 2 b r 20 8 2b d 21 7 a 6u "
    "9 1 19 1 e a t 3 w 2 m 1 e 21 7 1 2 1 18 3 1 1 2 1 9 8 a 6 6 1 2 1 11 1 2 1 6 7 a 8m p 7 h 1 "
    "15 3 s 2e 1 f 1e d pn 2u 33 1 5 b 5g 218 2r d ts g m 33e g7 6nt ft 7 v 1 a 4 29 1 a 6 u 2 6 a "
    "1y a a 1 7 1 l 5 j j4 2j 2t 23 4 1l 7 h 1s 5 b 2 e 4qg 8 ye 16 9 6w7 4 1 7 1 2 1 83 f 1 t 3 2 "
    "1 e 4 8 b0 1s4 2z 5 d 3 9 7 a 2 4 3mo 1a 2 n 9 38 1o 6u a 13 2 22 8 34 l 1y 3e k c k c 2f 9 p "
    "3r 2d 1 1z 1 2 2 1 2 2 2 4 1 c 1 1 1 7 1 1t 1 4 2 8 1 7 1 s 1 4 1 5 1 1 3 7 1 9g 2 84 2 ji f 5 "
    "1 f uo v 6 6 5x 7 1 h 2 7 1 2 1 5 5 1q x 1 34 19 3 e 2 a 4 2 8w v h 1m 5 1 cw 16 km 7 1 4 1 2 "
    "1 f 1 5h 2 g 15 24 4 a 4 2 lt 1w 24 1p 5e 4 1 r 1 2 1 1 2 1 1 a 1 4 1 1 1 1 6 1 4 1 1 1 1 1 1 "
    "3 1 2 1 1 2 1 1 1 1 1 1 1 1 1 1 2 1 1 2 4 1 7 1 4 1 4 1 1 1 a 1 h 5 3 1 5 1 h 1g 2 7i 18 4 2s "
    "c f 2 f 1 f 1 11 a 4u 1k t d 18 4 9 7 2 e 6 4a rc 4 h 3 d 3 3b 4 2n 6 c 4 1 f c 4 1k 8 a 6 14 "
    "8 u 2 2 26 9g c e 2 d 3 9 7 1a 1 7 8 e 4 9 7 9 7 43 1 1j 11 a sm wyo w 37e 6 66 2 4g2 e 5rl "
    "2e7 f2 15u 3t7 5 38g f9e8 6o 1e6o 1eke 2 1eke "
)
_PRINTABLE_BOUNDS = _decode_table(_PRINTABLE_TABLE)


def _isprint(cp: int) -> bool:
    return bisect_right(_PRINTABLE_BOUNDS, cp) & 1 == 1


_STRING_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}
# Anything but printable ASCII, or a single quote or backslash.
_STRING_SPECIAL = re.compile(r"[^\x20-\x26\x28-\x5b\x5d-\x7e]")


def _quote(s: str) -> str:
    """A string literal as g_variant_print writes it."""
    if not _STRING_SPECIAL.search(s):
        return "'" + s + "'"
    # GLib picks double quotes only when the string contains a single quote.
    quote = '"' if "'" in s else "'"
    out = [quote]
    for ch in s:
        cp = ord(ch)
        if ch == quote or ch == "\\":
            out.append("\\" + ch)
        elif 0x20 <= cp < 0x7F or (cp >= 0xA0 and _isprint(cp)):
            out.append(ch)
        elif cp in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[cp])
        elif cp < 0x10000:
            out.append("\\u%04x" % cp)
        else:
            out.append("\\U%08x" % cp)
    out.append(quote)
    return "".join(out)


# g_strescape() style, used for bytestrings: octal for controls and non-ASCII.
_BYTE_ESCAPES = []
for _b in range(256):
    if _b in (8, 12, 10, 13, 9, 11):
        _BYTE_ESCAPES.append(_STRING_ESCAPES[_b])
    elif _b in (0x22, 0x5C):
        _BYTE_ESCAPES.append("\\" + chr(_b))
    elif _b < 0x20 or _b >= 0x7F:
        _BYTE_ESCAPES.append("\\%03o" % _b)
    else:
        _BYTE_ESCAPES.append(chr(_b))
_BYTE_HEX = ["0x%02x" % _b for _b in range(256)]
del _b


def _print_bytes(v, annotate: bool) -> str:
    b = bytes(v)
    n = len(b)
    if n == 0:
        return "@ay []" if annotate else "[]"
    if b[-1] == 0 and b.index(0) == n - 1:
        body = "".join(map(_BYTE_ESCAPES.__getitem__, b[:-1]))
        return ('b"' + body + '"') if 0x27 in b else ("b'" + body + "'")
    items = ", ".join(map(_BYTE_HEX.__getitem__, b))
    return ("[byte " + items + "]") if annotate else ("[" + items + "]")


def _format_double(d) -> str:
    d = float(d)
    if d != d:
        return "-nan" if math.copysign(1.0, d) < 0 else "nan"
    if d in (math.inf, -math.inf):
        return "inf" if d > 0 else "-inf"
    s = "%.17g" % d
    if s.lstrip("-").isdigit():
        s += ".0"
    return s


def _int_printers(kind: str):
    lo, hi = _INT_RANGES[kind]
    prefix = {"y": "byte ", "n": "int16 ", "q": "uint16 ", "i": "", "u": "uint32 ",
              "x": "int64 ", "t": "uint64 ", "h": "handle "}[kind]

    def check(v):
        if not lo <= v <= hi:
            raise GVariantError(f"Value {v!r} out of range for type '{kind}'")

    if kind == "y":
        def plain(v):
            check(v)
            return _BYTE_HEX[v]
    else:
        def plain(v):
            check(v)
            return "%d" % v
    if not prefix:
        return plain, plain

    def annotated(v):
        return prefix + plain(v)
    return annotated, plain


def _printers(t: _Type):
    """The (annotated, plain) print functions of a type, compiled once."""
    p = t.printers
    if p is None:
        p = t.printers = _compile_printers(t)
    return p


def _compile_printers(t: _Type):
    k = t.kind
    if k in _INT_RANGES:
        return _int_printers(k)
    if k == "b":
        f = lambda v: "true" if v else "false"  # noqa: E731
        return f, f
    if k == "d":
        return _format_double, _format_double
    if k == "s":
        return _quote, _quote
    if k in "og":
        prefix = "objectpath " if k == "o" else "signature "
        return (lambda v: prefix + _quote(v)), _quote
    if k == "v":
        def variant(v):
            return "<" + _printers(_get_type(v.type))[0](v.value) + ">"
        return variant, variant
    if k == "a":
        return _array_printers(t)
    if k == "m":
        return _maybe_printers(t)
    if k == "(":
        return _tuple_printers(t)
    return _dict_entry_printers(t)


def _array_printers(t: _Type):
    sig, e = t.sig, t.elem
    if e.kind == "y":
        return (lambda v: _print_bytes(v, True)), (lambda v: _print_bytes(v, False))
    empty = "@" + sig + " []"
    if e.kind == "{":
        empty = "@" + sig + " {}"
        (ka, kp), (va, vp) = (_printers(m) for m in e.members)

        def dict_print(v, annotate):
            items = iter(v.items() if hasattr(v, "items") else v)
            first = next(items, None)
            if first is None:
                return empty if annotate else "{}"
            k, x = first
            out = [(ka(k) + ": " + va(x)) if annotate else (kp(k) + ": " + vp(x))]
            out.extend(kp(k) + ": " + vp(x) for k, x in items)
            return "{" + ", ".join(out) + "}"
        return (lambda v: dict_print(v, True)), (lambda v: dict_print(v, False))
    ea, ep = _printers(e)

    def annotated(v):
        items = iter(v)
        for first in items:
            return "[" + ", ".join([ea(first), *map(ep, items)]) + "]"
        return empty

    def plain(v):
        return "[" + ", ".join(map(ep, v)) + "]"
    return annotated, plain


def _maybe_printers(t: _Type):
    # Nested maybes print their innermost value unannotated (GLib drops the
    # redundant "just"s); the annotation, if any, names the whole maybe type.
    base = t.elem
    while base.kind == "m":
        base = base.elem
    bp = _printers(base)[1]
    prefix = "@" + t.sig + " "

    def plain(v):
        return "nothing" if v is None else bp(v)

    def annotated(v):
        return prefix + ("nothing" if v is None else bp(v))
    return annotated, plain


def _tuple_printers(t: _Type):
    ms = t.members
    pa = [_printers(m)[0] for m in ms]
    pp = [_printers(m)[1] for m in ms]
    n = len(ms)

    def make(fs):
        def f(v):
            if len(v) != n:
                raise GVariantError(f"Tuple of {len(v)} items for type '{t.sig}'")
            if n == 1:
                return "(" + fs[0](v[0]) + ",)"
            return "(" + ", ".join([g(x) for g, x in zip(fs, v)]) + ")"
        return f
    return make(pa), make(pp)


def _dict_entry_printers(t: _Type):
    (ka, kp), (va, vp) = (_printers(m) for m in t.members)
    return ((lambda v: "{" + ka(v[0]) + ", " + va(v[1]) + "}"),
            (lambda v: "{" + kp(v[0]) + ", " + vp(v[1]) + "}"))


def print_variant(typ: str, value, annotate: bool = True) -> str:
    """``value`` of GVariant type ``typ`` in text form, like ``g_variant_print(v, annotate)``.

    Raises GVariantError for an invalid type string or a value out of range.
    """
    try:
        return _printers(_get_type(typ))[0 if annotate else 1](value)
    except GVariantError:
        raise
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as e:
        raise GVariantError(f"Value does not match type '{typ}': {e}") from None


# ---------------------------------------------------------------------------
# Byte swapping, for ostree's dumps

_SWAP_SIZES = {"n": (2, True), "q": (2, False), "i": (4, True), "u": (4, False),
               "h": (4, True), "x": (8, True), "t": (8, False)}


def byteswap_value(typ: str, value):
    """``value`` as ``g_variant_byteswap()`` would turn it: every number byte-reversed.

    ostree 2022.7 byte-swaps variants before printing them on little-endian hosts
    (``show --raw``, ``--print-metadata-key``, ...), so metadata stored as
    ``uint32 5`` shows as ``uint32 83886080``; use this before print_variant to match.
    """
    return _swap(_get_type(typ), value)


def _swap(t: _Type, v):
    k = t.kind
    if k in _SWAP_SIZES:
        size, signed = _SWAP_SIZES[k]
        return int.from_bytes(v.to_bytes(size, "little", signed=signed), "big", signed=signed)
    if k == "d":
        return struct.unpack(">d", struct.pack("<d", v))[0]
    if k in "ybsog" or v is None:
        return v
    if k == "v":
        return Variant(v.type, _swap(_get_type(v.type), v.value))
    if k == "m":
        return _swap(t.elem, v)
    if k == "a":
        e = t.elem
        if e.kind in "ybsog":
            return v
        if e.kind == "{":
            kt, vt = e.members
            items = v.items() if hasattr(v, "items") else v
            return {_swap(kt, a): _swap(vt, b) for a, b in items}
        return [_swap(e, x) for x in v]
    return tuple(_swap(m, x) for m, x in zip(t.members, v))


# ---------------------------------------------------------------------------
# Parsing

class _ParseError(Exception):
    """An error at one or more [start, end) ranges of character positions."""

    def __init__(self, ranges, message):
        super().__init__(message)
        self.ranges = ranges
        self.message = message


# Tokens: (kind, start, end).  Kinds: 'eof', 'str' (quoted), 'bytes' (b'...'),
# 'type' (@...), 'word' (starts with a letter), 'num' (starts with a digit or
# + - .), or the character itself for anything else.
_WS = " \t\n\f\r"
_TYPE_STOP = frozenset(_WS + ",:]>")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NUM_CHARS = _WORD_CHARS | frozenset("+-.")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

_KEYWORD_TYPES = {
    "boolean": "b", "byte": "y", "int16": "n", "uint16": "q", "int32": "i", "uint32": "u",
    "handle": "h", "int64": "x", "uint64": "t", "double": "d", "string": "s",
    "objectpath": "o", "signature": "g",
}

# AST node kinds
_NUM, _STR, _BYTES, _BOOL, _NOTHING, _JUST, _ARRAY, _TUPLE, _DICT, _ENTRY, _VARIANT, _DECL = range(12)


class _Node:
    __slots__ = ("kind", "start", "end", "data")

    def __init__(self, kind, start, end, data=None):
        self.kind, self.start, self.end, self.data = kind, start, end, data


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self._tok = None

    # -- tokens --------------------------------------------------------------

    def peek(self):
        if self._tok is None:
            self._tok = self._scan()
        return self._tok

    def advance(self):
        tok = self.peek()
        self.pos = tok[2]
        self._tok = None
        return tok

    def _scan(self):
        text, n, p = self.text, len(self.text), self.pos
        while p < n and text[p] in _WS:
            p += 1
        self.pos = p
        if p >= n:
            return ("eof", p, p)
        c = text[p]
        if c in "'\"":
            return ("str", p, self._scan_quoted(p, p))
        if c == "b" and p + 1 < n and text[p + 1] in "'\"":
            return ("bytes", p, self._scan_quoted(p, p + 1))
        i = p + 1
        if c == "@":
            # A closing bracket ends the declaration unless it closes one of its own.
            nest = 0
            while i < n and text[i] not in _TYPE_STOP:
                if text[i] in "({":
                    nest += 1
                elif text[i] in ")}":
                    if not nest:
                        break
                    nest -= 1
                i += 1
            return ("type", p, i)
        if c in _LETTERS:
            while i < n and text[i] in _WORD_CHARS:
                i += 1
            return ("word", p, i)
        if c in _NUM_CHARS:
            while i < n and text[i] in _NUM_CHARS:
                i += 1
            return ("num", p, i)
        return (c, p, i)

    def _scan_quoted(self, start, q):
        """End of the quoted token; an unterminated one runs to the end of the text."""
        text, n = self.text, len(self.text)
        quote, i = text[q], q + 1
        while i < n:
            ch = text[i]
            if ch == "\\":
                i += 2
            elif ch == quote:
                return i + 1
            else:
                i += 1
        return n + 1  # only reported when parsed as a value (GLib does the same)

    def expect(self, kind, message):
        tok = self.peek()
        if tok[0] != kind:
            raise _ParseError([(tok[1], tok[1])], message)
        return self.advance()

    # -- grammar -------------------------------------------------------------

    def parse(self):
        return self.value(0)

    def expect_end(self):
        tok = self.peek()
        if tok[0] != "eof":
            raise _ParseError([(tok[1], tok[1])], "expected end of input")

    def value(self, depth):
        tok = self.peek()
        if depth >= _MAX_DEPTH:
            raise _ParseError([(tok[1], tok[1])], "variant nested too deeply")
        # A chain of type declarations ("@mu @i 5", "uint32 uint32 5"): each is
        # checked, but only the outermost one gives the node its pattern.
        decl = None
        while True:
            kind, start, end = tok
            word = self.text[start:end] if kind in ("type", "word") else None
            if kind == "type":
                sig = word[1:]
                shape = _type_shape(sig)
                if shape is None:
                    raise _ParseError([(start, end)], "invalid type declaration")
                if shape[0] >= _MAX_DEPTH:
                    raise _ParseError([(start, end)], "type declaration recurses too deeply")
                if not shape[1]:
                    raise _ParseError([(start, end)], "type declarations must be definite")
            elif kind == "word" and word in _KEYWORD_TYPES:
                sig = _KEYWORD_TYPES[word]
            else:
                break
            self.advance()
            if decl is None:
                decl = (sig, start)
            tok = self.peek()
        node = self._plain_value(tok, depth)
        if decl is not None:
            node = _Node(_DECL, decl[1], node.end, (_get_type(decl[0]), node))
        return node

    def _plain_value(self, tok, depth):
        kind, start, end = tok
        if kind in ("num", "str", "bytes"):
            if end > len(self.text):
                raise _ParseError([(start, len(self.text))], "unterminated string constant")
            self.advance()
            if kind == "str":  # escapes are checked as the string is read, like GLib
                return _Node(_STR, start, end, _unescape_string(self.text, start, end))
            return _Node(_NUM if kind == "num" else _BYTES, start, end)
        if kind == "word":
            word = self.text[start:end]
            if word in ("true", "false"):
                self.advance()
                return _Node(_BOOL, start, end, word == "true")
            if word == "nothing":
                self.advance()
                return _Node(_NOTHING, start, end)
            if word == "just":
                self.advance()
                child = self.value(depth + 1)
                return _Node(_JUST, start, child.end, child)
            if word in ("inf", "nan"):
                self.advance()
                return _Node(_NUM, start, end)
            if word[0] in "jn" or (len(word) > 1 and "a" <= word[0] <= "z" and word[1] in _LETTERS):
                raise _ParseError([(start, end)], "unknown keyword")
        elif kind == "[":
            return self._array(depth)
        elif kind == "(":
            return self._tuple(depth)
        elif kind == "{":
            return self._dict(depth)
        elif kind == "<":
            self.advance()
            child = self.value(depth + 1)
            close = self.expect(">", "expected '>' to follow variant value")
            return _Node(_VARIANT, start, close[2], child)
        raise _ParseError([(start, start)], "expected value")

    def _array(self, depth):
        start = self.advance()[1]
        items = []
        if self.peek()[0] == "]":
            return _Node(_ARRAY, start, self.advance()[2], items)
        while True:
            items.append(self.value(depth + 1))
            tok = self.peek()
            if tok[0] == ",":
                self.advance()
            elif tok[0] == "]":
                return _Node(_ARRAY, start, self.advance()[2], items)
            else:
                raise _ParseError([(tok[1], tok[1])], "expected ',' or ']' to follow array element")

    def _tuple(self, depth):
        start = self.advance()[1]
        items = []
        if self.peek()[0] == ")":
            return _Node(_TUPLE, start, self.advance()[2], items)
        items.append(self.value(depth + 1))
        self.expect(",", "expected ',' after first tuple element")
        if self.peek()[0] != ")":
            while True:
                items.append(self.value(depth + 1))
                tok = self.peek()
                if tok[0] == ")":
                    break
                if tok[0] != ",":
                    raise _ParseError([(tok[1], tok[1])], "expected ',' or ')' to follow tuple element")
                self.advance()
        return _Node(_TUPLE, start, self.advance()[2], items)

    def _dict(self, depth):
        start = self.advance()[1]
        if self.peek()[0] == "}":
            return _Node(_DICT, start, self.advance()[2], [])
        key = self.value(depth + 1)
        tok = self.peek()
        if tok[0] == ",":
            self.advance()
            val = self.value(depth + 1)
            close = self.expect("}", "expected '}' at end of dictionary entry")
            return _Node(_ENTRY, start, close[2], (key, val))
        if tok[0] != ":":
            raise _ParseError([(tok[1], tok[1])], "expected ':' or ',' to follow dictionary entry key")
        self.advance()
        pairs = [(key, self.value(depth + 1))]
        while True:
            tok = self.peek()
            if tok[0] == "}":
                return _Node(_DICT, start, self.advance()[2], pairs)
            if tok[0] != ",":
                raise _ParseError([(tok[1], tok[1])], "expected ',' or '}' to follow dictionary entry")
            self.advance()
            key = self.value(depth + 1)
            self.expect(":", "expected ':' to follow dictionary entry key")
            pairs.append((key, self.value(depth + 1)))


# -- patterns (type inference) -------------------------------------------------
#
# A pattern is a partial type: a one-character string for a basic type, 'v',
# '*' (anything), 'N' (any number), 'D' (a double) or 'S' (s, o or g), or a tuple
# ('a', p), ('m', p), ('M', p) (any number of maybes, none included: literals are
# "just"), ('(', p...), ('{', k, v).

_NUMERIC = frozenset("ynqiuxthd")
_STRINGY = frozenset("sog")


def _unify(a, b):
    """The most general pattern matching both a and b, or None."""
    if a == "*":
        return b
    if b == "*":
        return a
    ta, tb = type(a) is tuple, type(b) is tuple
    # 'M' stands for any number of maybes: "5" reads as "mmi" as well as "i".
    if ta and a[0] == "M":
        if tb and b[0] == "M":
            c = _unify(a[1], b[1])
            return None if c is None else ("M", c)
        if tb and b[0] == "m":
            c = _unify(a, b[1])
            return None if c is None else ("m", c)
        return _unify(a[1], b)
    if tb and b[0] == "M":
        return _unify(b, a)
    if ta != tb:
        return None
    if not ta:
        if a == b:
            return a
        for x, y in ((a, b), (b, a)):
            if (x == "N" and (y in _NUMERIC or y == "D")) or (x == "D" and y == "d") \
                    or (x == "S" and y in _STRINGY):
                return y
        return None
    if a[0] != b[0] or len(a) != len(b):
        return None
    out = [a[0]]
    for x, y in zip(a[1:], b[1:]):
        c = _unify(x, y)
        if c is None:
            return None
        out.append(c)
    return tuple(out)


def _definite(p):
    """The type string a pattern defaults to, or None if it leaves a wildcard."""
    if type(p) is not tuple:
        if p == "*":
            return None
        return {"N": "i", "D": "d", "S": "s"}.get(p, p)
    k = p[0]
    parts = [_definite(x) for x in p[1:]]
    if None in parts:
        return None
    body = "".join(parts)
    if k == "M":
        return body
    if k == "(":
        return "(" + body + ")"
    if k == "{":
        return "{" + body + "}"
    return k + body


def _type_pattern(t: _Type):
    p = t.pattern
    if p is None:
        k = t.kind
        if k in "am":
            p = (k, _type_pattern(t.elem))
        elif k in "({":
            p = (k,) + tuple(_type_pattern(m) for m in t.members)
        else:
            p = k
        t.pattern = p
    return p


def _is_float_literal(tok: str) -> bool:
    return ("." in tok or ("e" in tok and not tok.startswith("0x"))
            or "inf" in tok or "nan" in tok)


def _merge(nodes, patterns):
    """Unify the patterns of array elements (or dictionary keys), left to right."""
    merged = patterns[0]
    for j in range(1, len(patterns)):
        m = _unify(merged, patterns[j])
        if m is None:
            # Name the first earlier element that conflicts with this one.
            i = next((i for i in range(j) if _unify(patterns[i], patterns[j]) is None), j - 1)
            raise _ParseError([(nodes[i].start, nodes[i].end), (nodes[j].start, nodes[j].end)],
                              "unable to find a common type")
        merged = m
    return merged


def _check_key(node, key):
    k = key[1] if type(key) is tuple and key[0] == "M" else key
    if type(k) is tuple or k in ("*", "v"):
        raise _ParseError([(node.start, node.end)], "dictionary keys must have basic types")


def _pattern(node, text):
    k = node.kind
    if k == _NUM:
        return ("M", "D" if _is_float_literal(text[node.start:node.end]) else "N")
    if k == _STR:
        return ("M", "S")
    if k == _BYTES:
        return ("M", ("a", "y"))
    if k == _BOOL:
        return ("M", "b")
    if k == _NOTHING:
        return ("m", "*")
    if k == _JUST:
        return ("m", _pattern(node.data, text))
    if k == _VARIANT:
        return ("M", "v")
    if k == _DECL:
        return _type_pattern(node.data[0])
    if k == _TUPLE:
        return ("M", ("(",) + tuple(_pattern(x, text) for x in node.data))
    if k == _ARRAY:
        items = node.data
        if not items:
            return ("M", ("a", "*"))
        return ("M", ("a", _merge(items, [_pattern(x, text) for x in items])))
    if k == _ENTRY:
        key, val = node.data
        kp = _pattern(key, text)
        _check_key(node, kp)
        return ("M", ("{", kp, _pattern(val, text)))
    # _DICT: keys are unified, but only the first value gives the value pattern
    pairs = node.data
    if not pairs:
        return ("M", ("a", ("{", "*", "*")))
    keys = [kv[0] for kv in pairs]
    kp = _merge(keys, [_pattern(x, text) for x in keys])
    _check_key(node, kp)
    return ("M", ("a", ("{", kp, _pattern(pairs[0][1], text))))


def _infer(node, text) -> _Type:
    sig = _definite(_pattern(node, text))
    if sig is None:
        raise _ParseError([(node.start, node.end)], "unable to infer type")
    return _get_type(sig)


# -- values --------------------------------------------------------------------

def _strtoull(s: str):
    """C strtoull(s, &end, 0): (value, characters consumed, overflowed)."""
    n, i, neg = len(s), 0, False
    if i < n and s[i] in "+-":
        neg = s[i] == "-"
        i += 1
    if s[i:i + 2] in ("0x", "0X") and i + 2 < n and s[i + 2] in _HEX:
        base, digits, j = 16, _HEX, i + 2
    elif i < n and s[i] == "0":
        base, digits, j = 8, "01234567", i
    else:
        base, digits, j = 10, "0123456789", i
    k = j
    while k < n and s[k] in digits:
        k += 1
    if k == j:
        return 0, 0, False
    val = int(s[j:k], base)
    if val > 0xFFFFFFFFFFFFFFFF:
        return 0xFFFFFFFFFFFFFFFF, k, True
    return ((-val) & 0xFFFFFFFFFFFFFFFF if neg else val), k, False


_HEX = "0123456789abcdefABCDEF"
_DECIMAL_PREFIX = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX_PREFIX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?")
_SPECIAL_PREFIX = re.compile(r"[+-]?(?:infinity|inf|nan)", re.IGNORECASE)
_MIN_NORMAL = 2.2250738585072014e-308


def _strtod(s: str):
    """C strtod(s, &end): (value, characters consumed, ERANGE)."""
    m = _SPECIAL_PREFIX.match(s)
    if m:
        word = m.group().lower()
        value = math.nan if "nan" in word else math.inf
        return (-value if word[0] == "-" else value), m.end(), False
    m = _HEX_PREFIX.match(s)
    hexa = m is not None
    if not hexa:
        m = _DECIMAL_PREFIX.match(s)
        if m is None:
            return 0.0, 0, False
    lit = m.group()
    try:
        value = float.fromhex(lit) if hexa else float(lit)
    except OverflowError:
        return (-math.inf if lit[0] == "-" else math.inf), m.end(), True
    if math.isinf(value):
        return value, m.end(), True
    if value != 0 and abs(value) < _MIN_NORMAL:
        # glibc reports ERANGE for a subnormal result that is not exact
        return value, m.end(), Fraction(value) != _exact(lit, hexa)
    return value, m.end(), False


def _exact(lit: str, hexa: bool) -> Fraction:
    if not hexa:
        return Fraction(lit)
    sign = -1 if lit[0] == "-" else 1
    body = lit.lstrip("+-")[2:].lower()
    mant, _, exp = body.partition("p")
    whole, _, frac = mant.partition(".")
    digits = int((whole + frac) or "0", 16)
    return sign * Fraction(digits) * Fraction(2) ** (int(exp or "0") - 4 * len(frac))


def _number_value(node, t: _Type, text):
    tok = text[node.start:node.end]
    k = t.kind
    whole = [(node.start, node.end)]
    if k == "d":
        value, used, erange = _strtod(tok)
        if erange and value != 0:
            raise _ParseError(whole, "number too big for any type")
        if used != len(tok):
            raise _ParseError([(node.start + used, node.start + used + 1)], "invalid character in number")
        return value
    # Any other type reads the token as an integer first: GLib takes a leading
    # '-' itself and hands the rest to strtoull; the type is checked after that.
    off = 1 if tok.startswith("-") else 0
    val, used, overflow = _strtoull(tok[off:])
    if overflow:
        raise _ParseError(whole, "integer too big for any type")
    end = off + used
    if end != len(tok):
        raise _ParseError([(node.start + end, node.start + end + 1)], "invalid character in number")
    if k not in _INT_RANGES:
        raise _ParseError(whole, f"can not parse as value of type '{t.sig}'")
    lo, hi = _INT_RANGES[k]
    if off:
        if val > -lo:
            raise _ParseError(whole, f"number out of range for type '{k}'")
        return -val
    if val > hi:
        raise _ParseError(whole, f"number out of range for type '{k}'")
    return val


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _unescape_string(text, start, end) -> str:
    """The contents of the string literal text[start:end] (quotes included)."""
    body = text[start + 1:end - 1]
    if "\\" not in body:
        return body
    out, i, n = [], 0, len(body)
    base = start + 1
    while i < n:
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        e = body[i + 1]
        i += 2
        if e in "uU":
            width = 4 if e == "u" else 8
            j = i
            while j < n and j - i < width and body[j] in _HEX:
                j += 1
            msg = f"invalid {width}-character unicode escape"
            if j - i < width:
                raise _ParseError([(base + i, base + j)], msg)
            cp = int(body[i:j], 16)
            if cp == 0 or cp > 0x10FFFF or 0xD800 <= cp < 0xE000:
                raise _ParseError([(base + i, base + j)], msg)
            out.append(chr(cp))
            i = j
        else:
            out.append(_SIMPLE_ESCAPES.get(e, e))
    return "".join(out)


def _unescape_bytes(text, start, end) -> bytes:
    """The value of the bytestring literal text[start:end] (b and quotes included)."""
    body = text[start + 2:end - 1]
    out, i, n = bytearray(), 0, len(body)
    while i < n:
        ch = body[i]
        if ch != "\\":
            out += ch.encode("utf-8", "surrogatepass")
            i += 1
            continue
        e = body[i + 1]
        i += 2
        if "0" <= e <= "7":
            j = i
            while j < n and j - i < 2 and "0" <= body[j] <= "7":
                j += 1
            out.append(int(e + body[i:j], 8) & 0xFF)
            i = j
        elif e in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[e].encode()
        else:
            out += e.encode("utf-8", "surrogatepass")
    # GLib builds the value from a C string: it ends at the first NUL
    nul = out.find(0)
    if nul >= 0:
        del out[nul:]
    out.append(0)
    return bytes(out)


_OBJECT_PATH = re.compile(r"/|(?:/[A-Za-z0-9_]+)+")


def _is_signature(s: str) -> bool:
    """g_variant_is_signature: definite types one after another, with no maybes."""
    if "m" in s:
        return False
    i = 0
    while i < len(s):
        try:
            i, _, definite = _scan_type(s, i, 0)
        except (ValueError, RecursionError):
            return False
        if not definite:
            return False
    return True


def _value(node, t: _Type, text):
    k = node.kind
    if k == _DECL:
        # The declared type only steers inference; the value takes the type asked for.
        return _value(node.data[1], t, text)
    tk = t.kind
    if tk == "m":
        if k == _NOTHING:
            return None
        if k == _JUST:
            return _value(node.data, t.elem, text)
        return _value(node, t.elem, text)
    if k == _NUM:
        return _number_value(node, t, text)
    if k == _STR and tk in "sog":
        s = node.data
        if tk == "o" and not _OBJECT_PATH.fullmatch(s):
            raise _ParseError([(node.start, node.end)], "not a valid object path")
        if tk == "g" and not _is_signature(s):
            raise _ParseError([(node.start, node.end)], "not a valid signature")
        return s
    if k == _BYTES and t.sig == "ay":
        return _unescape_bytes(text, node.start, node.end)
    if k == _BOOL and tk == "b":
        return node.data
    if k == _VARIANT and tk == "v":
        child = node.data
        ct = _infer(child, text)
        return Variant(ct.sig, _value(child, ct, text))
    if tk == "a":
        e = t.elem
        if k == _ARRAY:
            items = [_value(x, e, text) for x in node.data]
            if e.kind == "y":
                return bytes(items)
            return dict(items) if e.kind == "{" else items
        if k == _DICT and e.kind == "{":
            kt, vt = e.members
            return {_value(a, kt, text): _value(b, vt, text) for a, b in node.data}
    if k == _TUPLE and tk == "(" and len(node.data) == len(t.members):
        return tuple(_value(x, m, text) for x, m in zip(node.data, t.members))
    if k == _ENTRY and tk == "{":
        (a, b), (kt, vt) = node.data, t.members
        return (_value(a, kt, text), _value(b, vt, text))
    raise _ParseError([(node.start, node.end)], f"can not parse as value of type '{t.sig}'")


def _format_error(text: str, err: _ParseError) -> str:
    def offset(i):
        return len(text[:i].encode("utf-8", "surrogatepass"))
    parts = []
    for start, end in err.ranges:
        a, b = offset(start), offset(end)
        parts.append(f"{a}-{b}" if b != a else f"{a}")
    return ",".join(parts) + ":" + err.message


def parse_variant(text: str, typ: str | None = None):
    """Parse GVariant text like ``g_variant_parse()``: returns (type_string, value).

    With ``typ`` the text must hold a value of that type; without it the type is
    inferred.  Raises GVariantError with GLib's message, e.g. ``0-2:unable to infer type``.
    """
    t = _get_type(typ) if typ is not None else None
    nul = text.find("\0")
    if nul >= 0:
        text = text[:nul]  # GLib reads a C string
    try:
        # Like GLib, trailing text is only looked at once the value is complete.
        parser = _Parser(text)
        node = parser.parse()
        if t is None:
            t = _infer(node, text)
        value = _value(node, t, text)
        parser.expect_end()
        return t.sig, value
    except _ParseError as e:
        raise GVariantError(_format_error(text, e)) from None
    except RecursionError:
        raise GVariantError("variant nested too deeply") from None
