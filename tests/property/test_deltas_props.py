"""Property tests of the static delta codecs: varints, bsdiff framing, superblocks, parts."""

import hashlib
import os
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from ostree_py.deltas import bsdiff
from ostree_py.deltas import format as fmt
from ostree_py.repo import summary
from ostree_py.core.gvariant import Variant

csums = st.binary(min_size=32, max_size=32).map(bytes.hex)


@given(st.integers(min_value=0, max_value=2 ** 64 - 1), st.binary(max_size=8))
def test_varint_round_trip_with_trailing_bytes(n, tail):
    buf = bytearray()
    fmt.write_varuint64(buf, n)
    end = len(buf)
    buf += tail
    assert fmt.read_varuint64(buf, 0) == (n, end)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000), st.data())
def test_bsdiff_round_trip(old, data):
    edits = data.draw(st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 40), st.binary(max_size=60)),
                               max_size=6))
    new = bytearray(old)
    for pos, length, ins in edits:
        pos = min(pos, len(new))
        new[pos:pos + length] = ins
    new = bytes(new)
    assert bsdiff.patch(old, len(new), bsdiff.diff(old, new)) == new


@given(csums)
def test_mb64_round_trip(c):
    m = summary.checksum_to_mb64(c)
    assert len(m) == 43 and "/" not in m and "=" not in m
    assert summary.mb64_to_checksum(m) == c


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.none(), csums), st.sampled_from(["l", "B"]),
       st.lists(st.tuples(st.integers(0, 2 ** 40), st.integers(0, 2 ** 40),
                          st.lists(st.tuples(st.sampled_from(["file", "dirtree", "dirmeta"]), csums), max_size=3)),
                max_size=4),
       st.lists(st.tuples(csums, st.integers(0, 2 ** 40), st.integers(0, 2 ** 40)), max_size=3),
       st.integers(0, 2 ** 63))
def test_superblock_round_trip(frm, endian, parts, fallbacks, ts):
    from ostree_py.core import gvariant
    from ostree_py.core.objects import COMMIT_TYPE
    commit = gvariant.serialize(COMMIT_TYPE, ({}, b"", [], "s", "", 1, b"\1" * 32, b"\2" * 32))
    to = hashlib.sha256(commit).hexdigest()
    headers = [(0, hashlib.sha256(bytes(i)).digest(), s, u, fmt.object_array(objs))
               for i, (s, u, objs) in enumerate(parts)]
    fbs = [(1, c, s, u) for c, s, u in fallbacks]
    md = {"ostree.endianness": Variant("y", ord(endian))}
    sb = fmt.parse_superblock(fmt.build_superblock(md, ts, frm, to, commit, headers, fbs, endian))
    assert (sb.from_checksum, sb.to_checksum, sb.timestamp, sb.endianness) == (frm, to, ts, endian)
    assert [(s, u) for _v, _c, s, u, _o in sb.parts] == [(s, u) for s, u, _o in parts]
    assert [sb.part_objects(i) for i in range(len(parts))] == [objs for _s, _u, objs in parts]
    assert [(c.hex(), s, u) for _t, c, s, u in sb.fallbacks] == fallbacks
    assert fmt.commit_bytes(sb) == commit


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=3000), st.binary(max_size=100), st.sampled_from([fmt.COMPRESSION_NONE, fmt.COMPRESSION_XZ]))
def test_part_round_trip(payload, ops, comp):
    body = fmt.serialize_part_payload([(1, 2, 3)], [[(b"user.a\0", b"v")], []], payload, ops)
    data = fmt.compress_part(body, comp)
    with fmt.open_part_body(data, hashlib.sha256(data).hexdigest(), spool=_spool) as part:
        modes, xattrs, p, o = part.values()
    assert (modes, xattrs, p, o) == ([(1, 2, 3)], [[(b"user.a\0", b"v")], []], payload, ops)


def _spool():
    f = tempfile.TemporaryFile()
    fd = os.dup(f.fileno())
    f.close()
    return fd
