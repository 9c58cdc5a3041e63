"""The GNU tar writer of export.py: whatever names, modes, owners, sizes and
times it is given, Python's tarfile reads back the same entries."""

import io
import stat
import tarfile

from hypothesis import given, settings, strategies as st

from ostree_py.ops.export import TarWriter, tar_number

name_part = st.text(alphabet=st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)),
                    min_size=1, max_size=40).filter(lambda s: s not in (".", ".."))
paths = st.lists(name_part, min_size=1, max_size=6).map("/".join)

entry = st.fixed_dictionaries({
    "path": paths,
    "kind": st.sampled_from(["file", "dir", "symlink"]),
    "perm": st.integers(0, 0o7777),
    "uid": st.integers(0, 2 ** 32 - 1),
    "gid": st.integers(0, 2 ** 32 - 1),
    "mtime": st.integers(0, 2 ** 40),
    "data": st.binary(max_size=1500),
    "target": paths,
})


@settings(max_examples=60, deadline=None)
@given(st.lists(entry, min_size=1, max_size=5, unique_by=lambda e: e["path"]))
def test_tarfile_reads_back_what_we_write(entries):
    buf = io.BytesIO()
    w = TarWriter(buf)
    for e in entries:
        p = e["path"].encode()
        if e["kind"] == "file":
            w.entry(p, stat.S_IFREG | e["perm"], e["uid"], e["gid"], e["mtime"], len(e["data"]),
                    stream=io.BytesIO(e["data"]))
        elif e["kind"] == "dir":
            w.entry(p, stat.S_IFDIR | e["perm"], e["uid"], e["gid"], e["mtime"])
        else:
            w.entry(p, stat.S_IFLNK | 0o777, e["uid"], e["gid"], e["mtime"], linkname=e["target"].encode())
    w.finish(pad_record=True)
    data = buf.getvalue()
    assert len(data) % 10240 == 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
        members = tf.getmembers()
        assert len(members) == len(entries)
        for m, e in zip(members, entries):
            assert m.name == e["path"]
            assert (m.uid, m.gid, m.mtime) == (e["uid"], e["gid"], e["mtime"])
            if e["kind"] == "file":
                assert m.isreg() and m.mode == e["perm"]
                assert tf.extractfile(m).read() == e["data"]
            elif e["kind"] == "dir":
                assert m.isdir() and m.mode == e["perm"]
            else:
                assert m.issym() and m.linkname == e["target"]


@given(st.integers(0, 2 ** 63 - 1), st.sampled_from([8, 12]))
def test_numbers_octal_or_base256(value, width):
    field = tar_number(value, width)
    assert len(field) == width
    if value < 8 ** (width - 1):
        assert field == b"%0*o\0" % (width - 1, value)
    else:
        assert field[0] & 0x80 and int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big") == value
