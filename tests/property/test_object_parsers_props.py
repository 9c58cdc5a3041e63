"""Property tests for the object parsers: hostile bytes never crash them, valid objects round-trip.

Every parser of on-disk data (commit, dirtree, dirmeta, content file headers,
archive .filez streams, bare-user ``user.ostreemeta``, summary) given
arbitrary bytes -- random, or a valid object truncated, bit-flipped or
spliced -- either parses or raises an OstreeError subclass; nothing else
(IndexError, struct.error, RecursionError, UnicodeDecodeError...) escapes.
And for valid objects, ``serialise(parse(x)) == x``.
"""

import io
import stat
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ostree_py.core import gvariant
from ostree_py.core.content import (ArchiveReader, FileInfo, archive_header, bareuser_meta, file_header,
                               parse_archive_header, parse_bareuser_meta, parse_file_header)
from ostree_py.ops.dump import object_text, summary_text
from ostree_py.errors import GVariantError, OstreeError
from ostree_py.core.gvariant import Variant
from ostree_py.core.objects import DIRTREE_TYPE, SUMMARY_TYPE, Commit, DirMeta, DirTree

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- valid objects

csums = st.binary(min_size=32, max_size=32).map(bytes.hex)
names = st.text(min_size=1, max_size=20).filter(
    lambda n: n not in (".", "..") and "/" not in n and "\0" not in n)
u32 = st.integers(0, 2 ** 32 - 1)
xattr_names = st.binary(min_size=1, max_size=20).filter(lambda b: b"\0" not in b)
xattrs = st.lists(st.tuples(xattr_names, st.binary(max_size=40)), max_size=4)

variants = st.one_of(
    st.text(max_size=30).filter(lambda s: "\0" not in s).map(lambda s: Variant("s", s)),
    st.integers(0, 2 ** 64 - 1).map(lambda i: Variant("t", i)),
    st.integers(0, 2 ** 32 - 1).map(lambda i: Variant("u", i)),
    st.booleans().map(lambda b: Variant("b", b)),
    st.binary(max_size=40).map(lambda b: Variant("ay", b)),
    st.lists(st.text(max_size=10).filter(lambda s: "\0" not in s), max_size=4).map(lambda v: Variant("as", v)),
    st.integers(0, 255).map(lambda i: Variant("v", Variant("y", i))),
)
metadata = st.dictionaries(st.text(min_size=1, max_size=20).filter(lambda s: "\0" not in s), variants,
                           max_size=5)
texts = st.text(max_size=60).filter(lambda s: "\0" not in s)

commits = st.builds(
    Commit, metadata=metadata, parent=st.one_of(st.none(), csums),
    related=st.lists(st.tuples(names, csums), max_size=3), subject=texts, body=texts,
    timestamp=st.integers(0, 2 ** 64 - 1), root_tree=csums, root_meta=csums)


def _sorted_unique(entries):
    seen = {}
    for e in entries:
        seen.setdefault(e[0], e)
    return sorted(seen.values(), key=lambda e: e[0].encode("utf-8"))


dirtrees = st.builds(
    DirTree, files=st.lists(st.tuples(names, csums), max_size=6).map(_sorted_unique),
    dirs=st.lists(st.tuples(names, csums, csums), max_size=6).map(_sorted_unique))
dirmetas = st.builds(DirMeta, uid=u32, gid=u32, mode=st.integers(0, 0o7777).map(lambda m: m | stat.S_IFDIR),
                     xattrs=xattrs)


@st.composite
def file_infos(draw):
    if draw(st.booleans()):
        return FileInfo(stat.S_IFLNK | 0o777, draw(u32), draw(u32), 0,
                        draw(st.text(min_size=1, max_size=40).filter(lambda s: "\0" not in s)), draw(xattrs))
    return FileInfo(stat.S_IFREG | draw(st.integers(0, 0o7777)), draw(u32), draw(u32),
                    draw(st.integers(0, 2 ** 40)), "", draw(xattrs))


summaries = st.tuples(
    st.lists(st.tuples(st.text(min_size=1, max_size=20).filter(lambda s: "\0" not in s),
                       st.tuples(st.integers(0, 2 ** 64 - 1), st.binary(min_size=32, max_size=32), metadata)),
             max_size=4).map(lambda refs: sorted(dict(refs).items())),
    metadata)


def _same_commit(a, b):
    return all(getattr(a, f) == getattr(b, f) for f in Commit.__slots__)


# ---------------------------------------------------------------- serialise(parse(x)) == x

@SETTINGS
@given(commits)
def test_commit_round_trip(c):
    data = c.to_bytes()
    parsed = Commit.from_bytes(data)
    assert _same_commit(parsed, c)
    assert parsed.to_bytes() == data


