"""Property tests of delta part reading and execution in bounded pieces.

Random valid parts (every operation kind: splices of metadata, symlinks and
files, open/write from the payload or a read source, bspatch) built here
are written to a file, opened with ``open_part_body`` and executed: every
object they describe is stored with its bytes, whatever the sizes of the
pieces the executor reads in (made tiny here, so that every boundary is
crossed). Truncated, corrupted or random parts end in an ``OstreeError``
and nothing else.
"""

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ostree_py.core.content import FileInfo, checksum_begin
from ostree_py.deltas import apply as dapply
from ostree_py.deltas import bsdiff
from ostree_py.deltas import format as fmt
from ostree_py.errors import OstreeError
from ostree_py.core.gvariant import bswap32
from ostree_py.core.objects import DirMeta
from ostree_py.repo import Repo

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def small_pieces(io_chunk, window, small_object, bspatch_in_memory):
    """Run with the executor's buffer sizes made small."""
    saved = (fmt.IO_CHUNK, fmt.OpsReader.WINDOW, dapply.SMALL_OBJECT, dapply._BSPATCH_IN_MEMORY)
    fmt.IO_CHUNK, fmt.OpsReader.WINDOW, dapply.SMALL_OBJECT, dapply._BSPATCH_IN_MEMORY = \
        io_chunk, window, small_object, bspatch_in_memory
    try:
        yield
    finally:
        fmt.IO_CHUNK, fmt.OpsReader.WINDOW, dapply.SMALL_OBJECT, dapply._BSPATCH_IN_MEMORY = saved


@contextlib.contextmanager
def scratch_repo(mode="bare-user"):
    d = tempfile.mkdtemp(prefix="delta-props-")
    try:
        yield Repo.create(os.path.join(d, "repo"), mode)
    finally:
        shutil.rmtree(d)


def _csum(info, data=b""):
    h = checksum_begin(info)
    h.update(data)
    return h.hexdigest()


class Builder:
    """Builds a valid part: payload, operations, mode and xattr tables, object list."""

    def __init__(self):
        self.payload = bytearray()
        self.ops = bytearray()
        self.modes = []
        self.xattrs = []
        self.objects = []   # (objtype, csum)
        self.expect = {}    # (objtype, csum) -> bytes (file contents, symlink target, metadata)

    def op(self, code, *args):
        self.ops.append(code)
        for a in args:
            fmt.write_varuint64(self.ops, a)

    def put(self, data: bytes) -> int:
        off = len(self.payload)
        self.payload += data
        return off

    def mode_index(self, info):
        entry = (bswap32(info.uid), bswap32(info.gid), bswap32(info.mode))
        if entry not in self.modes:
            self.modes.append(entry)
        return self.modes.index(entry)

    def xattr_index(self, xattrs):
        wire = [(n + b"\0", v) for n, v in xattrs]
        if wire not in self.xattrs:
            self.xattrs.append(wire)
        return self.xattrs.index(wire)

    def meta(self, data: bytes):
        csum = hashlib.sha256(data).hexdigest()
        self.objects.append(("dirmeta", csum))
        self.expect[("dirmeta", csum)] = data
        self.op(fmt.OP_OPEN_SPLICE_AND_CLOSE, len(data), self.put(data))

    def _file(self, info, data):
        csum = _csum(info, b"" if info.is_symlink else data)
        self.objects.append(("file", csum))
        self.expect[("file", csum)] = data
        return csum, self.mode_index(info), self.xattr_index(info.xattrs)

    def splice(self, info, data):
        _c, m, x = self._file(info, data)
        self.op(fmt.OP_OPEN_SPLICE_AND_CLOSE, m, x, len(data), self.put(data))

    def opened(self, info, data, pieces, source=None):
        """open, then writes of ``pieces`` ((from_source, offset, length) of the new bytes),
        then close; ``source``: (csum, its bytes) for the read source."""
        _c, m, x = self._file(info, data)
        self.op(fmt.OP_OPEN, m, x, len(data))
        reading = False
        for from_source, offset, length in pieces:
            if from_source and not reading:
                self.op(fmt.OP_SET_READ_SOURCE, self.put(bytes.fromhex(source[0])))
                reading = True
            elif not from_source and reading:
                self.op(fmt.OP_UNSET_READ_SOURCE)
                reading = False
            if from_source:
                self.op(fmt.OP_WRITE, length, offset)
            else:
                self.op(fmt.OP_WRITE, length, self.put(data[offset:offset + length]))
        self.op(fmt.OP_CLOSE)

    def bspatched(self, info, data, source):
        _c, m, x = self._file(info, data)
        patch = bsdiff.diff(source[1], data)
        self.op(fmt.OP_OPEN, m, x, len(data))
        self.op(fmt.OP_SET_READ_SOURCE, self.put(bytes.fromhex(source[0])))
        self.op(fmt.OP_BSPATCH, self.put(patch), len(patch))
        self.op(fmt.OP_UNSET_READ_SOURCE)
        self.op(fmt.OP_CLOSE)

    def body(self) -> bytes:
        return fmt.serialize_part_payload(self.modes, self.xattrs, bytes(self.payload), bytes(self.ops))

    def object_array(self) -> bytes:
        return fmt.object_array(self.objects)


