"""Hand-made static deltas for the delta bound tests: the parts are written
as streams (a payload of hundreds of MiB never sits in this process's
memory), so the tests can build what a hostile mirror would serve.

A delta made here holds a one-file commit: part 0 creates the root dirmeta
and dirtree (open-splice-and-close) and the file, whose bytes come from
``ops`` over the payload. The layout of ``(a(uuu)aa(ayay)ayay)`` is the
GVariant one: the four members, then the end offsets of the first three,
last first.
"""

import hashlib
import lzma
import os
import stat

from ostree_py.core import gvariant
from ostree_py.core.content import FileInfo, checksum_begin
from ostree_py.deltas import format as fmt
from ostree_py.core.objects import Commit, DirMeta, DirTree

CHUNK = 1 << 20


class Ops:
    """Builds the operations byte string of a part."""

    def __init__(self):
        self.data = bytearray()

    def op(self, code, *args):
        self.data.append(code)
        for a in args:
            fmt.write_varuint64(self.data, a)
        return self


def file_checksum(info: FileInfo, chunks) -> str:
    h = checksum_begin(info)
    for c in chunks:
        h.update(c)
    return h.hexdigest()


def zeros(n: int):
    """``n`` zero bytes, a MiB at a time."""
    z = bytes(CHUNK)
    while n > 0:
        yield z[:min(n, CHUNK)]
        n -= CHUNK


def repeat(block: bytes, times: int):
    for _ in range(times):
        yield block


def body_chunks(modes, xattrs, payload_chunks, payload_len: int, ops: bytes):
    """The serialised ``(a(uuu)aa(ayay)ayay)``, in chunks."""
    m = gvariant.serialize("a(uuu)", modes)
    x = gvariant.serialize("aa(ayay)", xattrs)
    e0 = len(m)
    e1 = e0 + len(x)
    e2 = e1 + payload_len
    size = e2 + len(ops)
    osize = gvariant._frame_size(size, 3)
    yield m
    yield x
    n = 0
    for c in payload_chunks:
        n += len(c)
        yield c
    assert n == payload_len
    yield bytes(ops)
    yield b"".join(e.to_bytes(osize, "little") for e in (e2, e1, e0))


def write_part(path: str, chunks, compress: bool = True) -> tuple[str, int]:
    """Write a part file from body chunks; (sha256 of the file, its size)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "wb") as f:
        def out(b):
            nonlocal size
            if b:
                f.write(b)
                h.update(b)
                size += len(b)
        out(b"x" if compress else b"\0")
        c = lzma.LZMACompressor(format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=0) if compress else None
        for chunk in chunks:
            out(c.compress(chunk) if c else chunk)
        if c:
            out(c.flush())
    return h.hexdigest(), size


def mode_entry(info: FileInfo):
    return (gvariant.bswap32(info.uid), gvariant.bswap32(info.gid), gvariant.bswap32(info.mode))


class OneFileDelta:
    """A from-scratch delta to a commit holding one regular file ``name``.

    ``payload`` (chunks) and ``payload_len`` make the part's payload; the
    payload starts with the dirmeta and dirtree bytes, which the first two
    operations splice. ``file_ops(ops, base)`` appends the operations that
    produce the file (``base``: where the caller's payload bytes start).
    ``usize`` overrides the declared uncompressed size (default: the
    objects' sizes, as the reference generator counts them).
    """

    def __init__(self, file_info: FileInfo, file_csum: str, name: str = "file"):
        self.info = file_info
        self.file_csum = file_csum
        self.dirmeta = DirMeta(0, 0, stat.S_IFDIR | 0o755).to_bytes()
        self.dirtree = DirTree([(name, file_csum)]).to_bytes()
        self.dirmeta_csum = hashlib.sha256(self.dirmeta).hexdigest()
        self.dirtree_csum = hashlib.sha256(self.dirtree).hexdigest()
        self.commit = Commit({}, None, (), "crafted", "", 1700000000,
                             self.dirtree_csum, self.dirmeta_csum).to_bytes()
        self.to = hashlib.sha256(self.commit).hexdigest()

    def write(self, repo_path: str, payload_chunks, payload_len: int, file_ops, usize=None,
              compress: bool = True) -> str:
        """Write the delta below ``repo_path``/deltas; return its directory."""
        head = self.dirmeta + self.dirtree
        base = len(head)
        ops = Ops()
        ops.op(fmt.OP_OPEN_SPLICE_AND_CLOSE, len(self.dirmeta), 0)
        ops.op(fmt.OP_OPEN_SPLICE_AND_CLOSE, len(self.dirtree), len(self.dirmeta))
        file_ops(ops, base)

        def payload():
            yield head
            yield from payload_chunks
        d = os.path.join(repo_path, fmt.delta_dir(None, self.to))
        os.makedirs(d, exist_ok=True)
        chunks = body_chunks([mode_entry(self.info)], [[]], payload(), base + payload_len, ops.data)
        csum, size = write_part(os.path.join(d, "0"), chunks, compress)
        objects = fmt.object_array([("dirmeta", self.dirmeta_csum), ("dirtree", self.dirtree_csum),
                                    ("file", self.file_csum)])
        if usize is None:
            usize = len(self.dirmeta) + len(self.dirtree) + self.info.size
        headers = [(fmt.DELTAPART_VERSION, bytes.fromhex(csum), size, usize, objects)]
        md = {"ostree.endianness": gvariant.Variant("y", ord(fmt.HOST_ENDIAN))}
        sb = fmt.build_superblock(md, 1700000000, None, self.to, self.commit, headers, [], fmt.HOST_ENDIAN)
        with open(os.path.join(d, "superblock"), "wb") as f:
            f.write(sb)
        return d

    def write_server_objects(self, repo) -> None:
        """Store the commit, dirtree and dirmeta (not the file) in ``repo`` and point ref ``main`` at it."""
        with repo.transaction():
            repo.write_metadata("dirmeta", self.dirmeta, self.dirmeta_csum)
            repo.write_metadata("dirtree", self.dirtree, self.dirtree_csum)
            repo.write_metadata("commit", self.commit, self.to)
        repo.set_ref("main", self.to)
