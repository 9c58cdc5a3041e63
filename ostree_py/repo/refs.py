"""Refs: refs/heads, refs/remotes/REMOTE, refs/mirrors/COLLECTION; aliases are symlinks.

These functions become methods of Repo (see repo/__init__.py).
"""

import contextlib
import os
import stat
import re

from ostree_py.errors import OstreeError, RefNotFoundError
from ostree_py.util.faults import checkpoint
from ostree_py.core.objects import is_checksum, validate_ref, validate_remote_name

# ostree_parse_refspec's GRegex: \w is Unicode-aware, $ also matches before a final newline
_FRAG = r"[\w\d][-._\w\d]*"
_REFSPEC_RE = re.compile(rf"^(?:({_FRAG}):)?((?:{_FRAG}/)*{_FRAG})$")


def ref_path(self, ref: str, remote: str | None = None) -> str:
    """Path of a ref file: refs/heads/REF, or refs/remotes/REMOTE/REF."""
    if remote:
        return os.path.join(self.path, "refs", "remotes", remote, ref)
    return os.path.join(self.path, "refs", "heads", ref)


def _read_ref_file(path: str) -> str | None:
    try:
        # O_NONBLOCK: a FIFO planted in refs/ must not block the open forever
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as f:
            data = f.read(200)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    s = data.decode("ascii", "replace").strip()
    if not is_checksum(s):
        raise OstreeError(f"Corrupt ref file {path}: invalid checksum '{s}'")
    return s


def list_commit_objects_starting_with(self, prefix: str) -> list[str]:
    """Checksums of loose commit objects (here and in the parent repo) starting with ``prefix``."""
    out = set()
    for repo in (self, self.parent):
        if repo is None:
            continue
        if len(prefix) >= 2:
            dirs = [prefix[:2]]
        else:
            try:
                dirs = [d for d in os.listdir(repo.objects_dir) if len(d) == 2 and d.startswith(prefix)]
            except FileNotFoundError:
                dirs = []
        for pre in dirs:
            try:
                names = os.listdir(os.path.join(repo.objects_dir, pre))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for n in names:
                if len(n) == 69 and n.endswith(".commit"):
                    c = pre + n[:62]
                    if c.startswith(prefix):
                        out.add(c)
    return sorted(out)


def _resolve_partial(self, prefix: str) -> str | None:
    """A unique commit whose checksum starts with the hex string ``prefix``, or None."""
    matches = list_commit_objects_starting_with(self, prefix)
    if len(matches) > 1:
        raise OstreeError(f"Refspec {prefix} not unique")
    return matches[0] if matches else None


def resolve_rev(self, rev: str, allow_noent: bool = False) -> str | None:
    """Resolve a checksum, partial checksum, REF, REMOTE:REF, REMOTE/REF or REV^ to a checksum."""
    return self.resolve_rev_ext(rev, allow_noent)


def _open_ref(path: str, what: str):
    """openat() of a ref file; None when absent (ENOENT), errors as the reference words them."""
    try:
        # O_NONBLOCK: a FIFO planted in refs/ must not block the open forever
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise OstreeError(f"openat({what}): {os.strerror(e.errno)}") from None
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        # a device or FIFO (say a symlink to /dev/zero) would be read without end
        os.close(fd)
        raise OstreeError(f"Corrupt ref file {what}: not a regular file")
    os.set_blocking(fd, True)
    return fd


class RefIsDirectoryError(OstreeError):
    """A ref name that is a directory of refs (``refs --create`` may replace an empty one)."""


def _read_ref_fd(fd: int, ref: str) -> str:
    try:
        chunks = []
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks.append(b)
    except IsADirectoryError as e:
        raise RefIsDirectoryError(f"Couldn't open ref '{ref}': {os.strerror(e.errno)}") from None
    except OSError as e:
        raise OstreeError(f"Couldn't open ref '{ref}': {os.strerror(e.errno)}") from None
    finally:
        os.close(fd)
    try:
        s = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise OstreeError(f"Couldn't open ref '{ref}': Invalid UTF-8") from None
    s = s.rstrip(" \t\n\r\f\v")
    if len(s) != 64:
        raise OstreeError(f"Invalid rev {s[:64]}".replace("\n", " "))
    for ch in s:
        if ch not in "0123456789abcdef":
            raise OstreeError(f"Invalid character '{ord(ch.encode()[:1])}' in rev '{s}'")
    return s