@SETTINGS
@given(dirtrees)
def test_dirtree_round_trip(t):
    data = t.to_bytes()
    parsed = DirTree.from_bytes(data)
    assert (parsed.files, parsed.dirs) == (t.files, t.dirs)
    assert parsed.to_bytes() == data


@SETTINGS
@given(dirmetas)
def test_dirmeta_round_trip(m):
    data = m.to_bytes()
    parsed = DirMeta.from_bytes(data)
    assert (parsed.uid, parsed.gid, parsed.mode, parsed.xattrs) == (m.uid, m.gid, m.mode, m.xattrs)
    assert parsed.to_bytes() == data


def _info_key(i, size=True):
    return (i.mode, i.uid, i.gid, i.size if size else 0, i.symlink_target, i.xattrs)


@SETTINGS
@given(file_infos())
def test_file_header_round_trip(info):
    data = file_header(info)
    parsed = parse_file_header(data)
    assert _info_key(parsed, size=False) == _info_key(info, size=False)
    assert file_header(parsed) == data


@SETTINGS
@given(file_infos())
def test_archive_header_round_trip(info):
    framed = archive_header(info)
    assert int.from_bytes(framed[:4], "big") == len(framed) - 8 and framed[4:8] == b"\0\0\0\0"
    parsed = parse_archive_header(framed[8:])
    assert _info_key(parsed) == _info_key(info)
    assert archive_header(parsed) == framed


@SETTINGS
@given(file_infos(), st.binary(max_size=3000))
def test_archive_stream_round_trip(info, content):
    if not info.is_regular:
        content = b""
    info.size = len(content)
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = archive_header(info) + z.compress(content) + z.flush()
    r = ArchiveReader(io.BytesIO(data))
    assert _info_key(r.info) == _info_key(info)
    assert r.read() == content


@SETTINGS
@given(file_infos())
def test_bareuser_meta_round_trip(info):
    data = bareuser_meta(info)
    uid, gid, mode, xa = parse_bareuser_meta(data)
    assert (uid, gid, mode, xa) == (info.uid, info.gid, info.mode, info.xattrs)
    assert bareuser_meta(FileInfo(mode, uid, gid, 0, "", xa)) == data


@SETTINGS
@given(summaries)
def test_summary_round_trip(value):
    data = gvariant.serialize(SUMMARY_TYPE, value)
    assert gvariant.serialize(SUMMARY_TYPE, gvariant.deserialize(SUMMARY_TYPE, data)) == data
    assert isinstance(summary_text(data), str)
    assert isinstance(summary_text(data, raw=True), str)


# ---------------------------------------------------------------- hostile bytes

def _parse_all(data: bytes) -> None:
    """Every parser of stored bytes; each may succeed or raise an OstreeError, nothing else."""
    parsers = [
        Commit.from_bytes, DirTree.from_bytes, DirMeta.from_bytes, parse_file_header, parse_archive_header,
        parse_bareuser_meta, summary_text, lambda d: summary_text(d, raw=True),
        lambda d: object_text("commit", "00" * 32, d), lambda d: object_text("commit", "00" * 32, d, raw=True),
        lambda d: object_text("dirtree", "00" * 32, d, raw=True),
        lambda d: object_text("dirmeta", "00" * 32, d, raw=True),
        lambda d: ArchiveReader(io.BytesIO(d)).read(),
    ]
    for parse in parsers:
        try:
            parse(data)
        except OstreeError:
            pass


def _valid_objects():
    return st.one_of(commits.map(Commit.to_bytes), dirtrees.map(DirTree.to_bytes),
                     dirmetas.map(DirMeta.to_bytes), file_infos().map(file_header),
                     file_infos().map(archive_header), file_infos().map(bareuser_meta),
                     summaries.map(lambda v: gvariant.serialize(SUMMARY_TYPE, v)))


