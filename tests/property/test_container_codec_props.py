"""The codecs of ostree_py.container: tar headers and PAX records, image references.

What TarWriter writes, TarReader and Python's tarfile (an implementation
nobody here wrote) read back the same; arbitrary bytes make the reader fail
only with ContainerError; image references print back to what was parsed.
"""

import io
import tarfile

from hypothesis import given, settings, strategies as st

from ostree_py.container.imgref import ImageReference, OstreeImageReference
from ostree_py.container.tarcodec import (
    DIRECTORY,
    HARDLINK,
    REGULAR,
    SYMLINK,
    TarReader,
    TarWriter,
    decode_pax_records,
    encode_pax_records,
)
from ostree_py.errors import ContainerError

name_part = st.text(alphabet=st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)),
                    min_size=1, max_size=60).filter(lambda s: s not in (".", ".."))
paths = st.lists(name_part, min_size=1, max_size=6).map("/".join)
xattr_names = st.text(alphabet=st.characters(blacklist_characters="=\0\n", blacklist_categories=("Cs",)),
                      min_size=1, max_size=30)

entry = st.fixed_dictionaries({
    "path": paths,
    "kind": st.sampled_from([REGULAR, DIRECTORY, SYMLINK, HARDLINK]),
    "mode": st.integers(0, 0o7777),
    "uid": st.integers(0, 2 ** 32 - 1),
    "gid": st.integers(0, 2 ** 32 - 1),
    "data": st.binary(max_size=1500),
    "link": paths,
    "xattrs": st.dictionaries(xattr_names, st.binary(max_size=40), max_size=3),
})


def _write(entries) -> bytes:
    buf = io.BytesIO()
    w = TarWriter(buf)
    for e in entries:
        w.pax([("SCHILY.xattr." + k, v) for k, v in e["xattrs"].items()])
        data = e["data"] if e["kind"] == REGULAR else b""
        link = e["link"].encode() if e["kind"] in (SYMLINK, HARDLINK) else b""
        w.add(e["path"].encode(), e["kind"], e["mode"], e["uid"], e["gid"], size=len(data),
              linkname=link, data=data)
    w.finish()
    return buf.getvalue()


@settings(max_examples=80, deadline=None)
@given(st.lists(entry, min_size=1, max_size=5))
def test_reader_and_tarfile_read_back_what_we_write(entries):
    blob = _write(entries)
    got = []
    reader = TarReader(io.BytesIO(blob))
    for e in reader:
        got.append((e.path, e.typeflag, e.mode, e.uid, e.gid, e.read(), e.linkname,
                    dict((k.decode(), v) for k, v in e.xattrs)))
    assert reader.ended
    want = [(e["path"].encode(), e["kind"], e["mode"], e["uid"], e["gid"],
             e["data"] if e["kind"] == REGULAR else b"",
             e["link"].encode() if e["kind"] in (SYMLINK, HARDLINK) else b"", e["xattrs"])
            for e in entries]
    assert got == want
    members = tarfile.open(fileobj=io.BytesIO(blob)).getmembers()
    assert [(m.name, m.mode, m.uid, m.gid, m.size) for m in members] == [
        (e["path"], e["mode"], e["uid"], e["gid"], len(e["data"]) if e["kind"] == REGULAR else 0)
        for e in entries]
    assert [m.linkname for m in members] == [
        e["link"] if e["kind"] in (SYMLINK, HARDLINK) else "" for e in entries]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet=st.characters(blacklist_characters="=",
                                                         blacklist_categories=("Cs",)),
                                  min_size=1, max_size=40),
                          st.binary(max_size=300)), max_size=6, unique_by=lambda kv: kv[0]))
def test_pax_records_round_trip(records):
    assert decode_pax_records(encode_pax_records(records)) == dict(records)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_pax_decoder_refuses_garbage_with_container_error(data):
    try:
        decode_pax_records(data)
    except ContainerError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.lists(entry, min_size=1, max_size=3), st.data())
def test_reader_on_damaged_streams_fails_only_with_container_error(entries, data):
    blob = bytearray(_write(entries))
    cut = data.draw(st.integers(0, len(blob)))
    flips = data.draw(st.lists(st.integers(0, len(blob) - 1), max_size=4))
    for i in flips:
        blob[i] ^= 0xA5
    try:
        for e in TarReader(io.BytesIO(bytes(blob[:cut]))):
            e.read()
    except ContainerError:
        pass


transports = st.sampled_from(["oci", "oci-archive", "containers-storage", "dir",
                              "docker-archive", "docker-daemon", "registry"])
names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(transports, names)
def test_image_references_print_back(transport, name):
    ref = ImageReference(transport, name)
    text = str(ref)
    assert ImageReference.parse(text) == ref
    if transport != "registry":
        assert text == f"{transport}:{name}"
    for scheme in ("ostree-unverified-image", "ostree-image-signed"):
        o = OstreeImageReference.parse(f"{scheme}:{text}")
        assert o.imgref == ref and OstreeImageReference.parse(str(o)) == o
    o = OstreeImageReference.parse(f"ostree-remote-image:myremote:{text}")
    assert o.remote == "myremote" and OstreeImageReference.parse(str(o)) == o