xattr_sets = st.lists(st.tuples(st.sampled_from([b"user.a", b"user.b", b"security.x"]),
                                st.binary(max_size=20)), max_size=2, unique_by=lambda t: t[0])
contents = st.binary(max_size=300)


@st.composite
def parts(draw):
    """(Builder, base contents stored in the repo first)."""
    bases = draw(st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=3))
    base_info = FileInfo(stat.S_IFREG | 0o644, 0, 0, 0)
    sources = [(_csum(base_info, b), b) for b in bases]
    b = Builder()
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["meta", "link", "splice", "open", "rollsum", "bspatch"]))
        xattrs = draw(xattr_sets)
        mode = draw(st.sampled_from([0o644, 0o755, 0o600]))
        uid = draw(st.sampled_from([0, 1000]))
        if kind == "meta":
            b.meta(DirMeta(uid, uid, stat.S_IFDIR | mode, []).to_bytes())
            continue
        if kind == "link":
            target = draw(st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
                                  min_size=1, max_size=40)).encode()
            info = FileInfo(stat.S_IFLNK | 0o777, uid, uid, 0, target.decode(), xattrs)
            b.splice(info, target)
            continue
        data = draw(contents)
        info = FileInfo(stat.S_IFREG | mode, uid, uid, len(data), "", xattrs)
        if ("file", _csum(info, data)) in b.expect:
            continue  # one object appears once in a part
        if kind == "splice":
            b.splice(info, data)
        elif kind == "open":
            cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
            bounds = [0, *cuts, len(data)]
            b.opened(info, data, [(False, s, e - s) for s, e in zip(bounds, bounds[1:])])
        elif kind == "rollsum":
            src = draw(st.sampled_from(sources))
            # new bytes: pieces of the source and of the payload, in any order
            pieces = []
            new = bytearray()
            for _ in range(draw(st.integers(1, 4))):
                if draw(st.booleans()):
                    s = draw(st.integers(0, len(src[1]) - 1))
                    e = draw(st.integers(s, len(src[1])))
                    pieces.append((True, s, e - s))
                    new += src[1][s:e]
                else:
                    extra = draw(st.binary(max_size=50))
                    pieces.append((False, len(new), len(extra)))
                    new += extra
            data = bytes(new)
            info = FileInfo(stat.S_IFREG | mode, uid, uid, len(data), "", xattrs)
            if ("file", _csum(info, data)) in b.expect:
                continue
            b.opened(info, data, pieces, src)
        else:
            src = draw(st.sampled_from(sources))
            b.bspatched(info, data, src)
    return b, bases


buffer_sizes = st.tuples(st.sampled_from([1, 3, 7, 64, 1 << 20]), st.sampled_from([1, 2, 11, 64 * 1024]),
                         st.sampled_from([0, 5, 100, 1 << 20]), st.sampled_from([0, 50, 4 << 20]))


