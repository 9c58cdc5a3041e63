"""Static deltas: format codecs, bsdiff framing, part execution, generate/apply round trips."""

import os
import stat
import struct

import pytest

from ostree_py.core.content import FileInfo
from ostree_py.deltas import apply as dapply
from ostree_py.deltas import bsdiff
from ostree_py.deltas import format as fmt
from ostree_py.repo import summary
from ostree_py.deltas import list_deltas, delete_delta, show_delta
from ostree_py.deltas.generate import GenerateOptions, compute_similar_objects, generate_delta
from ostree_py.errors import OstreeError
from ostree_py.core.gvariant import Variant


# ---------------------------------------------------------------- names, varints

CSUM = "ae9ce361641ac70d6a22b9e133c29f2f52c173bd82f7fc2a9e02e1e30fe9a347"
CSUM2 = "28c3bfc298d90ae596590ac4af071fac00f069ffc766f4d5e0c81db979574d62"


def test_modified_base64_paths_match_the_reference():
    # the directory names the reference wrote for these commits
    assert summary.delta_superblock_path(None, CSUM) == "deltas/rp/zjYWQaxw1qIrnhM8KfL1LBc72C9_wqngLh4w_po0c/superblock"
    assert fmt.part_relpath(CSUM, CSUM2, 3) == \
        "deltas/rp/zjYWQaxw1qIrnhM8KfL1LBc72C9_wqngLh4w_po0c-KMO_wpjZCuWWWQrErwcfrADwaf_HZvTV4MgduXlXTWI/3"
    assert summary.mb64_to_checksum(summary.checksum_to_mb64(CSUM2)) == CSUM2
    assert summary.delta_index_path(CSUM).startswith("delta-indexes/rp/") and summary.delta_index_path(CSUM).endswith(".index")


def test_parse_delta_name():
    assert summary.parse_delta_name(CSUM) == (None, CSUM)
    assert summary.parse_delta_name(f"{CSUM}-{CSUM2}") == (CSUM, CSUM2)
    with pytest.raises(OstreeError, match="Invalid rev GARBAGE"):
        summary.parse_delta_name("GARBAGE")


@pytest.mark.parametrize("n", [0, 1, 127, 128, 300, 2 ** 32, 2 ** 64 - 1])
def test_varint_round_trip(n):
    buf = bytearray()
    fmt.write_varuint64(buf, n)
    assert fmt.read_varuint64(buf, 0) == (n, len(buf))


def test_varint_encoding_is_protobuf():
    buf = bytearray()
    fmt.write_varuint64(buf, 300)
    assert bytes(buf) == b"\xac\x02"
    with pytest.raises(OstreeError, match="Unexpected EOF reading varint"):
        fmt.read_varuint64(b"\x80", 0)


# ---------------------------------------------------------------- bsdiff

def test_bsdiff_round_trip_and_framing():
    old = os.urandom(3000)
    new = old[:1000] + b"inserted" + old[1000:2500] + os.urandom(100)
    stream = bsdiff.diff(old, new)
    assert bsdiff.patch(old, len(new), stream) == new
    # endsley framing: the first control triple is three sign-magnitude LE int64s
    x, y = (struct.unpack("<q", stream[i:i + 8])[0] for i in (0, 8))
    assert 0 <= x <= len(new) and 0 <= y <= len(new)
    assert not stream.startswith(b"BSDIFF40")


def test_bsdiff_patch_rejects_truncated_stream():
    old = b"a" * 100
    new = b"b" * 100
    stream = bsdiff.diff(old, new)
    with pytest.raises(OstreeError, match="bsdiff patch failed"):
        bsdiff.patch(old, len(new), stream[:-5])


# ---------------------------------------------------------------- superblocks

def _commit_bytes():
    from ostree_py.core import gvariant
    from ostree_py.core.objects import COMMIT_TYPE
    return gvariant.serialize(COMMIT_TYPE, ({}, b"", [], "s", "b", 5, b"\1" * 32, b"\2" * 32))


@pytest.mark.parametrize("endian", ["l", "B"])
def test_superblock_round_trip_in_either_byte_order(endian):
    import hashlib
    commit = _commit_bytes()
    to = hashlib.sha256(commit).hexdigest()
    parts = [(0, b"\3" * 32, 1234, 99999, fmt.object_array([("dirtree", CSUM)]))]
    fallbacks = [(1, CSUM2, 5000, 6000)]
    data = fmt.build_superblock({"ostree.endianness": Variant("y", ord(endian))}, 1700000000, CSUM, to,
                                commit, parts, fallbacks, endian)
    sb = fmt.parse_superblock(data)
    assert (sb.from_checksum, sb.to_checksum, sb.timestamp) == (CSUM, to, 1700000000)
    assert sb.endianness == endian and not sb.endianness_heuristic
    assert sb.parts[0][2:4] == (1234, 99999)
    assert sb.fallbacks == [(1, bytes.fromhex(CSUM2), 5000, 6000)]
    assert fmt.commit_bytes(sb) == commit
    assert sb.part_objects(0) == [("dirtree", CSUM)]


