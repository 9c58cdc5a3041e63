"""Reading tar and cpio archives as a stream of entries, for ``commit --tree=tar=``.

The reference reads archives with libarchive: any compression (gzip, bzip2,
xz, zstd) and the tar and cpio formats, detected from the data. This module
does the same in one pass over the input, without extracting to disk: tar
through Python's ``tarfile`` in streaming mode, cpio (newc, crc, odc and old
binary) with a small reader of its own. Entries are presented the way
libarchive presents them, since ostree's import depends on the details:

- ``mode`` is the full st_mode; a hardlink entry has only the permission bits
  its header carries (the importer makes it a regular file);
- ``xattrs`` (pax ``SCHILY.xattr.*`` and ``LIBARCHIVE.xattr.*``) are in
  libarchive's order, which is the reverse of the header's;
- in cpio, an entry whose (dev, ino) was seen before with a link count above
  one becomes a hardlink to the first name, as libarchive does.

Errors carry libarchive's messages where the reference shows them.
"""

import base64
import bz2
import io
import lzma
import os
import stat
import subprocess
import tarfile
import urllib.parse
import zlib

from ostree_py.errors import OstreeError

CHUNK = 256 * 1024


class ArchiveError(OstreeError):
    """A malformed or unreadable archive."""


class ArchiveEntry:
    """One archive member: path (as stored), type and ownership, and its data."""

    __slots__ = ("path", "hardlink", "mode", "uid", "gid", "size", "symlink", "xattrs", "_reader")

    def __init__(self, path, mode, uid=0, gid=0, size=0, hardlink=None, symlink=None, xattrs=(), reader=None):
        self.path = path
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.hardlink = hardlink
        self.symlink = symlink
        self.xattrs = list(xattrs)
        self._reader = reader

    def read(self, n: int = -1) -> bytes:
        """Read the entry's data (regular files); b"" at its end."""
        if self._reader is None:
            return b""
        return self._reader.read(n)

    def __repr__(self):
        return (f"ArchiveEntry({self.path!r}, mode={self.mode:o}, uid={self.uid}, gid={self.gid}, "
                f"size={self.size}, hardlink={self.hardlink!r}, symlink={self.symlink!r})")


# ------------------------------------------------------------------ decompression

_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\0"}


class _Decompressing(io.RawIOBase):
    """A readable stream of the decompressed bytes of ``src`` (one of gzip, bzip2, xz).

    Each read decompresses at most what it returns (``max_length``): a small
    input of a highly compressible payload (a zero-filled image) never
    expands in memory, and each byte is produced and copied once.
    """

    def __init__(self, src, kind, first: bytes):
        self._src = src
        self._kind = kind
        self._in = first      # compressed bytes not yet handed to the decompressor
        self._full = False    # the last call filled its output: more may be pending inside
        self._eof = False
        self._dec = self._new()

    def _new(self):
        if self._kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._kind == "bzip2":
            return bz2.BZ2Decompressor()
        return lzma.LZMADecompressor()

    def readable(self):
        return True

    def _dec_eof(self):
        return bool(getattr(self._dec, "eof", False))

    def _needs_input(self) -> bool:
        if self._kind == "gzip":
            return not self._full
        return self._dec.needs_input

    def _next_member(self) -> bool:
        """At the end of one compressed member: start the next (concatenated members:
        gzip -c a b, pbzip2, xz --concatenate); False at the end of the input, or at
        bytes that do not start a member (padding, trailing garbage: libarchive ends there)."""
        magic = _MAGIC[self._kind]
        data = self._dec.unused_data + self._in
        self._in = b""
        while len(data) < len(magic):
            more = self._src.read(CHUNK)
            if not more:
                break
            data += more
        if not data.startswith(magic):
            return False
        self._in = data
        self._dec = self._new()
        self._full = False
        return True

    def readinto(self, b):
        want = len(b)
        while want and not self._eof:
            if self._dec_eof() and not self._next_member():
                self._eof = True
                break
            data = self._in
            self._in = b""
            if not data and self._needs_input():
                data = self._src.read(CHUNK)
                if not data:
                    raise ArchiveError(f"truncated {self._kind} input")
            try:
                out = self._dec.decompress(data, want)
            except (zlib.error, OSError, EOFError, lzma.LZMAError) as e:
                raise ArchiveError(f"{self._kind} decompression failed: {e}") from None
            self._full = len(out) >= want
            if self._kind == "gzip":
                self._in = self._dec.unconsumed_tail
            if out:
                n = len(out)
                b[:n] = out
                return n
        return 0