def _resolve_refspec(self, remote, ref, allow_noent, fallback_remote):
    if is_checksum(ref):
        return ref
    fd = None
    if remote is not None:
        what = f"refs/remotes/{remote}/{ref}"
        fd = _open_ref(os.path.join(self.path, what), what)
    else:
        what = f"refs/heads/{ref}"
        fd = _open_ref(os.path.join(self.path, what), what)
        if fd is None and fallback_remote:
            what = f"refs/remotes/{ref}"
            fd = _open_ref(os.path.join(self.path, what), what)
            if fd is None:
                base = os.path.join(self.path, "refs", "remotes")
                try:
                    entries = list(os.scandir(base))
                except OSError as e:
                    raise OstreeError(f"opendir(refs/remotes): {os.strerror(e.errno)}") from None
                for e in entries:
                    if not e.is_dir(follow_symlinks=False):
                        continue
                    fd = _open_ref(os.path.join(e.path, ref), ref)
                    if fd is not None:
                        break
    if fd is not None:
        return _read_ref_fd(fd, ref)
    if self.parent is not None:
        return _resolve_refspec(self.parent, remote, ref, allow_noent, fallback_remote)
    if allow_noent:
        return None
    raise RefNotFoundError(f"Refspec '{remote + ':' if remote else ''}{ref}' not found")


def resolve_rev_ext(self, rev: str, allow_noent: bool = False, local_only: bool = False) -> str | None:
    """ostree_repo_resolve_rev (or, with ``local_only``, _ext: no fallback to remote refs).

    A hex string of at most 64 characters (even empty) is first tried as a
    commit checksum prefix; ``REV^`` is the parent of REV.
    """
    if is_checksum(rev):
        return rev
    if len(rev) <= 64 and all(c in "0123456789abcdef" for c in rev):
        c = _resolve_partial(self, rev)
        if c:
            return c
    if rev.endswith("^"):
        base = self.resolve_rev_ext(rev[:-1], allow_noent, local_only)
        if base is None:
            return None
        commit = self.load_commit(base)
        if not commit.parent:
            raise OstreeError(f"Commit {base} has no parent")
        return commit.parent
    m = _REFSPEC_RE.match(rev)
    if m is None:
        raise OstreeError(f"Invalid refspec {rev}")
    remote, ref = m.group(1), m.group(2)
    return _resolve_refspec(self, remote, ref, allow_noent, not local_only)


def _walk_refs(base: str, prefix_parts: str = ""):
    """Yield (relative ref name, full path, is_alias_symlink) under ``base``."""
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for e in entries:
        if e.name.startswith("."):
            # as the reference: hidden names are not refs (e.g. the temporary file of a
            # ref write that was killed before its rename)
            continue
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
    from ostree_py.util.fs import write_atomic
    # the ref may name objects this transaction has only staged
    self.publish_staged()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # a symlink alias is replaced by writing through to its target
    write_atomic(os.path.realpath(path) if os.path.islink(path) else path,
                 (checksum + "\n").encode("ascii"), fsync=self.fsync)
    checkpoint("ref")


def delete_ref(self, ref: str, remote: str | None = None) -> None:
    """Remove a ref (or alias). Its parent directories stay, even empty, as with the
    reference (a sysroot keeps refs/heads/ostree/B/S after its deployment refs go)."""
    p = self.ref_path(ref, remote)
    try:
        os.unlink(p)
    except FileNotFoundError:
        return
    checkpoint("ref")
    _ref_changed(self)


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
    _ref_changed(self)


def _ref_changed(self) -> None:
    """core.auto-update-summary: regenerate now, or when the enclosing transaction ends."""
    if self._txn_depth:
        self._txn_refs_changed = True
        return
    from ostree_py.repo.summary import maybe_regenerate_summary
    maybe_regenerate_summary(self)


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
            _ref_changed(self)
        return
    self.write_ref_file(p, checksum)
    _ref_changed(self)
