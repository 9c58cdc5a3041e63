"""Deleting unreachable objects: ``ostree prune`` and its helpers.

Reachability is computed into a set of compact object keys (see
traverse.py); the object store is then streamed directory by directory and
whatever is not in the set is deleted. Nothing else about the objects is
held in memory. The whole operation holds the repository lock exclusively,
so no transaction can add objects that a concurrent prune would consider
unreachable.
"""

import base64
import os
import shutil

from ostree_py.errors import OstreeError
from ostree_py.repo.traverse import object_key, parse_commit_lenient, traverse_commit

# object types the reference's loose-object listing knows (commitmeta and
# tombstones are not listed, so prune never counts or removes them itself)
_LISTED_TYPES = ("file", "dirtree", "dirmeta", "commit", "payload-link")
_METADATA = ("dirtree", "dirmeta", "commit")


def enable_tombstone_commits(repo) -> None:
    """Set core.tombstone-commits=true (if not already) so deleted commits leave tombstones."""
    if not repo.config.get_boolean("core", "tombstone-commits", False):
        repo.config.set("core", "tombstone-commits", "true")
        repo.save_config()


class PruneResult:
    """Counts of a prune: objects considered, objects (to be) deleted, their size."""

    def __init__(self):
        self.total = 0
        self.pruned = 0
        self.freed_bytes = 0


def _iter_listed_objects(repo, commit_only: bool):
    for csum, objtype in repo.iter_objects():
        if commit_only and objtype != "commit":
            continue
        if objtype in _LISTED_TYPES:
            yield csum, objtype


def _storage_size(repo, objtype: str, csum: str) -> int:
    try:
        return os.lstat(repo.object_path(objtype, csum)).st_size
    except FileNotFoundError:
        return 0


def _list_static_deltas(repo):
    """(from checksum or None, to checksum, directory) of each static delta in ``deltas/``."""
    base = os.path.join(repo.path, "deltas")
    try:
        prefixes = sorted(os.listdir(base))
    except (FileNotFoundError, NotADirectoryError):
        return
    for pre in prefixes:
        d = os.path.join(base, pre)
        try:
            names = sorted(os.listdir(d))
        except (NotADirectoryError, FileNotFoundError):
            continue
        for n in names:
            path = os.path.join(d, n)
            if not os.path.isfile(os.path.join(path, "superblock")):
                continue
            name = pre + n
            parts = name.split("-", 1)
            try:
                hexes = [base64.b64decode(p.replace("_", "/") + "=", validate=True).hex() for p in parts]
            except ValueError:
                continue
            if any(len(h) != 64 for h in hexes):
                continue
            if len(hexes) == 1:
                yield None, hexes[0], path
            else:
                yield hexes[0], hexes[1], path


def prune_static_deltas(repo, commit: str | None = None) -> None:
    """Delete the static deltas to ``commit``, or (None) those whose target commit is gone."""
    with repo.lock(exclusive=True):
        for _frm, to, path in list(_list_static_deltas(repo)):
            if commit is not None:
                if to != commit:
                    continue
            elif repo.has_object("commit", to):
                continue
            shutil.rmtree(path, ignore_errors=True)


def _prune_summary_cache(repo) -> None:
    """Drop cached summaries of remotes that no longer exist."""
    d = os.path.join(repo.path, "tmp", "cache", "summaries")
    try:
        names = os.listdir(d)
    except (FileNotFoundError, NotADirectoryError):
        return
    import glob
    import re
    remotes = set()
    for g in repo.config.groups():
        if g.startswith('remote "') and g.endswith('"'):
            remotes.add(g[8:-1])
    for conf in glob.glob("/etc/ostree/remotes.d/*.conf"):
        try:
            with open(conf, encoding="utf-8", errors="replace") as f:
                remotes.update(re.findall(r'^\[remote "([^"]+)"\]', f.read(), re.M))
        except OSError:
            pass
    for n in names:
        base = n[:-4] if n.endswith(".sig") and len(n) > 4 else n
        if base not in remotes:
            try:
                os.unlink(os.path.join(d, n))
            except (IsADirectoryError, FileNotFoundError, PermissionError):
                pass


def prune_from_reachable(repo, reachable: set, no_prune: bool = False, commit_only: bool = False) -> PruneResult:
    """Delete (or with ``no_prune`` only count) the objects not in ``reachable``."""
    res = PruneResult()
    with repo.lock(exclusive=True):
        # Unreachable commits go first, then the rest: a prune killed midway must not
        # leave a commit whose dirtrees or files are already gone (fsck would fail).
        for commits_pass in (True, False):
            for csum, objtype in _iter_listed_objects(repo, commit_only):
                if (objtype == "commit") != commits_pass:
                    continue
                res.total += 1
                if object_key(csum, objtype) in reachable:
                    continue
                if objtype == "payload-link" and _payload_link_target_reachable(repo, csum, reachable):
                    continue
                res.freed_bytes += _storage_size(repo, objtype, csum)
                res.pruned += 1
                if not no_prune:
                    repo.delete_object(objtype, csum)
            if commit_only:
                break
        prune_static_deltas(repo)
        _prune_summary_cache(repo)
    return res