@st.composite
def mutated(draw):
    """A valid object, then truncated, bit-flipped, overwritten, spliced or extended."""
    data = bytearray(draw(_valid_objects()))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "set", "insert", "delete", "append"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "truncate":
            del data[pos:]
        elif op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from([0, 1, 0x7f, 0x80, 0xff]))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos:pos + draw(st.integers(1, 8))]
        elif op == "append":
            data += draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_objects_parse_or_raise_ostree_errors(data):
    _parse_all(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_parse_or_raise_ostree_errors(data):
    _parse_all(data)


@SETTINGS
@given(st.integers(0, 64), st.integers(0, 200))
def test_deeply_nested_variants_raise_ostree_errors(depth_v, depth_a):
    """Nesting that would exhaust the stack is a GVariantError, not a RecursionError."""
    inner = b"\x01\x00y"
    for _ in range(depth_v * 40):
        inner += b"\x00v"
    md = {"k": Variant("ay", b"")}
    data = Commit(md, None, [], "", "", 0, "00" * 32, "00" * 32).to_bytes()
    _parse_all(inner)
    _parse_all(b"\x00" + b"a" * depth_a * 20 + b"y")
    _parse_all(data.replace(b"\x00ay", b"\x00" + b"a" * (depth_a + 1) + b"y"))


def test_zero_length_dirtree_is_not_an_empty_directory():
    try:
        DirTree.from_bytes(b"")
    except OstreeError:
        return
    raise AssertionError("an empty dirtree object parsed")


def test_parsed_dirtree_names_are_safe():
    """from_bytes refuses every name that could escape a directory."""
    for bad in ["", ".", "..", "a/b", "/"]:
        data = gvariant.serialize("(a(say)a(sayay))", ([(bad, b"\x11" * 32)], []))
        try:
            DirTree.from_bytes(data)
        except OstreeError:
            continue
        raise AssertionError(f"dirtree name {bad!r} accepted")
    data = gvariant.serialize("(a(say)a(sayay))", ([("aXb", b"\x11" * 32)], [])).replace(b"aXb", b"a\0b")
    try:
        DirTree.from_bytes(data)
    except OstreeError:
        return
    raise AssertionError("dirtree name with NUL accepted")


def test_truncated_archive_content_is_an_error():
    """Every prefix of a .filez either fails or yields the whole content (only the end marker cut)."""
    info = FileInfo(stat.S_IFREG | 0o644, size=1000)
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = archive_header(info) + z.compress(b"x" * 1000) + z.flush()
    for n in range(len(data)):
        try:
            out = ArchiveReader(io.BytesIO(data[:n])).read()
        except OstreeError:
            continue
        assert out == b"x" * 1000, f"prefix {n} read as {len(out)} bytes"



# ---- the dirtree fast path of gvariant.deserialize

def _decodes_as_general(data):
    general = gvariant.parse_type(DIRTREE_TYPE)
    try:
        expected = general.dec(data, 0, len(data))
    except GVariantError as e:
        with pytest.raises(GVariantError) as got:
            gvariant.deserialize(DIRTREE_TYPE, data)
        assert str(got.value) == str(e), data
        return
    assert gvariant.deserialize(DIRTREE_TYPE, data) == expected, data
    assert gvariant.deserialize(DIRTREE_TYPE, memoryview(data)) == expected, data


_names = st.text(min_size=1, max_size=12).filter(lambda t: "\0" not in t)
_csums = st.binary(min_size=0, max_size=40)


@given(st.lists(st.tuples(_names, _csums), max_size=6), st.lists(st.tuples(_names, _csums, _csums), max_size=6))
def test_dirtree_fast_path_decodes_as_the_general_decoder(files, dirs):
    """gvariant.deserialize reads a dirtree without the general decoder, with the same
    result: the same value, or for damaged data the same error."""
    _decodes_as_general(gvariant.serialize(DIRTREE_TYPE, (files, dirs)))


@pytest.mark.parametrize("files,dirs", [
    ([("a", b"")], [("d", b"", b"")]),
    ([("f", b"\1" * 32), ("é", b"")], [("d", b"\2" * 32, b"\3" * 32), ("e", b"", b"\4")]),
    ([(f"file{i}", b"\5" * 32) for i in range(8)], [(f"dir{i}", b"\6" * 32, b"\7" * 32) for i in range(4)]),
    # entries of more than 255 bytes: two-byte framing offsets inside the elements too
    ([("f" * 240, b"\1" * 32), ("g", b"\2" * 32)], [("d" * 230, b"\2" * 32, b"\3" * 32)]),
], ids=["tiny", "small", "two-byte-offsets", "two-byte-element-offsets"])
def test_damaged_dirtree_decodes_as_the_general_decoder(files, dirs):
    """Every byte of a dirtree changed (to any value in small trees; near its own and to
    small values in the larger one), and every cut: the same value or error as the general
    decoder."""
    data = gvariant.serialize(DIRTREE_TYPE, (files, dirs))
    for i, old in enumerate(data):
        values = range(256) if len(data) < 256 else \
            set(range(8)) | set(range(max(0, old - 3), min(256, old + 4))) | {255}
        for v in values:
            _decodes_as_general(data[:i] + bytes((v,)) + data[i + 1:])
    for n in range(len(data)):
        _decodes_as_general(data[:n])
        _decodes_as_general(data[n:])
