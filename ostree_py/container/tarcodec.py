"""The tar codec of ostree-ext streams: GNU headers, long names, PAX records.

Written as ostree-ext's tar writer writes them: a 512-byte GNU header per
entry (``ustar  `` magic, zero-padded octal fields, base-256 for numbers
too large for them, checksum as seven octal digits and a NUL, mtime 0, no
user or group names); a path or link target over 100 bytes goes first in
a ``././@LongLink`` record (``L`` for the path, then ``K`` for the target)
and is cut to 100 bytes in the header; extended attributes go in a PAX
``x`` record (``SCHILY.xattr.NAME``) before the entry; the archive ends
with two zero blocks.

The reader streams: it yields one ``TarEntry`` at a time, whose ``read``
gives that entry's data, and skips what the caller leaves unread. It is
bounded: a PAX or long-name record is refused over ``MAX_EXTENSION``
bytes, a header whose checksum is wrong is refused, and a stream that ends
inside an entry or before the end-of-archive block is refused as
truncated.
"""

from __future__ import annotations

from ostree_py.errors import ContainerError
from ostree_py.ops.export import tar_number

BLOCK = 512
# a PAX or GNU long-name record above this is refused (hostile or broken)
MAX_EXTENSION = 1 << 20
_ZERO_BLOCK = bytes(BLOCK)

REGULAR = b"0"
HARDLINK = b"1"
SYMLINK = b"2"
DIRECTORY = b"5"
PAX = b"x"
PAX_GLOBAL = b"g"
GNU_LONGNAME = b"L"
GNU_LONGLINK = b"K"

XATTR_PREFIX = "SCHILY.xattr."


def pad(n: int) -> bytes:
    """The zero bytes that fill ``n`` bytes of data up to a whole block."""
    return bytes(-n % BLOCK)


def encode_header(name: bytes, typeflag: bytes, mode: int = 0, uid: int = 0, gid: int = 0,
                  size: int = 0, linkname: bytes = b"", magic: bytes = b"ustar  \0") -> bytes:
    """One header block; ``name`` and ``linkname`` are cut to their 100-byte fields
    (the caller writes long-name records first)."""
    h = bytearray(BLOCK)
    h[0:100] = name[:100].ljust(100, b"\0")
    h[100:108] = tar_number(mode, 8)
    h[108:116] = tar_number(uid, 8)
    h[116:124] = tar_number(gid, 8)
    h[124:136] = tar_number(size, 12)
    h[136:148] = tar_number(0, 12)
    h[156:157] = typeflag
    h[157:257] = linkname[:100].ljust(100, b"\0")
    h[257:265] = magic
    h[148:156] = b"        "
    h[148:156] = b"%07o\0" % sum(h)
    return bytes(h)


def encode_pax_records(records) -> bytes:
    """``LEN KEY=VALUE\\n`` records; LEN counts the whole record, its own digits too."""
    out = bytearray()
    for key, value in records:
        rest = 3 + len(key.encode("utf-8")) + len(value)  # space, '=', newline
        digits = 1
        while len(str(rest + digits)) != digits:
            digits += 1
        out += b"%d %s=" % (rest + digits, key.encode("utf-8")) + value + b"\n"
    return bytes(out)


def decode_pax_records(data: bytes) -> dict:
    """The records of a PAX header as {key: value bytes}; raise ContainerError when
    a record's length does not frame it."""
    out = {}
    pos = 0
    while pos < len(data):
        if data[pos] == 0:
            break  # NUL padding after the last record
        sp = data.find(b" ", pos, pos + 21)
        if sp < 0 or not data[pos:sp].isdigit():
            raise ContainerError("Invalid PAX record: bad length")
        n = int(data[pos:sp])
        end = pos + n
        if n <= sp - pos + 1 or end > len(data) or data[end - 1] != 0x0A:
            raise ContainerError("Invalid PAX record: length does not match")
        kv = data[sp + 1:end - 1]
        eq = kv.find(b"=")
        if eq <= 0:
            raise ContainerError("Invalid PAX record: no key")
        try:
            key = kv[:eq].decode("utf-8")
        except UnicodeDecodeError:
            raise ContainerError("Invalid PAX record: key is not UTF-8") from None
        out[key] = kv[eq + 1:]
        pos = end
    return out


