"""ostree's object model: object types, checksums, names, and the metadata objects.

Commit, DirTree and DirMeta are plain values with ``to_bytes()`` (the serialised
GVariant, whose sha256 is the object's checksum) and ``from_bytes()`` (strict
parsing that rejects malformed framing, bad checksums and unsafe names).
"""

import re
import stat

from ostree_py.core import gvariant
from ostree_py.errors import InvalidObjectError, OstreeError

COMMIT_TYPE = "(a{sv}aya(say)sstayay)"
DIRTREE_TYPE = "(a(say)a(sayay))"
DIRMETA_TYPE = "(uuua(ayay))"
COMMITMETA_TYPE = "a{sv}"
TOMBSTONE_TYPE = "a{sv}"
SUMMARY_TYPE = "(a(s(taya{sv}))a{sv})"
FILE_HEADER_TYPE = "(uuuusa(ayay))"
ARCHIVE_HEADER_TYPE = "(tuuuusa(ayay))"
XATTRS_TYPE = "a(ayay)"

# object type name -> (file extension, is metadata)
OBJTYPES = {
    "file": "file",
    "dirtree": "dirtree",
    "dirmeta": "dirmeta",
    "commit": "commit",
    "tombstone-commit": "tombstone-commit",
    "commitmeta": "commitmeta",
    "payload-link": "payload-link",
    "file-xattrs": "file-xattrs",
    "file-xattrs-link": "file-xattrs-link",
}
METADATA_TYPES = ("dirtree", "dirmeta", "commit", "tombstone-commit", "commitmeta")
# numeric ids used in related-objects and the fsck/prune API
OBJTYPE_IDS = {"file": 1, "dirtree": 2, "dirmeta": 3, "commit": 4, "tombstone-commit": 5,
               "commitmeta": 6, "payload-link": 7, "file-xattrs": 8, "file-xattrs-link": 9}
OBJTYPE_BY_ID = {v: k for k, v in OBJTYPE_IDS.items()}
EXTENSION_TO_TYPE = {v: k for k, v in OBJTYPES.items()}

# reference ostree 2022.7's cap on a metadata object
MAX_METADATA_SIZE = 10 * 1024 * 1024
MAX_METADATA_WARN_SIZE = 7 * 1024 * 1024

_FRAG = r"[\w\d][-._\w\d]*"
_REF = rf"(?:{_FRAG}/)*{_FRAG}"
# ostree's refspec and ref regexes. GRegex (PCRE) semantics: \w is Unicode-aware, $ also matches before a final newline
_REFSPEC_RE = re.compile(rf"^(?:({_FRAG}):)?({_REF})$")
_REF_RE = re.compile(rf"^{_REF}$")
_FRAG_RE = re.compile(rf"^{_FRAG}$")
_HEX = set("0123456789abcdef")
_CHECKSUM_RE = re.compile(r"[0-9a-f]{64}\Z")
_DBUS_ELEMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _quash(s: str, maxlen: int) -> str:
    return s[:maxlen].replace("\n", " ")


def validate_checksum_string(s: str) -> str:
    """Return ``s`` if it is a 64-char lowercase hex checksum, else raise as ostree does."""
    if len(s) != 64:
        raise OstreeError(f"Invalid rev {_quash(s, 64)}")
    for ch in s:
        if ch not in _HEX:
            raise OstreeError(f"Invalid character '{ord(ch.encode('utf-8', 'surrogateescape')[:1])}' in rev '{s}'")
    return s


def is_checksum(s: str) -> bool:
    """Whether ``s`` is a full 64-character lowercase hex sha256."""
    return isinstance(s, str) and _CHECKSUM_RE.match(s) is not None


def parse_refspec(refspec: str) -> tuple[str | None, str]:
    """Split REMOTE:REF; raise "Invalid refspec ..." like ostree_parse_refspec."""
    m = _REFSPEC_RE.match(refspec)
    if m is None:
        raise OstreeError(f"Invalid refspec {refspec}")
    return m.group(1), m.group(2)


def is_valid_ref(ref: str) -> bool:
    """Whether ``ref`` is a syntactically valid ref name (ostree_validate_rev)."""
    return _REF_RE.match(ref) is not None


def validate_ref(ref: str) -> str:
    """Return ``ref`` or raise with the reference's message."""
    if not _REF_RE.match(ref):
        raise OstreeError(f"Invalid ref name {ref}")
    return ref