def test_endianness_heuristic_without_the_key():
    import hashlib
    commit = _commit_bytes()
    to = hashlib.sha256(commit).hexdigest()
    # written in the other byte order: compressed size looks far larger than uncompressed
    other = "B" if fmt.HOST_ENDIAN == "l" else "l"
    parts = [(0, b"\3" * 32, 1234, 99999, fmt.object_array([("dirtree", CSUM)]))]
    data = fmt.build_superblock({}, 1, None, to, commit, parts, [], other)
    sb = fmt.parse_superblock(data)
    assert sb.endianness == other and sb.endianness_heuristic
    assert sb.parts[0][2:4] == (1234, 99999)
    data = fmt.build_superblock({}, 1, None, to, commit, parts, [], fmt.HOST_ENDIAN)
    assert fmt.parse_superblock(data).endianness == "invalid"


def test_signed_superblock_wrapping():
    raw = b"\0" * 40
    signed = fmt.wrap_signed(raw, {"ostree.sign.dummy": Variant("aay", [b"sig"])})
    assert signed.startswith(b"OSTSGNDT")
    assert fmt.is_signed_superblock(signed)
    assert fmt.unwrap_signed(signed)[0] == raw
    assert not fmt.is_signed_superblock(raw)
    assert not fmt.is_signed_superblock(fmt.wrap_signed(raw, {"other": Variant("s", "x")}))


def _spool():
    import tempfile
    f = tempfile.TemporaryFile()
    fd = os.dup(f.fileno())
    f.close()
    return fd


def test_part_checksum_and_compression(tmp_path):
    import hashlib
    body = fmt.serialize_part_payload([], [], b"payload", b"")
    for comp in (fmt.COMPRESSION_NONE, fmt.COMPRESSION_XZ):
        data = fmt.compress_part(body, comp)
        assert data[0] == comp
        with fmt.open_part_body(data, hashlib.sha256(data).hexdigest(), spool=_spool) as part:
            assert part.values()[2] == b"payload"
        # the same from a file, read by descriptor
        p = tmp_path / f"part{comp}"
        p.write_bytes(data)
        with fmt.open_part_body(open(p, "rb"), hashlib.sha256(data).hexdigest(), spool=_spool) as part:
            assert part.values()[2] == b"payload"
    with pytest.raises(OstreeError, match="Checksum mismatch in static delta part"):
        fmt.open_part_body(data, "0" * 64, spool=_spool)
    with pytest.raises(OstreeError, match="Invalid compression type '103'"):
        fmt.open_part_body(b"g" + body, spool=_spool)


def test_part_larger_than_declared_is_refused():
    """An xz part is decompressed no further than its header's declared size allows."""
    body = fmt.serialize_part_payload([], [], bytes(4 << 20), b"")
    limit = fmt.part_body_limit(1000, 1)
    assert limit < len(body)
    for comp in (fmt.COMPRESSION_NONE, fmt.COMPRESSION_XZ):
        with pytest.raises(OstreeError, match="declared uncompressed size allows"):
            fmt.open_part_body(fmt.compress_part(body, comp), limit=limit, spool=_spool)
    with fmt.open_part_body(fmt.compress_part(body), limit=len(body), spool=_spool) as part:
        assert part.payload_size == 4 << 20


def test_part_needing_a_huge_xz_dictionary_is_refused():
    """The xz dictionary a part's header asks for is memory: more than XZ_MEMLIMIT is refused
    (ostree's generators use 32 MiB)."""
    import lzma
    body = fmt.serialize_part_payload([], [], b"payload", b"")
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": 2 * fmt.XZ_MEMLIMIT}]
    data = b"x" + lzma.compress(body, format=lzma.FORMAT_XZ, filters=filters)
    with pytest.raises(OstreeError, match="Decompressing delta part: Memory usage limit"):
        fmt.open_part_body(data, spool=_spool)
    with fmt.open_part_body(fmt.compress_part(body), spool=_spool) as part:
        assert part.values()[2] == b"payload"


# ---------------------------------------------------------------- repositories

def _make_repo(tmp_path, name, mode="archive"):
    from ostree_py.repo import Repo
    return Repo.create(str(tmp_path / name), mode)


