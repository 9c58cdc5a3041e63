"""What ``ostree show`` prints: objects by checksum or rev, metadata keys, related commits, sizes."""

import os
import stat

from ostree_py.core import gvariant
from ostree_py.ops.dump import dump_variant, object_text, print_unswapped
from ostree_py.util.text import format_size
from ostree_py.errors import ObjectNotFoundError, OstreeError
from ostree_py.core.objects import COMMIT_TYPE, Commit, is_checksum


def _load_commit(repo, checksum: str):
    data = repo.load_metadata_bytes("commit", checksum)
    try:
        return data, Commit.from_bytes(data)
    except OstreeError as e:
        raise OstreeError(f"Corrupted commit object {checksum}: {e.message}") from None


def _metadata(repo, checksum: str, detached: bool) -> dict:
    """The commit's metadata, or its detached metadata (an error when it has none)."""
    if detached:
        md = repo.load_commitmeta(checksum)
        if md is None:
            raise ObjectNotFoundError(f"No detached metadata for commit {checksum}")
        return md
    return _load_commit(repo, checksum)[1].metadata


def metadata_key_text(repo, checksum: str, key: str, detached: bool, no_byteswap: bool = False,
                      print_hex: bool = False) -> str:
    """The value of one commit (or detached) metadata key, in GVariant text form
    (``print_hex``: a byte array as bare lowercase hex, as ostree 2023.x's --print-hex)."""
    v = _metadata(repo, checksum, detached).get(key)
    if v is None:
        raise ObjectNotFoundError(f"No such metadata key '{key}'")
    if print_hex and v.type == "ay":
        return bytes(v.value).hex() + "\n"
    if no_byteswap:
        return print_unswapped(v.type, v.value)
    return dump_variant(v.type, v.value)


def metadata_keys_text(repo, checksum: str, detached: bool) -> str:
    """One metadata key per line, sorted (ostree 2023.x's --list-metadata-keys /
    --list-detached-metadata-keys; no detached metadata is an error)."""
    md = _metadata(repo, checksum, detached)
    return "".join(f"{k}\n" for k in sorted(md, key=lambda k: k.encode("utf-8", "surrogateescape")))


def related_text(repo, checksum: str) -> str:
    commit = _load_commit(repo, checksum)[1]
    return "".join(f"{name} {csum}\n" for name, csum in commit.related)


def variant_file_text(path: str, typ: str) -> str:
    """--print-variant-type: a file's bytes read as a variant of type ``typ``, byte-swapped."""
    if not gvariant.is_valid_type(typ):
        raise OstreeError(f"Invalid GVariant type string '{typ}'")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise OstreeError(f"openat({path}): {os.strerror(e.errno)}") from None
    return dump_variant(typ, gvariant.deserialize(typ, data))


def sizes_text(repo, checksum: str) -> str:
    """--print-sizes: totals of the commit's ``ostree.sizes`` entries, and what is not here yet."""
    try:
        commit = _load_commit(repo, checksum)[1]
    except OstreeError as e:
        raise OstreeError(f"Failed to read commit: {e.message}") from None
    entries = parse_sizes(commit.metadata)
    archived = unpacked = objects = 0
    new_archived = new_unpacked = new_objects = 0
    for csum, objtype, arch, unp in entries:
        archived += arch
        unpacked += unp
        objects += 1
        if not repo.has_object(objtype, csum):
            new_archived += arch
            new_unpacked += unp
            new_objects += 1
    return (f"Compressed size (needed/total): {format_size(new_archived)}/{format_size(archived)}\n"
            f"Unpacked size (needed/total): {format_size(new_unpacked)}/{format_size(unpacked)}\n"
            f"Number of objects (needed/total): {new_objects}/{objects}\n")


def _read_varuint64(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise OstreeError("Unexpected EOF reading ostree.sizes varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def parse_sizes(metadata: dict):
    """ostree_commit_get_object_sizes: [(checksum, objtype, archived, unpacked)]."""
    from ostree_py.core.objects import OBJTYPE_BY_ID
    v = metadata.get("ostree.sizes")
    if v is None or v.type != "aay":
        raise OstreeError("No metadata key ostree.sizes in commit")
    out = []
    for entry in v.value:
        if len(entry) < 34:
            raise OstreeError("Could not read ostree.sizes metadata entry")
        csum = entry[:32].hex()
        archived, pos = _read_varuint64(entry, 32)
        unpacked, pos = _read_varuint64(entry, pos)
        # newer entries carry the object type after the sizes; older ones are file objects
        objtype = "file"
        if pos < len(entry):
            objtype = OBJTYPE_BY_ID.get(entry[pos], None)
            if objtype is None:
                raise OstreeError(f"Unexpected ostree.sizes object type {entry[pos]}")
        out.append((csum, objtype, archived, unpacked))
    return out


def object_or_rev(repo, rev: str, raw: bool = False, unswapped: bool = False) -> tuple[str, str, str]:
    """(text, object type, checksum) of a rev's commit; or for a full checksum, of the commit,
    dirmeta, dirtree or file object with it."""
    if not is_checksum(rev):
        checksum = repo.resolve_rev(rev)
        data = repo.load_metadata_bytes("commit", checksum)
        return object_text("commit", checksum, data, raw, unswapped), "commit", checksum
    for objtype in ("commit", "dirmeta", "dirtree"):
        if repo.has_object(objtype, rev):
            return object_text(objtype, rev, repo.load_metadata_bytes(objtype, rev), raw, unswapped), objtype, rev
    return file_object_text(repo, rev), "file", rev


def object_or_rev_text(repo, rev: str, raw: bool = False, unswapped: bool = False) -> str:
    return object_or_rev(repo, rev, raw, unswapped)[0]


def file_object_text(repo, checksum: str) -> str:
    from ostree_py.core.gvariant_text import print_variant
    from ostree_py.core.objects import XATTRS_TYPE
    finfo, stream = repo.load_file(checksum)
    if stream is not None:
        stream.close()
    out = [f"Object: {checksum}\nType: file\nFile Type: "]
    if stat.S_ISREG(finfo.mode):
        out.append(f"regular\nSize: {finfo.size}\n")
    elif stat.S_ISLNK(finfo.mode):
        out.append(f"symlink\nTarget: {finfo.symlink_target}\n")
    out.append(f"Mode: 0{finfo.mode:04o}\nUid: {finfo.uid}\nGid: {finfo.gid}\n")
    xattrs = [(n + b"\0", v) for n, v in finfo.xattrs]
    out.append(f"Extended Attributes: {{ {print_variant(XATTRS_TYPE, xattrs, True)} }}\n")
    return "".join(out)
