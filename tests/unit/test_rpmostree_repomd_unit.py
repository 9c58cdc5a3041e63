"""rpm-ostree-py's rpm-md parsers and cache rules: repomd.xml, metadata_expire, the
decompression bounds, deploy's REVISION syntax (property tests with hypothesis)."""

import gzip
import hashlib
import lzma
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ostree_py.rpmostree import RpmOstreeError
from ostree_py.rpmostree import repos

REPOMD = ('<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>7</revision>'
          '<data type="other"><timestamp>1700000009</timestamp></data>'
          '<data type="primary"><checksum type="sha256">{c}</checksum>'
          '<open-checksum type="sha256">{oc}</open-checksum><location href="repodata/p.xml.gz"/>'
          '<timestamp>1700000000</timestamp><size>{s}</size><open-size>{os}</open-size></data></repomd>')


def test_parse_repomd():
    rev, ts, d = repos.parse_repomd(REPOMD.format(c="AB" * 32, oc="cd" * 32, s=10, os=20).encode())
    assert (rev, ts) == ("7", 1700000009)
    assert (d.href, d.algo, d.checksum, d.size, d.open_checksum, d.open_size) == \
        ("repodata/p.xml.gz", "sha256", "ab" * 32, 10, "cd" * 32, 20)


@pytest.mark.parametrize("doc, message", [
    (b"<repomd", "repomd.xml: unclosed token: line 1, column 0"),
    (b'<repomd xmlns="http://linux.duke.edu/metadata/repo"/>', "repomd.xml has no primary metadata"),
    (b"<x/>", "repomd.xml: not an rpm-md repomd document"),
    (b'<!DOCTYPE x><repomd/>', "repomd.xml: document type declarations are not allowed"),
    (REPOMD.format(c="a", oc="b", s=-1, os=1).encode(), "repomd.xml: invalid size of primary"),
    (REPOMD.format(c="a", oc="b", s=1, os=1).replace("sha256", "crc", 1).encode(),
     "repomd.xml: unsupported checksum type 'crc'"),
    (REPOMD.format(c="a", oc="b", s=1, os=1).replace("repodata/p.xml.gz", "/etc/p").encode(),
     "repomd.xml: invalid location of primary"),
    (REPOMD.format(c="", oc="b", s=1, os=1).encode(), "repomd.xml has no checksum for primary"),
    (b" " * (repos.MAX_REPOMD_SIZE + 1), f"repomd.xml is larger than {repos.MAX_REPOMD_SIZE} bytes"),
])
def test_parse_repomd_errors(doc, message):
    with pytest.raises(RpmOstreeError) as e:
        repos.parse_repomd(doc)
    assert e.value.message == message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=300).map(lambda t: REPOMD[:len(REPOMD) // 2].encode() + t.encode()))
def test_parse_repomd_never_crashes(doc):
    try:
        repos.parse_repomd(doc)
    except RpmOstreeError:
        pass


@pytest.mark.parametrize("value, seconds", [
    (None, 48 * 3600), ("0", 0), ("90", 90), ("6h", 21600), ("7d", 604800), ("1.5m", 90), ("30s", 30),
    ("-1", None), ("never", None), (" 2H ", 7200)])
def test_metadata_expire(value, seconds):
    assert repos.parse_metadata_expire(value) == seconds


@pytest.mark.parametrize("value", ["x", "1w", "-5", "", "h"])
def test_metadata_expire_invalid(value):
    with pytest.raises(RpmOstreeError, match="Invalid metadata_expire value"):
        repos.parse_metadata_expire(value)


def _data(payload, plain, **kw):
    d = repos._Data("repodata/p.xml", "sha256", hashlib.sha256(payload).hexdigest(), len(payload),
                    "sha256", hashlib.sha256(plain).hexdigest(), len(plain))
    for k, v in kw.items():
        setattr(d, k, v)
    return d


@pytest.mark.parametrize("suffix, pack", [
    (".gz", gzip.compress), (".xz", lzma.compress), (".bz2", __import__("bz2").compress),
    (".zst", lambda b: __import__("zstandard").ZstdCompressor().compress(b)), ("", lambda b: b)])
def test_decompress_formats_and_bounds(tmp_path, suffix, pack):
    plain = b"<metadata>" + os.urandom(3000).hex().encode() + b"</metadata>"
    src = tmp_path / ("p" + suffix)
    src.write_bytes(pack(plain))
    out = tmp_path / "out"
    sha = repos._decompress(str(src), "repodata/p.xml" + suffix, str(out), _data(src.read_bytes(), plain))
    assert out.read_bytes() == plain and sha == hashlib.sha256(plain).hexdigest()
    with pytest.raises(RpmOstreeError, match="decompresses to more than its declared open-size of 100 bytes"):
        repos._decompress(str(src), "repodata/p.xml" + suffix, str(out),
                          _data(src.read_bytes(), plain, open_size=100))


def test_zstd_reader_multiple_frames_and_truncation(tmp_path):
    import zstandard
    c = zstandard.ZstdCompressor()
    src = tmp_path / "p.zst"
    src.write_bytes(c.compress(b"a" * 300000) + c.compress(b"b" * 5))
    out = tmp_path / "out"
    plain = b"a" * 300000 + b"b" * 5
    repos._decompress(str(src), "p.zst", str(out), _data(b"", plain))
    assert out.read_bytes() == plain
    src.write_bytes(c.compress(b"a" * 300000)[:-3])
    with pytest.raises(RpmOstreeError, match="incomplete frame"):
        repos._decompress(str(src), "p.zst", str(out), _data(b"", plain, open_size=None, open_checksum=None))


@pytest.mark.parametrize("revision, parsed", [
    ("revision=" + "a" * 64, ("checksum", "a" * 64)), ("a" * 64, ("checksum", "a" * 64)),
    ("version=" + "a" * 64, ("version", "a" * 64)), ("version=foo", ("version", "foo")),
    ("VERSION=1.0", ("version", "1.0")), ("version=", ("version", "")), ("foo", ("version", "foo")),
    ("", ("version", "")), ("other=x", ("version", "other=x"))])
def test_parse_revision(revision, parsed):
    from ostree_py.commands.rpmostree.deploy import parse_revision
    assert parse_revision(revision) == parsed


@pytest.mark.parametrize("revision", ["revision=", "revision=bar", "Revision=" + "a" * 63])
def test_parse_revision_bad_checksum(revision):
    from ostree_py.commands.rpmostree.deploy import parse_revision
    with pytest.raises(RpmOstreeError, match="checksum"):
        parse_revision(revision)


def test_strong_last_modified():
    h = {"last-modified": "Mon, 07 Dec 2026 03:00:00 GMT", "date": "Mon, 07 Dec 2026 03:00:00 GMT"}
    assert repos._strong_last_modified(h) is None
    h["date"] = "Mon, 07 Dec 2026 03:00:01 GMT"
    assert repos._strong_last_modified(h) == h["last-modified"]
    assert repos._strong_last_modified({"last-modified": "garbage", "date": "x"}) is None