def _commit_tree(repo, files, parent=None):
    """Commit ``files`` ({path: bytes | ("link", target)}) and return the checksum."""
    from ostree_py.ops.commit import CommitBuilder, CommitModifier, MutableTree, write_commit
    src = repo.path + "-src"
    import shutil
    shutil.rmtree(src, ignore_errors=True)
    for rel, content in files.items():
        p = os.path.join(src, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if isinstance(content, tuple):
            os.symlink(content[1], p)
        else:
            with open(p, "wb") as f:
                f.write(content)
    with repo.transaction():
        mtree = MutableTree()
        builder = CommitBuilder(repo, CommitModifier(owner_uid=0, owner_gid=0))
        builder.add_directory(mtree, src)
        tree, meta = builder.write_mtree(mtree)
        return write_commit(repo, tree, meta, parent=parent, subject="s", body="", metadata={}, timestamp=1)


def _files(seed=0, n=30):
    import random
    rnd = random.Random(seed)
    files = {f"d{i % 4}/f{i}.bin": bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 3000)))
             for i in range(n)}
    files["big/blob"] = bytes(rnd.getrandbits(8) for _ in range(20000))
    files["link"] = ("link", "d0/f0.bin")
    return files


def _modify(files):
    out = dict(files)
    out["big/blob"] = out["big/blob"][:5000] + b"patched!" + out["big/blob"][5000:]
    out["d1/f1.bin"] = b"changed" + out["d1/f1.bin"]
    del out["d2/f2.bin"]
    out["new/file"] = b"brand new"
    return out


def _reachable(repo, csum):
    from ostree_py.repo.traverse import traverse_commit
    s = set()
    traverse_commit(repo, csum, 0, s)
    return s


@pytest.mark.parametrize("dest_mode", ["bare-user", "archive"])
@pytest.mark.parametrize("inline", [False, True])
def test_generate_then_apply_offline(tmp_path, dest_mode, inline):
    src = _make_repo(tmp_path, "src")
    files = _files()
    c1 = _commit_tree(src, files)
    c2 = _commit_tree(src, _modify(files), parent=c1)
    logs = []
    generate_delta(src, None, c1, GenerateOptions(inline=inline, log=logs.append))
    stats = generate_delta(src, c1, c2, GenerateOptions(inline=inline, log=logs.append))
    assert stats["bsdiff"] >= 1 and "bsdiff=%d objects" % stats["bsdiff"] in logs
    assert sorted(list_deltas(src)) == sorted([c1, f"{c1}-{c2}"])
    ddir = os.path.join(src.path, fmt.delta_dir(c1, c2))
    assert os.path.exists(os.path.join(ddir, "0")) != inline

    dst = _make_repo(tmp_path, "dst", dest_mode)
    for frm, to in ((None, c1), (c1, c2)):
        with dst.transaction():
            assert dapply.apply_offline(dst, os.path.join(src.path, fmt.delta_dir(frm, to))) == to
        assert not dst.is_commit_partial(to)
    for key in _reachable(src, c2):
        from ostree_py.repo.traverse import key_parts
        csum, objtype = key_parts(key)
        assert dst.has_object(objtype, csum), (objtype, csum)


def test_apply_needs_the_source_commit(tmp_path):
    src = _make_repo(tmp_path, "src")
    c1 = _commit_tree(src, _files())
    c2 = _commit_tree(src, _modify(_files()), parent=c1)
    generate_delta(src, c1, c2, GenerateOptions())
    dst = _make_repo(tmp_path, "dst", "bare-user")
    with pytest.raises(OstreeError, match=f"Commit {c1}, which is the delta source, is not in repository"):
        with dst.transaction():
            dapply.apply_offline(dst, os.path.join(src.path, fmt.delta_dir(c1, c2)))


def test_corrupt_part_is_refused(tmp_path):
    src = _make_repo(tmp_path, "src")
    c1 = _commit_tree(src, _files())
    generate_delta(src, None, c1, GenerateOptions())
    p = os.path.join(src.path, fmt.part_relpath(None, c1, 0))
    with open(p, "r+b") as f:
        f.seek(20)
        f.write(b"\xff\xff")
    dst = _make_repo(tmp_path, "dst", "bare-user")
    with pytest.raises(OstreeError, match="Checksum mismatch in static delta part"):
        with dst.transaction():
            dapply.apply_offline(dst, os.path.join(src.path, fmt.delta_dir(None, c1)))