def _store_bases(repo, bases):
    with repo.transaction():
        for data in bases:
            repo.write_content(FileInfo(stat.S_IFREG | 0o644, 0, 0, len(data)), data=data)


def _execute(repo, data: bytes, objects: bytes, limit=None, expected=None):
    d = tempfile.mkdtemp(prefix="delta-part-")
    try:
        p = os.path.join(d, "part")
        with open(p, "wb") as f:
            f.write(data)
        with repo.transaction():
            with fmt.open_part_body(open(p, "rb"), expected, limit=limit,
                                    spool=lambda: dapply.spool_fd(repo)) as body:
                dapply.execute_part(repo, objects, body)
    finally:
        shutil.rmtree(d)


def _stored(repo, objtype, csum) -> bytes:
    if objtype != "file":
        return repo.load_metadata_bytes(objtype, csum)
    info, stream = repo.load_file(csum)
    if stream is None:
        return info.symlink_target.encode()
    try:
        return stream.read()
    finally:
        stream.close()


@SETTINGS
@given(parts(), st.sampled_from([fmt.COMPRESSION_NONE, fmt.COMPRESSION_XZ]), buffer_sizes,
       st.sampled_from(["bare-user", "archive"]))
def test_valid_parts_round_trip(part, comp, sizes, mode):
    b, bases = part
    data = fmt.compress_part(b.body(), comp)
    usize = sum(len(v) for v in b.expect.values())
    limit = fmt.part_body_limit(usize, len(b.objects))
    with scratch_repo(mode) as repo, small_pieces(*sizes):
        _store_bases(repo, bases)
        _execute(repo, data, b.object_array(), limit, hashlib.sha256(data).hexdigest())
        for (objtype, csum), content in b.expect.items():
            assert _stored(repo, objtype, csum) == content


@SETTINGS
@given(parts(), st.sampled_from([fmt.COMPRESSION_NONE, fmt.COMPRESSION_XZ]), buffer_sizes)
def test_part_body_reads_back_what_was_serialised(part, comp, sizes):
    b, _bases = part
    with small_pieces(*sizes):
        with fmt.open_part_body(fmt.compress_part(b.body(), comp), spool=_spool) as body:
            assert body.values() == (b.modes, b.xattrs, bytes(b.payload), bytes(b.ops))
            ops = body.ops()
            seen = bytearray()
            while not ops.at_end():
                seen.append(ops.byte())
            assert seen == b.ops


def _spool():
    f = tempfile.TemporaryFile()
    fd = os.dup(f.fileno())
    f.close()
    return fd


@st.composite
def damaged(draw):
    """A valid part, then truncated, overwritten in places, or replaced by random bytes."""
    b, bases = draw(parts())
    comp = draw(st.sampled_from([fmt.COMPRESSION_NONE, fmt.COMPRESSION_XZ]))
    data = bytearray(fmt.compress_part(b.body(), comp))
    how = draw(st.sampled_from(["truncate", "flip", "random", "body"]))
    if how == "truncate":
        del data[draw(st.integers(0, len(data) - 1)):]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
    elif how == "random":
        data = bytearray([comp]) + draw(st.binary(max_size=400))
    else:
        # a valid framing around random operations
        data = bytearray(fmt.compress_part(fmt.serialize_part_payload(
            b.modes, b.xattrs, bytes(b.payload), draw(st.binary(max_size=60))), comp))
    return b, bases, bytes(data)


@SETTINGS
@given(damaged(), buffer_sizes, st.booleans())
def test_damaged_parts_fail_cleanly(case, sizes, with_limit):
    b, bases, data = case
    limit = fmt.part_body_limit(0, 1) if with_limit else None
    with scratch_repo() as repo, small_pieces(*sizes):
        _store_bases(repo, bases)
        try:
            _execute(repo, data, b.object_array(), limit)
        except OstreeError:
            pass
        # nothing half-written is left: only the repository's own directories in tmp/
        assert sorted(n for n in os.listdir(repo.tmp_dir) if not n.startswith("staging-")) == ["cache"]