def validate_remote_name(name: str) -> str:
    """Return ``name`` or raise if it is not a valid remote name."""
    if not _FRAG_RE.match(name):
        raise OstreeError(f"Invalid remote name {name}")
    return name


def is_valid_ref_fragment(name: str) -> bool:
    """Whether ``name`` is one component of a ref (or a remote name)."""
    return _FRAG_RE.match(name) is not None


def is_valid_collection_id(cid) -> bool:
    """A D-Bus interface name: 2+ dot-separated elements of [A-Za-z_][A-Za-z0-9_]*, <= 255 bytes."""
    if not cid or len(cid.encode("utf-8", "surrogateescape")) > 255:
        return False
    parts = cid.split(".")
    return len(parts) >= 2 and all(_DBUS_ELEMENT.match(p) for p in parts)


def validate_collection_id(cid) -> str:
    """Return ``cid`` or raise if it is not a collection ID (see is_valid_collection_id)."""
    if not is_valid_collection_id(cid):
        raise OstreeError(f"Invalid collection ID {cid}")
    return cid


def validate_checksum(s: str) -> str:
    """Return ``s`` if it is a valid checksum string, else raise."""
    if not is_checksum(s):
        raise OstreeError(f"Invalid checksum '{s}'")
    return s


def csum_from_bytes(b: bytes) -> str:
    """Hex form of a 32-byte binary checksum; raise if it is not 32 bytes."""
    if len(b) != 32:
        raise InvalidObjectError(f"Invalid checksum of length {len(b)} expected 32")
    return b.hex()


def csum_to_bytes(s: str) -> bytes:
    """Binary form of a 64-character hex checksum."""
    return bytes.fromhex(s)


def new_sha256(data: bytes = b""):
    """``hashlib.sha256(data)``. hashlib is imported here, on first use: loading it
    (OpenSSL) costs every command a few milliseconds of start-up, and most never hash."""
    import hashlib
    return hashlib.sha256(data)


def sha256_hex(data: bytes) -> str:
    """sha256 of ``data`` as lowercase hex."""
    return new_sha256(data).hexdigest()


_DOT_NAMES = frozenset((".", ".."))


def validate_filename(name: str) -> str:
    """Refuse names that could escape a directory: empty, ., .., or containing / or NUL."""
    if not name:
        raise InvalidObjectError("Invalid empty filename")
    if name in (".", ".."):
        raise InvalidObjectError(f"Invalid special element '.' or '..' in filename {name}")
    if "/" in name:
        raise InvalidObjectError(f"Invalid / in filename {name}")
    if "\0" in name:
        raise InvalidObjectError("Invalid NUL in filename")
    return name


def xattrs_to_wire(xattrs):
    """(name, value) pairs as objects store them: names NUL-terminated."""
    return [(name + b"\0", value) for name, value in xattrs]


def xattrs_from_wire(wire):
    """The stored (name, value) pairs with the names' NUL terminators removed."""
    out = []
    for name, value in wire:
        if not name.endswith(b"\0"):
            # tolerate names written without the NUL terminator
            out.append((name, value))
        else:
            out.append((name[:-1], value))
    return out


class Commit:
    """A commit object. Checksums are hex strings; timestamp is seconds since the epoch."""

    __slots__ = ("metadata", "parent", "related", "subject", "body", "timestamp", "root_tree", "root_meta")

    def __init__(self, metadata=None, parent=None, related=(), subject="", body="",
                 timestamp=0, root_tree="", root_meta=""):
        self.metadata = metadata if metadata is not None else {}
        self.parent = parent
        self.related = list(related)
        self.subject = subject
        self.body = body
        self.timestamp = timestamp
        self.root_tree = root_tree
        self.root_meta = root_meta

    def to_bytes(self) -> bytes:
        return gvariant.serialize(COMMIT_TYPE, (
            self.metadata,
            bytes.fromhex(self.parent) if self.parent else b"",
            [(name, bytes.fromhex(c)) for name, c in self.related],
            self.subject, self.body,
            gvariant.bswap64(self.timestamp),
            bytes.fromhex(self.root_tree), bytes.fromhex(self.root_meta)))

    @classmethod
    def from_bytes(cls, data: bytes) -> "Commit":
        md, parent, related, subject, body, ts, tree, meta = gvariant.deserialize(COMMIT_TYPE, data)
        if parent and len(parent) != 32:
            raise InvalidObjectError(f"Invalid checksum of length {len(parent)} expected 32")
        return cls(md, parent.hex() if parent else None,
                   [(n, csum_from_bytes(c)) for n, c in related], subject, body,
                   gvariant.bswap64(ts), csum_from_bytes(tree), csum_from_bytes(meta))

    def content_checksum(self) -> str:
        """sha256 over the root dirtree and dirmeta checksums: identifies the tree."""
        return sha256_hex(bytes.fromhex(self.root_tree) + bytes.fromhex(self.root_meta))

    def checksum(self) -> str:
        return sha256_hex(self.to_bytes())