def _longlink(kind: bytes, value: bytes) -> bytes:
    data = value + b"\0"
    return encode_header(b"././@LongLink", kind, 0o644, 0, 0, len(data)) + data + pad(len(data))


class TarWriter:
    """Entries of an ostree-ext tar stream written to the binary stream ``out``."""

    def __init__(self, out):
        self.out = out
        self.written = 0

    def _write(self, b: bytes) -> None:
        self.out.write(b)
        self.written += len(b)

    def pax(self, records) -> None:
        """A PAX ``x`` record (``[(key, value bytes)]``) for the next entry; nothing when empty."""
        data = encode_pax_records(records)
        if data:
            self._write(encode_header(b"", PAX, size=len(data), magic=b"ustar\x0000") + data
                        + pad(len(data)))

    def add(self, path: bytes, typeflag: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0,
            size: int = 0, linkname: bytes = b"", data: bytes | None = None, stream=None) -> None:
        """One entry: a regular file's ``size`` bytes come from ``data`` or ``stream``."""
        if len(path) > 100:
            self._write(_longlink(GNU_LONGNAME, path))
        if len(linkname) > 100:
            self._write(_longlink(GNU_LONGLINK, linkname))
        self._write(encode_header(path, typeflag, mode & 0o7777, uid, gid, size, linkname))
        if data is not None:
            if len(data) != size:
                raise ContainerError(f"Size mismatch writing {path.decode('utf-8', 'replace')}")
            self._write(data)
        elif size:
            remaining = size
            while remaining:
                chunk = stream.read(min(remaining, 1 << 20))
                if not chunk:
                    raise ContainerError(f"Short read of {path.decode('utf-8', 'replace')}")
                self._write(chunk)
                remaining -= len(chunk)
        self._write(pad(size))

    def finish(self) -> None:
        """The end-of-archive marker: two zero blocks."""
        self._write(_ZERO_BLOCK * 2)


def _parse_number(field: bytes, what: str) -> int:
    if field and field[0] & 0x80:
        if field[0] & 0x40:
            raise ContainerError(f"Invalid tar header: negative {what}")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    s = field.split(b"\0", 1)[0].strip(b" ")
    if not s:
        return 0
    try:
        return int(s, 8)
    except ValueError:
        raise ContainerError(f"Invalid tar header: bad {what} field") from None


def _header_checksum_ok(block: bytes) -> bool:
    stored = _parse_number(block[148:156], "checksum")
    blanked = block[:148] + b"        " + block[156:]
    unsigned = sum(blanked)
    if stored == unsigned:
        return True
    # some old writers summed the bytes as signed chars
    return stored == unsigned - 256 * sum(1 for b in blanked if b > 127)


class TarEntry:
    """One entry of a tar stream; ``read`` gives its data while it is the current one."""

    __slots__ = ("path", "typeflag", "mode", "uid", "gid", "size", "linkname", "pax",
                 "_reader", "_left")

    def __init__(self, reader, path, typeflag, mode, uid, gid, size, linkname, pax):
        self._reader = reader
        self.path = path
        self.typeflag = typeflag
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.linkname = linkname
        self.pax = pax
        self._left = size

    @property
    def xattrs(self) -> list[tuple[bytes, bytes]]:
        """The ``SCHILY.xattr.*`` records of the entry's PAX header."""
        return [(k[len(XATTR_PREFIX):].encode("utf-8"), v) for k, v in self.pax.items()
                if k.startswith(XATTR_PREFIX)]

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all that is left with -1) of the entry's data."""
        if self._left <= 0:
            return b""
        if n < 0 or n > self._left:
            n = self._left
        data = self._reader.read_exact(n, self.path)
        self._left -= len(data)
        return data

    def read_all(self, limit: int) -> bytes:
        """The whole data, refused when over ``limit`` bytes."""
        if self.size > limit:
            raise ContainerError(f"Tar entry {self.path.decode('utf-8', 'replace')} of size "
                                 f"{self.size} exceeds {limit} bytes")
        return self.read()


