"""The struct fast paths of content.py decode exactly what the general GVariant decoder does."""

import stat

from hypothesis import given
from hypothesis import strategies as st

from ostree_py.core import gvariant
from ostree_py.core.content import (FileInfo, archive_header, bareuser_meta, parse_archive_header,
                               parse_bareuser_meta)
from ostree_py.core.objects import ARCHIVE_HEADER_TYPE, DIRMETA_TYPE, xattrs_from_wire

u32 = st.integers(0, 2**32 - 1)
modes = st.sampled_from([stat.S_IFREG | 0o644, stat.S_IFREG | 0o4755, stat.S_IFREG, stat.S_IFLNK | 0o777])
xattrs = st.lists(st.tuples(st.binary(min_size=1, max_size=8).filter(lambda b: b"\0" not in b),
                            st.binary(max_size=8)), max_size=2)


@st.composite
def infos(draw):
    mode = draw(modes)
    target = draw(st.text(min_size=1, max_size=8).filter(lambda t: "\0" not in t)) if stat.S_ISLNK(mode) else ""
    return FileInfo(mode, draw(u32), draw(u32), 0 if target else draw(st.integers(0, 2**63 - 1)),
                    target, draw(st.one_of(st.just([]), xattrs)))


@given(infos())
def test_archive_header_fast_path_matches_general_decoder(info):
    hdr = archive_header(info)[8:]
    size, uid, gid, mode, rdev, target, xa = gvariant.deserialize(ARCHIVE_HEADER_TYPE, hdr)
    got = parse_archive_header(hdr)
    assert (got.size, got.uid, got.gid, got.mode, got.rdev, got.symlink_target, got.xattrs) == (
        gvariant.bswap64(size), gvariant.bswap32(uid), gvariant.bswap32(gid), gvariant.bswap32(mode),
        gvariant.bswap32(rdev), target, xattrs_from_wire(xa))


@given(infos())
def test_bareuser_meta_fast_path_matches_general_decoder(info):
    meta = bareuser_meta(info)
    uid, gid, mode, xa = gvariant.deserialize(DIRMETA_TYPE, meta)
    assert parse_bareuser_meta(meta) == (gvariant.bswap32(uid), gvariant.bswap32(gid),
                                         gvariant.bswap32(mode), xattrs_from_wire(xa))