class DirTree:
    """A directory listing: files [(name, content csum)] and dirs [(name, tree csum, meta csum)], sorted by name."""

    __slots__ = ("files", "dirs")

    def __init__(self, files=(), dirs=()):
        self.files = list(files)
        self.dirs = list(dirs)

    def to_bytes(self) -> bytes:
        files = sorted(self.files, key=lambda e: e[0].encode("utf-8"))
        dirs = sorted(self.dirs, key=lambda e: e[0].encode("utf-8"))
        return gvariant.serialize(DIRTREE_TYPE, (
            [(n, bytes.fromhex(c)) for n, c in files],
            [(n, bytes.fromhex(t), bytes.fromhex(m)) for n, t, m in dirs]))

    @classmethod
    def from_bytes(cls, data: bytes) -> "DirTree":
        if not data:
            # GLib would read zero bytes as an empty directory, but every
            # dirtree (even an empty one) serialises to at least one byte:
            # this is a truncated object, not an empty listing
            raise gvariant.GVariantError(f"Empty data for type '{DIRTREE_TYPE}'")
        files, dirs = gvariant.deserialize(DIRTREE_TYPE, data)
        # every directory a checkout walks passes here: the checks of validate_filename
        # and csum_from_bytes inline, which are called (in that order) only to raise
        dots = _DOT_NAMES
        out_f = []
        for n, c in files:
            if not n or n in dots or "/" in n or "\0" in n or len(c) != 32:
                validate_filename(n)
                csum_from_bytes(c)
            out_f.append((n, c.hex()))
        out_d = []
        for n, t, m in dirs:
            if not n or n in dots or "/" in n or "\0" in n or len(t) != 32 or len(m) != 32:
                validate_filename(n)
                csum_from_bytes(t)
                csum_from_bytes(m)
            out_d.append((n, t.hex(), m.hex()))
        tree = cls.__new__(cls)   # the lists are new: no copies
        tree.files, tree.dirs = out_f, out_d
        return tree

    def checksum(self) -> str:
        return sha256_hex(self.to_bytes())


class DirMeta:
    """Directory metadata: uid, gid, full st_mode, xattrs [(name, value)] with names lacking the NUL."""

    __slots__ = ("uid", "gid", "mode", "xattrs")

    def __init__(self, uid=0, gid=0, mode=0o40755, xattrs=()):
        self.uid, self.gid, self.mode, self.xattrs = uid, gid, mode, list(xattrs)

    def to_bytes(self) -> bytes:
        return gvariant.serialize(DIRMETA_TYPE, (
            gvariant.bswap32(self.uid), gvariant.bswap32(self.gid), gvariant.bswap32(self.mode),
            xattrs_to_wire(self.xattrs)))

    @classmethod
    def from_bytes(cls, data: bytes) -> "DirMeta":
        uid, gid, mode, xattrs = gvariant.deserialize(DIRMETA_TYPE, data)
        mode = gvariant.bswap32(mode)
        if not stat.S_ISDIR(mode):
            raise InvalidObjectError(f"Invalid directory metadata mode {mode:o}; not a directory")
        return cls(gvariant.bswap32(uid), gvariant.bswap32(gid), mode, xattrs_from_wire(xattrs))

    def checksum(self) -> str:
        return sha256_hex(self.to_bytes())


def xattrs_to_bytes(xattrs) -> bytes:
    """Serialise an xattr list as ``a(ayay)``."""
    return gvariant.serialize(XATTRS_TYPE, xattrs_to_wire(xattrs))


def xattrs_from_bytes(data: bytes):
    """Parse an ``a(ayay)`` xattr list."""
    return xattrs_from_wire(gvariant.deserialize(XATTRS_TYPE, data))


def object_relpath(checksum: str, objtype: str) -> str:
    """Path of a loose object under the repo's objects/ directory."""
    return f"{checksum[:2]}/{checksum[2:]}.{OBJTYPES[objtype]}"
