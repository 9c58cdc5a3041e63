"""Refs: refs/heads, refs/remotes/REMOTE, refs/mirrors/COLLECTION; aliases are symlinks.

These functions become methods of Repo (see repo/__init__.py).
"""

import contextlib
import os
import re

from ..errors import OstreeError, RefNotFoundError
from ..objects import is_checksum, validate_ref, validate_remote_name

_HEXPREFIX = re.compile(r"[0-9a-f]{1,63}\Z")


def ref_path(self, ref: str, remote: str | None = None) -> str:
    """Path of a ref file: refs/heads/REF, or refs/remotes/REMOTE/REF."""
    if remote:
        return os.path.join(self.path, "refs", "remotes", remote, ref)
    return os.path.join(self.path, "refs", "heads", ref)


def _read_ref_file(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            data = f.read(200)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    s = data.decode("ascii", "replace").strip()
    if not is_checksum(s):
        raise OstreeError(f"Corrupt ref file {path}: invalid checksum '{s}'")
    return s


def _resolve_partial(self, prefix: str) -> str | None:
    d = os.path.join(self.objects_dir, prefix[:2])
    matches = set()
    if len(prefix) >= 2:
        dirs = [d]
    else:
        try:
            dirs = [os.path.join(self.objects_dir, p) for p in os.listdir(self.objects_dir) if p.startswith(prefix)]
        except FileNotFoundError:
            dirs = []
    for dd in dirs:
        pre = os.path.basename(dd)
        try:
            names = os.listdir(dd)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for n in names:
            if n.endswith(".commit") and (pre + n[:-7]).startswith(prefix):
                matches.add(pre + n[:-7])
    if len(matches) > 1:
        raise OstreeError(f"Refspec {prefix} is ambiguous")
    return matches.pop() if matches else None


def resolve_rev(self, rev: str, allow_noent: bool = False) -> str | None:
    """Resolve a checksum, partial checksum, REF, REMOTE:REF, REMOTE/REF or REV^ to a checksum."""
    return self.resolve_rev_ext(rev, allow_noent)


def resolve_rev_ext(self, rev: str, allow_noent: bool = False, local_only: bool = False) -> str | None:
    if is_checksum(rev):
        return rev
    if _HEXPREFIX.match(rev):
        c = _resolve_partial(self, rev)
        if c:
            return c
    if rev.endswith("^"):
        base = self.resolve_rev_ext(rev[:-1], False, local_only)
        commit = self.load_commit(base)
        if not commit.parent:
            raise OstreeError(f"Commit {base} has no parent")
        return commit.parent
    remote, ref = None, rev
    if ":" in rev:
        remote, ref = rev.split(":", 1)
        if not remote:
            raise OstreeError(f"Invalid refspec {rev}")
    found = None
    if remote is not None:
        found = _read_ref_file(self.ref_path(ref, remote))
    else:
        found = _read_ref_file(self.ref_path(ref))
        if found is None and not local_only:
            found = _read_ref_file(os.path.join(self.path, "refs", "remotes", ref))
        if found is None and not local_only and self.parent is not None:
            found = self.parent.resolve_rev_ext(rev, True)
    if found is None and ".." not in ref and ref and not ref.startswith("/"):
        pass
    if found is None:
        if allow_noent:
            return None
        raise RefNotFoundError(f"Refspec '{rev}' not found")
    return found


def _walk_refs(base: str, prefix_parts: str = ""):
    """Yield (relative ref name, full path, is_alias_symlink) under ``base``."""
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for e in entries:
        name = f"{prefix_parts}{e.name}"
        if e.is_symlink():
            yield name, e.path, True
        elif e.is_dir(follow_symlinks=False):
            yield from _walk_refs(e.path, name + "/")
        elif e.is_file(follow_symlinks=False):
            yield name, e.path, False


def list_refs(self, prefix: str | None = None, remotes: bool = True, heads: bool = True,
              aliases: bool = False, mirrors: bool = False) -> dict:
    """Map ref name -> checksum; remote refs are named REMOTE:REF.

    With ``aliases`` the value for an alias symlink is the ref it points to,
    prefixed with '->' marker: ('alias', target).
    """
    out = {}
    if heads:
        base = os.path.join(self.path, "refs", "heads")
        for name, path, is_link in _walk_refs(base):
            if prefix and not (name == prefix or name.startswith(prefix.rstrip("/") + "/") or prefix == ""):
                continue
            if is_link and aliases:
                target = os.readlink(path)
                tgt = os.path.normpath(os.path.join(os.path.dirname(name), target)) if not target.startswith("/") else target
                out[name] = ("alias", tgt)
                continue
            c = _read_ref_file(path)
            if c:
                out[name] = c
    if remotes:
        base = os.path.join(self.path, "refs", "remotes")
        try:
            rnames = sorted(os.listdir(base))
        except FileNotFoundError:
            rnames = []
        for r in rnames:
            for name, path, _ in _walk_refs(os.path.join(base, r)):
                full = f"{r}:{name}"
                if prefix and not (prefix == r or full.startswith(prefix) or f"{r}/{name}".startswith(prefix)):
                    continue
                c = _read_ref_file(path)
                if c:
                    out[full] = c
    return out


def list_remote_names(self) -> list[str]:
    """Names of remotes that have a refs/remotes directory."""
    try:
        return sorted(os.listdir(os.path.join(self.path, "refs", "remotes")))
    except FileNotFoundError:
        return []


def write_ref_file(self, path: str, checksum: str) -> None:
    """Write one ref file atomically."""
    from . import write_atomic
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # a symlink alias is replaced by writing through to its target
    write_atomic(os.path.realpath(path) if os.path.islink(path) else path,
                 (checksum + "\n").encode("ascii"), fsync=self.fsync)


def delete_ref(self, ref: str, remote: str | None = None) -> None:
    """Remove a ref (or alias), pruning now-empty parent directories."""
    p = self.ref_path(ref, remote)
    try:
        os.unlink(p)
    except FileNotFoundError:
        return
    top = os.path.join(self.path, "refs", "remotes", remote) if remote else os.path.join(self.path, "refs", "heads")
    d = os.path.dirname(p)
    while d != top and d.startswith(top):
        try:
            os.rmdir(d)
        except OSError:
            break
        d = os.path.dirname(d)


def set_ref(self, ref: str, checksum: str | None, remote: str | None = None) -> None:
    """Point ``ref`` (under ``remote`` if given) at ``checksum``; None deletes it."""
    validate_ref(ref)
    if remote:
        validate_remote_name(remote)
    if checksum is None:
        self.delete_ref(ref, remote)
        return
    if not is_checksum(checksum):
        raise OstreeError(f"Invalid checksum '{checksum}'")
    p = self.ref_path(ref, remote)
    base = os.path.join(self.path, "refs", "remotes", remote) if remote else os.path.join(self.path, "refs", "heads")
    # a ref "a/b" cannot coexist with a ref "a"
    rel = os.path.relpath(p, base)
    parts = rel.split(os.sep)
    cur = base
    for part in parts[:-1]:
        cur = os.path.join(cur, part)
        if os.path.isfile(cur) and not os.path.islink(cur):
            raise OstreeError(f"Conflict: {part} exists as a ref, cannot create {ref}")
    if os.path.isdir(p) and not os.path.islink(p):
        raise OstreeError(f"Conflict: {ref} exists as a ref directory")
    self.write_ref_file(p, checksum)


def list_collection_refs(self, match_collection_id: str | None = None) -> dict:
    """Map (collection_id, ref) -> checksum for heads (with the repo's own collection id) and mirrors."""
    out = {}
    own = self.collection_id
    if own and (match_collection_id in (None, own)):
        for name, path, _ in _walk_refs(os.path.join(self.path, "refs", "heads")):
            c = _read_ref_file(path)
            if c:
                out[(own, name)] = c
    base = os.path.join(self.path, "refs", "mirrors")
    try:
        cids = sorted(os.listdir(base))
    except FileNotFoundError:
        cids = []
    for cid in cids:
        if match_collection_id not in (None, cid):
            continue
        for name, path, _ in _walk_refs(os.path.join(base, cid)):
            c = _read_ref_file(path)
            if c:
                out[(cid, name)] = c
    return out


def set_collection_ref(self, collection_id: str, ref: str, checksum: str | None) -> None:
    """Set a ref for a collection: heads if it is this repo's collection, else refs/mirrors."""
    validate_ref(ref)
    if collection_id == self.collection_id:
        self.set_ref(ref, checksum)
        return
    p = os.path.join(self.path, "refs", "mirrors", collection_id, ref)
    if checksum is None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)
        return
    self.write_ref_file(p, checksum)