def _payload_link_target_reachable(repo, csum: str, reachable: set) -> bool:
    # A payload link stays while the content object it names is kept.
    try:
        target = os.readlink(repo.object_path("payload-link", csum))
    except OSError:
        return False
    parts = target.split("/")
    if len(parts) < 2:
        return False
    t = parts[-2] + parts[-1].split(".", 1)[0]
    try:
        return object_key(t, "file") in reachable
    except ValueError:
        return False


def all_commit_checksums(repo):
    """Checksums of every loose commit object (own objects, not the parent repo's)."""
    for csum, objtype in repo.iter_objects():
        if objtype == "commit":
            yield csum


def traverse_reachable_refs(repo, depth: int, reachable: set, commit_only: bool = False) -> None:
    """Add what the refs (and collection refs) reach, to ``depth`` parents, to ``reachable``."""
    for checksum in repo.list_refs().values():
        traverse_commit(repo, checksum, depth, reachable, commit_only=commit_only)
    for checksum in repo.list_collection_refs().values():
        traverse_commit(repo, checksum, depth, reachable, commit_only=commit_only)


def prune(repo, refs_only: bool = False, depth: int = -1, no_prune: bool = False,
          commit_only: bool = False) -> PruneResult:
    """``ostree_repo_prune``: keep what refs (or, without ``refs_only``, any commit) reach."""
    with repo.lock(exclusive=True):
        reachable: set = set()
        if refs_only:
            traverse_reachable_refs(repo, depth, reachable, commit_only)
        else:
            for c in list(all_commit_checksums(repo)):
                traverse_commit(repo, c, depth, reachable, commit_only=commit_only)
        return prune_from_reachable(repo, reachable, no_prune, commit_only)


def delete_commit(repo, checksum: str) -> None:
    """Delete one commit object, refusing if a ref names it; leaves a tombstone."""
    with repo.lock(exclusive=True):
        for ref, c in repo.list_refs().items():
            if c == checksum:
                raise OstreeError(f"Commit '{checksum}' is referenced by '{ref}'")
        for (cid, ref), c in repo.list_collection_refs().items():
            if c == checksum:
                raise OstreeError(f"Commit '{checksum}' is referenced by ({cid}, {ref})")
        enable_tombstone_commits(repo)
        if not os.path.lexists(repo.object_path("commit", checksum)):
            raise OstreeError(f"Deleting object {checksum}.commit: "
                              f"unlinkat({checksum[:2]}/{checksum[2:]}.commit): No such file or directory")
        repo.delete_object("commit", checksum)


def parse_retain_branch_depth(specs) -> dict:
    """``BRANCH=DEPTH`` strings -> {branch: depth}, with the reference's errors."""
    import re
    out = {}
    for bd in specs:
        if "=" not in bd:
            raise OstreeError(f"Invalid value {bd}, must specify BRANCH=DEPTH")
        branch, depthstr = bd.split("=", 1)
        # g_ascii_strtoll(..., 10): leading spaces and sign, digits, stop at the rest
        m = re.match(r"\s*([-+]?\d+)", depthstr)
        if not m:
            raise OstreeError(f"Invalid depth {depthstr}")
        depth = int(m.group(1))
        if not -(1 << 63) <= depth < (1 << 63):
            raise OstreeError(f"Out of range depth {depthstr}")
        # the reference stores it in an int
        depth = (depth + (1 << 31)) % (1 << 32) - (1 << 31)
        out[branch] = depth
    return out


def _traverse_keep_younger_than(repo, checksum: str, cutoff: int, reachable: set, commit_only: bool) -> None:
    # The commit a ref points to is always kept; then parents while they are new enough.
    traverse_commit(repo, checksum, 0, reachable, commit_only=commit_only)
    nxt = checksum
    while nxt:
        try:
            data = repo.load_metadata_bytes("commit", nxt)
        except OstreeError:
            break
        parent, _t, _m, ts, _md = parse_commit_lenient(data)
        if ts < cutoff:
            break
        traverse_commit(repo, nxt, 0, reachable, commit_only=commit_only)
        nxt = parent.hex() if len(parent) == 32 else None


def prune_by_policy(repo, depth: int = -1, keep_younger_than: int | None = None,
                    retain_branch_depth: dict | None = None, only_branches=None,
                    no_prune: bool = False, commit_only: bool = False) -> PruneResult:
    """The refs-only prune with per-branch rules (--keep-younger-than, --retain-branch-depth, --only-branch)."""
    with repo.lock(exclusive=True):
        retain = dict(retain_branch_depth or {})
        all_refs = repo.list_refs()
        if only_branches:
            only = set()
            for ref in only_branches:
                repo.resolve_rev(ref)
                only.add(ref)
            for ref in all_refs:
                if ref not in only and ref not in retain:
                    retain[ref] = -1
        reachable: set = set()
        for ref, checksum in all_refs.items():
            if ref in retain:
                d = retain[ref]
            elif keep_younger_than is not None:
                _traverse_keep_younger_than(repo, checksum, keep_younger_than, reachable, commit_only)
                continue
            else:
                d = depth
            traverse_commit(repo, checksum, d, reachable, commit_only=commit_only)
        return prune_from_reachable(repo, reachable, no_prune, commit_only)
