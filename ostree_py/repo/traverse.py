"""Reachability: which objects a commit (and its parents) needs.

A walk goes commit -> parent commits (up to a depth), and for each commit
its root dirtree and dirmeta, then every dirtree, dirmeta and file below.
It follows the reference's rules:

- a commit already in the reachable set is not walked again, which also
  ends a parent chain that loops back on itself;
- a missing parent commit ends the chain silently (repos are often shallow);
- a commit marked partial may lack dirtrees: missing ones are skipped
  with their subtree, while in a complete commit they are an error;
- dirtree names are not validated here (fsck reports them, with context).

Objects are kept as compact keys: the 32 checksum bytes plus one byte of
object type, so a set of a million objects stays small. ``object_key`` and
``key_parts`` convert.
"""

from ostree_py.core import gvariant
from ostree_py.errors import GVariantError, InvalidObjectError, ObjectNotFoundError
from ostree_py.core.objects import COMMIT_TYPE, DIRTREE_TYPE, OBJTYPE_BY_ID, OBJTYPE_IDS

_COMMIT_ID = OBJTYPE_IDS["commit"]
_DIRTREE_ID = OBJTYPE_IDS["dirtree"]
_DIRMETA_ID = OBJTYPE_IDS["dirmeta"]
_FILE_ID = OBJTYPE_IDS["file"]


def object_key(checksum: str, objtype: str) -> bytes:
    """The compact key of an object: binary checksum + type id byte."""
    return bytes.fromhex(checksum) + bytes((OBJTYPE_IDS[objtype],))


def key_parts(key: bytes) -> tuple[str, str]:
    """(hex checksum, object type name) of a key."""
    return key[:32].hex(), OBJTYPE_BY_ID[key[32]]


def _key(raw: bytes, type_id: int) -> bytes:
    return raw + bytes((type_id,))


def _csum(raw: bytes) -> bytes:
    if len(raw) != 32:
        raise InvalidObjectError(f"Invalid checksum of length {len(raw)} expected 32")
    return raw


def parse_commit_lenient(data: bytes):
    """(parent raw csum or b"", root tree raw, root meta raw, timestamp, metadata) of a commit.

    Malformed data is read the way GLib reads untrusted variants: as default
    (empty) values, so the error is the reference's checksum-length one.
    """
    try:
        md, parent, _related, _subj, _body, ts, tree, meta = gvariant.deserialize(COMMIT_TYPE, data)
    except GVariantError:
        md, parent, ts, tree, meta = {}, b"", 0, b"", b""
    return parent, tree, meta, gvariant.bswap64(ts), md


def parse_dirtree_lenient(data: bytes):
    """(files [(name, raw csum)], dirs [(name, raw tree, raw meta)]) without name checks.

    Data that is not a well-formed dirtree fails the way the reference's walk
    does on it: GLib reads broken framing as empty children, and an empty
    checksum is what the walk then trips over.
    """
    try:
        return gvariant.deserialize(DIRTREE_TYPE, data)
    except GVariantError:
        raise InvalidObjectError("Invalid checksum of length 0 expected 32") from None


def commit_parent(repo, checksum: str) -> str | None:
    """The parent checksum of a stored commit, or None."""
    parent = parse_commit_lenient(repo.load_metadata_bytes("commit", checksum))[0]
    return _csum(parent).hex() if parent else None


class Parents:
    """Who references what: object key -> the keys of dirtrees/commits that list it."""

    __slots__ = ("_map",)

    def __init__(self):
        self._map: dict = {}

    def add(self, key: bytes, parent: bytes) -> None:
        cur = self._map.get(key)
        if cur is None:
            self._map[key] = parent
        elif isinstance(cur, bytes):
            if cur != parent:
                self._map[key] = {cur, parent}
        else:
            cur.add(parent)

    def commits(self, key: bytes) -> list[str]:
        """Checksums of the commits whose trees contain ``key`` (itself if a commit).

        In the order the reference lists them: that of a GLib string hash
        table holding them.
        """
        out, seen, stack = set(), set(), [key]
        while stack:
            k = stack.pop()
            if k in seen:
                continue
            seen.add(k)
            if k[32] == _COMMIT_ID:
                out.add(k[:32].hex())
                continue
            p = self._map.get(k)
            if p is None:
                continue
            if isinstance(p, bytes):
                stack.append(p)
            else:
                stack.extend(p)
        if len(out) < 2:
            return list(out)
        from ostree_py.core.ghash import GHashTable
        return list(GHashTable((c, None) for c in sorted(out)).keys())