class _Prefixed(io.RawIOBase):
    """``first`` followed by the rest of ``src``; ``count`` is the number of bytes read."""

    def __init__(self, first: bytes, src):
        self._first = first
        self._src = src
        self.count = 0
        self.eof = False

    def read(self, n=-1):
        data = super().read(n)
        if data is not None:
            self.count += len(data)
            if not data and n != 0:
                self.eof = True
        return data

    def readable(self):
        return True

    def readinto(self, b):
        if self._first:
            n = min(len(b), len(self._first))
            b[:n] = self._first[:n]
            self._first = self._first[n:]
            return n
        data = self._src.read(len(b))
        n = len(data)
        b[:n] = data
        return n


def _read_at_least(src, n: int) -> bytes:
    out = b""
    while len(out) < n:
        d = src.read(n - len(out))
        if not d:
            break
        out += d
    return out


def _zstd_stream(first: bytes, src):
    """Decompress zstd with the zstd program (no zstd in the standard library)."""
    try:
        p = subprocess.Popen(["zstd", "-dcq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    except OSError:
        raise ArchiveError("Unrecognized archive format") from None
    import threading

    def feed():
        try:
            p.stdin.write(first)
            while True:
                d = src.read(CHUNK)
                if not d:
                    break
                p.stdin.write(d)
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                p.stdin.close()
            except OSError:
                pass
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    return p.stdout


def _is_tar_header(block: bytes) -> bool:
    if len(block) < 512:
        return False
    if block[257:262] == b"ustar":
        return True
    try:
        chk = int(block[148:156].replace(b"\0", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    s = sum(block[:148]) + 8 * 32 + sum(block[156:512])
    return chk == s


def open_archive(src, what: str):
    """Detect compression and format of the stream ``src``; return an iterator of ArchiveEntry.

    ``what`` prefixes errors found while opening, as the reference's
    ``archive_read_open_filename: ...`` / ``archive_read_open_fd: ...``.
    """
    try:
        head = _read_at_least(src, 6)
        stream = src
        kind = None
        if head[:2] == b"\x1f\x8b":
            kind = "gzip"
        elif head[:3] == b"BZh":
            kind = "bzip2"
        elif head[:6] == b"\xfd7zXZ\0":
            kind = "xz"
        if kind is not None:
            stream = io.BufferedReader(_Decompressing(src, kind, head), CHUNK)
            head = b""
        elif head[:4] == b"\x28\xb5\x2f\xfd":
            stream = _zstd_stream(head, src)
            head = b""
        # libarchive decompresses a whole 64 KiB block while detecting the
        # format, so errors in it are reported as open errors
        want = 65536 if stream is not src else 512
        first = head + _read_at_least(stream, want - len(head))
    except ArchiveError as e:
        raise ArchiveError(f"{what}: {e.message}") from None
    if not first.strip(b"\0"):
        # an empty input, or only end-of-archive blocks: no entries
        return iter(())
    if first[:6] in (b"070701", b"070702", b"070707") or first[:2] in (b"\xc7\x71", b"\x71\xc7"):
        entries = _CpioReader(_Prefixed(first, stream)).entries()
    elif _is_tar_header(first):
        entries = _tar_entries(_Prefixed(first, stream))
    else:
        raise ArchiveError(f"{what}: Unrecognized archive format")
    return _drained(entries, stream) if kind is not None else entries


def _drained(entries, stream):
    """The entries, then the rest of the compressed stream read to its end: the archive's
    end marker comes before the compressed data's end, whose truncation is an error too."""
    yield from entries
    while stream.read(CHUNK):
        pass


# ------------------------------------------------------------------ tar

def _pax_xattrs(pax: dict) -> list:
    """xattrs from pax records, in libarchive's (reversed) order."""
    out = []
    seen = set()
    for key, value in pax.items():
        if key.startswith("SCHILY.xattr."):
            name = key[len("SCHILY.xattr."):].encode("utf-8", "surrogateescape")
            val = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
        elif key.startswith("LIBARCHIVE.xattr."):
            name = urllib.parse.unquote_to_bytes(key[len("LIBARCHIVE.xattr."):])
            try:
                raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
                val = base64.b64decode(raw + b"=" * (-len(raw) % 4))
            except ValueError:
                continue
        else:
            continue
        if name in seen:
            continue
        seen.add(name)
        out.append((name, val))
    out.reverse()
    return out


def _tar_error(e) -> ArchiveError:
    msg = str(e)
    if "unexpected end" in msg or "truncated" in msg or "empty" in msg:
        return ArchiveError("Truncated tar archive")
    return ArchiveError(f"Damaged tar archive: {msg}")


SPECIAL_HEADER_LIMIT = 1024 * 1024


class _BoundedTarInfo(tarfile.TarInfo):
    """Long-name and pax headers are read whole into memory: refuse those over 1 MiB, as
    libarchive does, so that what an entry claims does not decide how much is held."""

    def _proc_gnulong(self, tarfile):
        if self.size > SPECIAL_HEADER_LIMIT:
            raise ArchiveError("Special header too large")
        return super()._proc_gnulong(tarfile)

    def _proc_pax(self, tarfile):
        if self.size > SPECIAL_HEADER_LIMIT:
            raise ArchiveError("Special header too large")
        return super()._proc_pax(tarfile)


def _tar_entries(stream):
    try:
        tf = tarfile.open(fileobj=stream, mode="r|", errors="surrogateescape", tarinfo=_BoundedTarInfo)
    except tarfile.ReadError as e:
        raise _tar_error(e) from None
    try:
        while True:
            try:
                m = tf.next()
            except tarfile.ReadError as e:
                raise _tar_error(e) from None
            except EOFError:
                raise ArchiveError("Truncated tar archive") from None
            # tarfile keeps every member it has read; a stream of entries needs none of them
            tf.members.clear()
            if m is None:
                if getattr(stream, "eof", False) and stream.count % 512:
                    # the input ended inside a header
                    raise ArchiveError("Truncated tar archive")
                return
            perms = m.mode & 0o7777
            hardlink = None
            symlink = None
            reader = None
            size = 0
            if m.islnk():
                mode = m.mode
                hardlink = m.linkname
                size = m.size
            elif m.issym():
                mode = stat.S_IFLNK | perms
                symlink = m.linkname
            elif m.isdir():
                mode = stat.S_IFDIR | perms
            elif m.isreg():
                mode = stat.S_IFREG | perms
                size = m.size
                reader = _TarData(tf, m)
            elif m.ischr():
                mode = stat.S_IFCHR | perms
            elif m.isblk():
                mode = stat.S_IFBLK | perms
            elif m.isfifo():
                mode = stat.S_IFIFO | perms
            else:
                mode = perms
            # tarfile drops a directory's trailing slash; libarchive (and so
            # --tar-pathname-filter) sees the name as stored
            path = m.pax_headers.get("path")
            if path is None:
                path = m.name
                if m.isdir() and not path.endswith("/"):
                    path += "/"
            yield ArchiveEntry(path, mode, m.uid, m.gid, size, hardlink, symlink,
                               _pax_xattrs(m.pax_headers), reader)
            if reader is not None:
                reader.finish()
    finally:
        try:
            tf.close()
        except Exception:  # noqa: BLE001 - closing a half-read stream
            pass


class _TarData:
    """The data of one tar member, read from the stream in order."""

    def __init__(self, tf, member):
        self._f = tf.extractfile(member)
        self._left = member.size

    def read(self, n=-1):
        if self._left <= 0:
            return b""
        want = self._left if n is None or n < 0 else min(n, self._left)
        try:
            data = self._f.read(want)
        except (tarfile.ReadError, EOFError, OSError) as e:
            raise ArchiveError("Truncated tar archive") from e
        if len(data) < want:
            raise ArchiveError("Truncated tar archive")
        self._left -= len(data)
        return data

    def finish(self):
        while self._left > 0:
            if not self.read(CHUNK):
                break


# ------------------------------------------------------------------ cpio

class _CpioData:
    def __init__(self, stream, size):
        self._s = stream
        self._left = size

    def read(self, n=-1):
        if self._left <= 0:
            return b""
        want = self._left if n is None or n < 0 else min(n, self._left)
        data = _read_at_least(self._s, want)
        if len(data) < want:
            raise ArchiveError("Truncated cpio archive")
        self._left -= len(data)
        return data

    def finish(self):
        while self._left > 0:
            self.read(min(CHUNK, self._left))


class _CpioReader:
    """cpio in the newc/crc (070701/070702), odc (070707) and old binary formats."""

    def __init__(self, stream):
        self._s = stream
        self._links = {}   # (dev, ino) -> [first name, links left]

    def _need(self, n):
        data = _read_at_least(self._s, n)
        if len(data) < n:
            raise ArchiveError("Truncated cpio archive")
        return data

    def _skip(self, n):
        if n:
            self._need(n)

    def entries(self):
        while True:
            magic = _read_at_least(self._s, 6)
            if not magic:
                return
            if len(magic) < 6:
                raise ArchiveError("Truncated cpio archive")
            if magic in (b"070701", b"070702"):
                h = self._need(104)
                try:
                    f = [int(h[i:i + 8], 16) for i in range(0, 104, 8)]
                except ValueError:
                    raise ArchiveError("Damaged cpio header") from None
                ino, mode, uid, gid, nlink, _mtime, size, dmaj, dmin, _rmaj, _rmin, namesize, _check = f
                dev = os.makedev(dmaj, dmin)
                name = self._need(namesize)
                self._skip((-(110 + namesize)) % 4)
                pad = (-size) % 4
            elif magic == b"070707":
                h = self._need(70)
                try:
                    dev = int(h[0:6], 8)
                    ino = int(h[6:12], 8)
                    mode = int(h[12:18], 8)
                    uid = int(h[18:24], 8)
                    gid = int(h[24:30], 8)
                    nlink = int(h[30:36], 8)
                    namesize = int(h[53:59], 8)
                    size = int(h[59:70], 8)
                except ValueError:
                    raise ArchiveError("Damaged cpio header") from None
                name = self._need(namesize)
                pad = 0
            elif magic[:2] in (b"\xc7\x71", b"\x71\xc7"):
                order = "little" if magic[:2] == b"\xc7\x71" else "big"
                h = magic + self._need(20)

                def short(i):
                    return int.from_bytes(h[i:i + 2], order)

                def long4(i):
                    return (short(i) << 16) | short(i + 2)
                dev, ino, mode, uid, gid, nlink = short(2), short(4), short(6), short(8), short(10), short(12)
                namesize = short(20)
                size = long4(22)
                name = self._need(namesize)
                self._skip((26 + namesize) % 2)
                pad = size % 2
            else:
                raise ArchiveError("Damaged cpio archive: bad magic")
            path = name.rstrip(b"\0").decode("utf-8", "surrogateescape")
            if path == "TRAILER!!!":
                return
            hardlink = None
            symlink = None
            reader = None
            fmt = stat.S_IFMT(mode)
            if fmt == stat.S_IFLNK:
                if size > 1024 * 1024:
                    raise ArchiveError("Rejecting malformed cpio archive: symlink contents exceed 1 megabyte")
                symlink = self._need(size).decode("utf-8", "surrogateescape")
                self._skip(pad)
                data_size = 0
            else:
                data_size = size
            if nlink > 1:
                key = (dev, ino)
                le = self._links.get(key)
                if le is not None:
                    hardlink = le[0]
                    le[1] -= 1
                    if le[1] <= 0:
                        del self._links[key]
                else:
                    self._links[key] = [path, nlink - 1]
            if data_size:
                reader = _CpioData(self._s, data_size)
            yield ArchiveEntry(path, mode, uid, gid, size if fmt != stat.S_IFLNK else size, hardlink, symlink,
                               (), reader)
            if reader is not None:
                reader.finish()
                self._skip(pad)