def test_chunking_and_fallbacks(tmp_path):
    src = _make_repo(tmp_path, "src")
    # compressible (xz of random megabytes is slow), but distinct files
    files = {f"f{i}": os.urandom(1000) * 400 for i in range(6)}
    files["huge"] = os.urandom(1000) * 1200
    c1 = _commit_tree(src, files)
    generate_delta(src, None, c1, GenerateOptions(max_chunk_size=1, min_fallback_size=1))
    sb = fmt.parse_superblock(open(os.path.join(src.path, summary.delta_superblock_path(None, c1)), "rb").read())
    assert len(sb.parts) >= 3
    assert len(sb.fallbacks) == 1 and sb.fallbacks[0][3] == 1_200_000
    dst = _make_repo(tmp_path, "dst", "bare-user")
    with pytest.raises(OstreeError, match="contains nonempty http fallback entries"):
        with dst.transaction():
            dapply.apply_offline(dst, os.path.join(src.path, fmt.delta_dir(None, c1)))


def test_show_counts_operations(tmp_path):
    import io
    src = _make_repo(tmp_path, "src")
    c1 = _commit_tree(src, _files())
    c2 = _commit_tree(src, _modify(_files()), parent=c1)
    generate_delta(src, c1, c2, GenerateOptions(endianness="B"))
    out = io.StringIO()
    show_delta(src, f"{c1}-{c2}", out)
    text = out.getvalue()
    assert f"From: {c1}\nTo: {c2}\nEndianness: big\n" in text
    assert "bspatch=2" in text and "Number of parts: 1" in text
    delete_delta(src, f"{c1}-{c2}")
    assert list_deltas(src) == []
    with pytest.raises(OstreeError, match="Can't find delta"):
        delete_delta(src, f"{c1}-{c2}")


def test_similar_objects_by_name_and_size(tmp_path):
    src = _make_repo(tmp_path, "src")
    base = {"a/libfoo.so.1": b"x" * 1000, "b/data.xz": b"y" * 1000, "c/other": b"z" * 100}
    c1 = _commit_tree(src, base)
    new = {"a/libfoo.so.2": b"x" * 1100, "b/data.xz": b"y" * 1001, "c/other": b"q" * 500}
    c2 = _commit_tree(src, new, parent=c1)
    from ostree_py.repo.traverse import key_parts
    newfiles = {key_parts(k)[0] for k in _reachable(src, c2) - _reachable(src, c1) if key_parts(k)[1] == "file"}
    sim = compute_similar_objects(src, c1, c2, newfiles, {})
    # libfoo.so.2 matches libfoo.so.1 by the fuzzy (before the first dot) rule; .xz files are
    # never candidates; c/other grew by 400%
    assert len(sim) == 1


def test_execute_rejects_unknown_opcode(tmp_path):
    repo = _make_repo(tmp_path, "r", "bare-user")
    part = ([], [], b"", b"Z")
    with pytest.raises(OstreeError, match="Unknown opcode 90 at offset 0"):
        dapply.execute_part(repo, fmt.object_array([("file", CSUM)]), part)


def test_execute_write_from_read_source(tmp_path):
    """open / set-read-source / write / unset / close, as the reference's rollsum output."""
    from ostree_py.core.content import checksum_begin
    from ostree_py.core.gvariant import bswap32
    repo = _make_repo(tmp_path, "r", "bare-user")
    with repo.transaction():
        old = repo.write_content(FileInfo(stat.S_IFREG | 0o644, 0, 0, 10), data=b"0123456789")
    new_data = b"0123" + b"NEW" + b"6789"
    info = FileInfo(stat.S_IFREG | 0o644, 0, 0, len(new_data))
    h = checksum_begin(info)
    h.update(new_data)
    target = h.hexdigest()
    payload = bytes.fromhex(old) + b"NEW"
    ops = bytearray()

    def op(code, *args):
        ops.append(code)
        for a in args:
            fmt.write_varuint64(ops, a)
    op(fmt.OP_OPEN, 0, 0, len(new_data))
    op(fmt.OP_SET_READ_SOURCE, 0)
    op(fmt.OP_WRITE, 4, 0)
    op(fmt.OP_UNSET_READ_SOURCE)
    op(fmt.OP_WRITE, 3, 32)
    op(fmt.OP_SET_READ_SOURCE, 0)
    op(fmt.OP_WRITE, 4, 6)
    op(fmt.OP_CLOSE)
    modes = [(bswap32(0), bswap32(0), bswap32(stat.S_IFREG | 0o644))]
    with repo.transaction():
        dapply.execute_part(repo, fmt.object_array([("file", target)]), (modes, [[]], payload, bytes(ops)))
    info2, stream = repo.load_file(target)
    assert stream.read() == new_data
    stream.close()