def traverse_dirtree(repo, tree_raw: bytes, reachable: set, parents: Parents | None = None,
                     ignore_missing: bool = False) -> None:
    """Add everything below the dirtree ``tree_raw`` (binary checksum) to ``reachable``.

    The dirtree's own key is added after its contents, as the reference does.
    """
    root_key = _key(tree_raw, _DIRTREE_ID)
    # explicit stack of (dirtree key, iterator over its dirs) to bound recursion
    stack = []
    # dirtrees being walked: one listing itself below it (only possible with
    # objects whose content does not match their name) is not entered again,
    # so the walk ends and fsck reports the corrupt object
    active = set()

    def enter(tkey: bytes) -> bool:
        try:
            data = repo.load_metadata_bytes("dirtree", tkey[:32].hex())
        except ObjectNotFoundError:
            if ignore_missing:
                return False
            raise
        files, dirs = parse_dirtree_lenient(data)
        for _name, fraw in files:
            fkey = _key(_csum(fraw), _FILE_ID)
            if parents is not None:
                parents.add(fkey, tkey)
            reachable.add(fkey)
        stack.append((tkey, iter(dirs)))
        active.add(tkey)
        return True

    if not enter(root_key):
        return
    while stack:
        tkey, it = stack[-1]
        for _name, sub_raw, meta_raw in it:
            mkey = _key(_csum(meta_raw), _DIRMETA_ID)
            skey = _key(_csum(sub_raw), _DIRTREE_ID)
            if parents is not None:
                parents.add(mkey, tkey)
                parents.add(skey, tkey)
            reachable.add(mkey)
            if skey not in reachable and skey not in active:
                if enter(skey):
                    break  # descend; resume this iterator afterwards
                # a missing dirtree in a partial commit: no subtree, but
                # the reference still counts the dirtree itself as reachable
                reachable.add(skey)
            continue
        else:
            stack.pop()
            active.discard(tkey)
            reachable.add(tkey)


def traverse_commit(repo, checksum: str, maxdepth: int, reachable: set,
                    parents: Parents | None = None, commit_only: bool = False) -> None:
    """Add ``checksum`` and up to ``maxdepth`` parents (-1: all) with their trees to ``reachable``."""
    while True:
        ckey = object_key(checksum, "commit")
        if ckey in reachable:
            break
        try:
            data = repo.load_metadata_bytes("commit", checksum)
        except ObjectNotFoundError:
            break  # a shallow history ends here
        parent, tree, meta, _ts, _md = parse_commit_lenient(data)
        partial = repo.is_commit_partial(checksum)
        reachable.add(ckey)
        if not commit_only:
            tree = _csum(tree)
            meta = _csum(meta)
            mkey = _key(meta, _DIRMETA_ID)
            tkey = _key(tree, _DIRTREE_ID)
            if repo.has_object("dirtree", tree.hex()) or not partial:
                if parents is not None:
                    parents.add(mkey, ckey)
                    parents.add(tkey, ckey)
                reachable.add(mkey)
                if tkey not in reachable:
                    traverse_dirtree(repo, tree, reachable, parents, ignore_missing=partial)
            else:
                # partial commit without its root dirtree: nothing below it
                pass
        if maxdepth == 0 or not parent:
            break
        checksum = _csum(parent).hex()
        if maxdepth > 0:
            maxdepth -= 1


def traverse_commits(repo, checksums, maxdepth: int = 0, reachable: set | None = None,
                     parents: Parents | None = None, commit_only: bool = False) -> set:
    """Union of ``traverse_commit`` over ``checksums``; returns the reachable set."""
    if reachable is None:
        reachable = set()
    for c in checksums:
        traverse_commit(repo, c, maxdepth, reachable, parents, commit_only)
    return reachable
