"""Writing a commit as a tar stream (``ostree export``).

The reference writes GNU tar with libarchive; this module writes the same
bytes: one 512-byte header per entry (``ustar  `` magic, octal fields,
base-256 for numbers too large for them), ``././@LongLink`` records for
names or link targets over 100 bytes (``K`` for the target, then ``L`` for
the name), every timestamp the commit's, no user or group names. Entries
come in tree order: a directory, its files (sorted), then its
subdirectories. GNU tar has no place for xattrs, so none are written (as
in the reference). File contents are streamed. As ostree 2023.8 and later
do, a regular file whose content object was already written is a hard link
(type ``1``, no data) to the first path written with it.
"""

import stat

from ostree_py.errors import InvalidObjectError, OstreeError
from ostree_py.core.objects import validate_filename

BLOCK = 512
RECORD = 10240  # libarchive pads stdout output to whole 10 KiB records


def tar_number(value: int, width: int) -> bytes:
    """An octal field of ``width`` bytes (digits + NUL), or base-256 when it does not fit."""
    if 0 <= value < 8 ** (width - 1):
        return b"%0*o\0" % (width - 1, value)
    # GNU base-256: high bit set, big-endian two's complement
    v = value & ((1 << (8 * width)) - 1)
    b = bytearray(v.to_bytes(width, "big"))
    b[0] |= 0x80
    return bytes(b)


def _header(name: bytes, mode: int, uid: int, gid: int, size: int, mtime: int, typeflag: bytes,
            linkname: bytes = b"", uname: bytes = b"", gname: bytes = b"") -> bytes:
    h = bytearray(BLOCK)
    h[0:100] = name[:100].ljust(100, b"\0")
    h[100:108] = tar_number(mode, 8)
    h[108:116] = tar_number(uid, 8)
    h[116:124] = tar_number(gid, 8)
    h[124:136] = tar_number(size, 12)
    h[136:148] = tar_number(mtime, 12)
    h[148:156] = b" " * 8
    h[156:157] = typeflag
    h[157:257] = linkname[:100].ljust(100, b"\0")
    h[257:265] = b"ustar  \0"
    h[265:297] = uname[:32].ljust(32, b"\0")
    h[297:329] = gname[:32].ljust(32, b"\0")
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def _pad(n: int) -> bytes:
    return b"\0" * (-n % BLOCK)


def _longlink(kind: bytes, value: bytes, linkname: bytes) -> bytes:
    # libarchive fills the record's link field from the entry it precedes
    data = value + b"\0"
    return (_header(b"././@LongLink", 0, 0, 0, len(data), 0, kind, linkname, b"root", b"wheel")
            + data + _pad(len(data)))


class TarWriter:
    """GNU tar entries written to a binary stream ``out``."""

    def __init__(self, out):
        self.out = out
        self.written = 0

    def _write(self, b: bytes) -> None:
        self.out.write(b)
        self.written += len(b)

    def entry(self, path: bytes, mode: int, uid: int, gid: int, mtime: int, size: int = 0,
              linkname: bytes = b"", stream=None, hardlink: bool = False) -> None:
        """One entry; ``stream`` supplies ``size`` bytes for a regular file.

        With ``hardlink``, a hard link to the earlier entry ``linkname``, without data.
        """
        if hardlink:
            typeflag = b"1"
        elif stat.S_ISDIR(mode):
            typeflag = b"5"
            if not path.endswith(b"/"):
                path += b"/"
        elif stat.S_ISLNK(mode):
            typeflag = b"2"
        else:
            typeflag = b"0"
        if len(linkname) > 100:
            self._write(_longlink(b"K", linkname, linkname))
        if len(path) > 100:
            self._write(_longlink(b"L", path, linkname))
        self._write(_header(path, mode & 0o7777, uid, gid, size if typeflag == b"0" else 0, mtime,
                            typeflag, linkname))
        if typeflag == b"0" and size:
            remaining = size
            while remaining > 0:
                chunk = stream.read(min(remaining, 1 << 20))
                if not chunk:
                    raise OstreeError(f"Short read of {path.decode('utf-8', 'surrogateescape')}")
                self._write(chunk)
                remaining -= len(chunk)
            self._write(_pad(size))

    def finish(self, pad_record: bool = False) -> None:
        """The end-of-archive blocks; with ``pad_record`` fill the last 10 KiB record."""
        self._write(b"\0" * (2 * BLOCK))
        if pad_record and self.written % RECORD:
            self._write(b"\0" * (RECORD - self.written % RECORD))


def _resolve_subpath(repo, tree: str, meta: str, subpath: str):
    """(dirtree, dirmeta) checksums of directory ``subpath`` under the root."""
    shown = "/" + subpath.lstrip("/")
    for part in [p for p in subpath.split("/") if p and p != "."]:
        dt = repo.load_dirtree(tree)
        for name, t, m in dt.dirs:
            if name == part:
                tree, meta = t, m
                break
        else:
            if any(name == part for name, _c in dt.files):
                raise OstreeError(f"Not a directory: {shown}")
            raise OstreeError(f"No such file or directory: {shown}")
    return tree, meta


def export_commit(repo, rev: str, out, subpath: str | None = None, prefix: str | None = None,
                  pad_record: bool = False) -> None:
    """Write the tree of ``rev`` (or its ``subpath``) to the binary stream ``out`` as GNU tar."""
    checksum = repo.resolve_rev(rev)
    commit = repo.load_commit(checksum)
    mtime = commit.timestamp
    tree, meta = commit.root_tree, commit.root_meta
    if subpath:
        tree, meta = _resolve_subpath(repo, tree, meta, subpath)
    pre = (prefix or "").encode("utf-8", "surrogateescape")
    w = TarWriter(out)
    # content checksum -> the path its first regular file was written at
    written: dict[str, tuple[bytes, int, int, int]] = {}

    def path_of(rel: bytes) -> bytes:
        p = pre + rel
        return p if p else b"."

    # depth-first: (dirtree, dirmeta, relative path, dirtrees above it)
    stack = [(tree, meta, b"", frozenset())]
    while stack:
        t, m, rel, above = stack.pop()
        if t in above:
            # only possible with objects whose content does not match their name
            raise InvalidObjectError(f"Corrupted dirtree object {t}: it contains itself "
                                     f"(at /{rel.decode('utf-8', 'surrogateescape')})")
        dm = repo.load_dirmeta(m)
        w.entry(path_of(rel), dm.mode, dm.uid, dm.gid, mtime)
        dt = repo.load_dirtree(t)
        for name, fcsum in dt.files:
            validate_filename(name)
            frel = rel + name.encode("utf-8", "surrogateescape")
            first = written.get(fcsum)
            if first is not None:
                # only regular files are remembered, and the checksum covers mode and owner
                mode, uid, gid = first[1:]
                w.entry(path_of(frel), mode, uid, gid, mtime, linkname=first[0], hardlink=True)
                continue
            info, stream = repo.load_file(fcsum)
            try:
                if info.is_symlink:
                    w.entry(path_of(frel), info.mode, info.uid, info.gid, mtime,
                            linkname=info.symlink_target.encode("utf-8", "surrogateescape"))
                else:
                    written[fcsum] = (path_of(frel), info.mode, info.uid, info.gid)
                    w.entry(path_of(frel), info.mode, info.uid, info.gid, mtime, info.size, stream=stream)
            finally:
                if stream is not None:
                    stream.close()
        above_sub = above | {t}
        for name, st, sm in reversed(dt.dirs):
            validate_filename(name)
            stack.append((st, sm, rel + name.encode("utf-8", "surrogateescape") + b"/", above_sub))
    w.finish(pad_record)