class TarReader:
    """Iterates the entries of the tar stream ``src`` (an object with ``read``)."""

    def __init__(self, src):
        self._src = src
        self._current: TarEntry | None = None
        self.ended = False

    def read_exact(self, n: int, path: bytes = b"") -> bytes:
        """``n`` bytes of the stream; a shorter stream is a truncated archive."""
        parts = []
        left = n
        while left:
            chunk = self._src.read(min(left, 1 << 20))
            if not chunk:
                where = f" in {path.decode('utf-8', 'replace')}" if path else ""
                raise ContainerError(f"Truncated tar stream{where}")
            parts.append(chunk)
            left -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _skip_current(self) -> None:
        e = self._current
        if e is None:
            return
        while e._left:
            e.read(1 << 20)
        self.read_exact(-e.size % BLOCK, e.path)
        self._current = None

    def _extension(self, size: int, what: str) -> bytes:
        if size > MAX_EXTENSION:
            raise ContainerError(f"Invalid tar stream: {what} record of {size} bytes exceeds "
                                 f"{MAX_EXTENSION}")
        data = self.read_exact(size)
        self.read_exact(-size % BLOCK)
        return data

    def __iter__(self):
        longname = longlink = None
        pax: dict = {}
        while True:
            self._skip_current()
            block = self._src.read(BLOCK)
            if len(block) < BLOCK:
                block += self.read_exact(BLOCK - len(block)) if block else b""
            if not block:
                raise ContainerError("Truncated tar stream: no end-of-archive marker")
            if block == _ZERO_BLOCK:
                if longname is not None or longlink is not None or pax:
                    raise ContainerError("Invalid tar stream: extension record with no entry")
                self.ended = True
                return
            if not _header_checksum_ok(block):
                raise ContainerError("Invalid tar header: checksum mismatch")
            typeflag = block[156:157]
            size = _parse_number(block[124:136], "size")
            if typeflag == GNU_LONGNAME:
                longname = self._extension(size, "long name").rstrip(b"\0")
                continue
            if typeflag == GNU_LONGLINK:
                longlink = self._extension(size, "long link").rstrip(b"\0")
                continue
            if typeflag == PAX:
                pax.update(decode_pax_records(self._extension(size, "PAX")))
                continue
            if typeflag == PAX_GLOBAL:
                self._extension(size, "PAX global")
                continue
            name = block[0:100].split(b"\0", 1)[0]
            if block[257:263] == b"ustar\0":
                prefix = block[345:500].split(b"\0", 1)[0]
                if prefix:
                    name = prefix + b"/" + name
            linkname = block[157:257].split(b"\0", 1)[0]
            if longname is not None:
                name = longname
            if longlink is not None:
                linkname = longlink
            if "path" in pax:
                name = pax["path"]
            if "linkpath" in pax:
                linkname = pax["linkpath"]
            if "size" in pax:
                try:
                    size = int(pax["size"])
                except ValueError:
                    raise ContainerError("Invalid PAX size record") from None
            entry = TarEntry(self, name, REGULAR if typeflag == b"\0" else typeflag,
                             _parse_number(block[100:108], "mode"),
                             _parse_number(block[108:116], "uid"),
                             _parse_number(block[116:124], "gid"),
                             size, linkname, pax)
            longname = longlink = None
            pax = {}
            self._current = entry
            yield entry
