"""The repository summary file and the static-delta indexes it comes with.

``regenerate_summary`` writes ``summary`` as ``(a(s(taya{sv}))a{sv})``, the way
ostree_repo_regenerate_summary does: local refs sorted by name (remote refs
left out), each with its commit's size, checksum and
``{ostree.commit.timestamp, ostree.commit.version}``; then the metadata:
caller's additions, ``ostree.static-deltas`` (when there are deltas),
``ostree.summary.last-modified``, ``.mode`` (the config's spelling, e.g.
archive-z2), ``.tombstone-commits``, ``.indexed-deltas``, and with collection
ids ``ostree.summary.collection-id`` / ``.collection-map``. Dictionaries come
out in GVariantDict (GHashTable) order, so the bytes match the reference's.
It also rebuilds ``delta-indexes/`` and sets ``core.indexed-deltas=true``, and
removes a stale ``summary.sig``.
"""

import base64
import contextlib
import hashlib
import os
import time

from ostree_py.core import gvariant
from ostree_py.errors import OstreeError
from ostree_py.core.ghash import GHashTable
from ostree_py.core.gvariant import Variant, bswap64
from ostree_py.core.objects import SUMMARY_TYPE

METADATA_REF = "ostree-metadata"
_MAX_UNIX = 253402300799


# ---------------------------------------------------------------- static deltas

def _mb64_to_hex(s: str) -> str:
    b = base64.b64decode(s[:43].replace("_", "/") + "=")
    return b.hex()


def checksum_to_mb64(csum: str) -> str:
    """A hex checksum in modified base64 (43 chars, "/" as "_"), as delta paths spell it."""
    return base64.b64encode(bytes.fromhex(csum)).decode("ascii").rstrip("=").replace("/", "_")


def mb64_to_checksum(s: str) -> str:
    """Modified base64 (43 chars) back to hex; ValueError if malformed."""
    if len(s) != 43:
        raise ValueError("bad length")
    raw = base64.b64decode(s.replace("_", "/") + "=", validate=True)
    return raw.hex()


def delta_path_base(prefix: str, frm: str | None, to: str) -> str:
    """``PREFIX`` + the delta's two-level name: ``XX/REST`` of TO, or of FROM then ``-TO``."""
    if frm:
        f = checksum_to_mb64(frm)
        return f"{prefix}{f[:2]}/{f[2:]}-{checksum_to_mb64(to)}"
    t = checksum_to_mb64(to)
    return f"{prefix}{t[:2]}/{t[2:]}"


def delta_superblock_path(frm: str | None, to: str) -> str:
    """Repo-relative path of a delta's superblock."""
    return delta_path_base("deltas/", frm, to) + "/superblock"


def delta_index_path(to: str) -> str:
    return delta_path_base("delta-indexes/", None, to) + ".index"


def _listdir_dirs(path: str):
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return None
    except OSError as e:
        raise OstreeError(f"opendir({os.path.basename(path)}): {os.strerror(e.errno)}") from None
    return entries


def list_static_delta_names(repo) -> list[str]:
    """Names ``FROM-TO`` or ``TO`` (hex) of every delta with a superblock, in directory order."""
    out = []
    top = _listdir_dirs(os.path.join(repo.path, "deltas"))
    for d in top or ():
        if not d.is_dir(follow_symlinks=False):
            continue
        for sub in os.scandir(d.path):
            if not sub.is_dir(follow_symlinks=False):
                continue
            if not os.path.exists(os.path.join(sub.path, "superblock")):
                continue
            buf = d.name + sub.name
            try:
                name = _mb64_to_hex(buf)
                if "-" in buf:
                    name += "-" + _mb64_to_hex(buf[buf.index("-") + 1:])
            except (ValueError, TypeError):
                continue
            out.append(name)
    return out


def list_static_delta_indexes(repo) -> list[str]:
    """The target checksums that have a file in ``delta-indexes/``."""
    out = []
    top = _listdir_dirs(os.path.join(repo.path, "delta-indexes"))
    for d in top or ():
        if not d.is_dir(follow_symlinks=False) or len(d.name) != 2:
            continue
        for sub in os.scandir(d.path):
            if not sub.is_file(follow_symlinks=False):
                continue
            if len(sub.name) != 41 + len(".index") or not sub.name.endswith(".index"):
                continue
            try:
                out.append(_mb64_to_hex(d.name + sub.name[:41]))
            except (ValueError, TypeError):
                continue
    return out


def parse_delta_name(name: str) -> tuple[str | None, str]:
    """``FROM-TO`` or ``TO`` -> (from or None, to), validating both checksums."""
    from ostree_py.core.objects import validate_checksum_string
    parts = name.split("-", 1)
    validate_checksum_string(parts[0])
    if len(parts) == 1:
        return None, parts[0]
    validate_checksum_string(parts[1])
    return parts[0], parts[1]


def superblock_digest(repo, frm: str | None, to: str) -> bytes:
    """sha256 of a delta's superblock file (its identity in summaries and indexes)."""
    p = os.path.join(repo.path, delta_superblock_path(frm, to))
    h = hashlib.sha256()
    try:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        raise OstreeError(f"openat({delta_superblock_path(frm, to)}): {os.strerror(e.errno)}") from None
    return h.digest()


def static_delta_reindex(repo, to_commit: str | None = None) -> None:
    """Rewrite ``delta-indexes/`` (one ``{'ostree.static-deltas': {name: digest}}`` per target)."""
    cfg = repo.config
    if not (cfg.has_key("core", "indexed-deltas") and cfg.get_boolean("core", "indexed-deltas", False)):
        cfg.set_boolean("core", "indexed-deltas", True)
        repo.save_config()
    table = GHashTable()
    if to_commit is None:
        for old in list_static_delta_indexes(repo):
            table[old] = None
    else:
        table[to_commit] = None
    for name in list_static_delta_names(repo):
        frm, to = parse_delta_name(name)
        if to_commit is not None and to != to_commit:
            continue
        froms = table.get(to)
        if froms is None:
            froms = []
            table[to] = froms
        froms.append(frm)
    from ostree_py.util.fs import write_atomic
    for to, froms in table.items():
        rel = delta_index_path(to)
        path = os.path.join(repo.path, rel)
        if froms is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            continue
        deltas = GHashTable()
        for frm in sorted(froms, key=lambda f: (f is not None, f or "")):
            dname = f"{frm}-{to}" if frm else to
            deltas[dname] = Variant("ay", superblock_digest(repo, frm, to))
        index = gvariant.serialize("a{sv}", {"ostree.static-deltas": Variant("a{sv}", dict(deltas.items()))})
        os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
        try:
            with open(path, "rb") as f:
                if f.read() == index:
                    continue
        except OSError:
            pass
        write_atomic(path, index)


# ---------------------------------------------------------------- the summary

def _ref_entry(repo, ref: str, checksum: str):
    """(ref, (commit size, csum bytes, {timestamp, version})) as summary_add_ref_entry builds it."""
    data = repo.load_metadata_bytes("commit", checksum)
    from ostree_py.core.objects import Commit
    try:
        commit = Commit.from_bytes(data)
    except OstreeError as e:
        raise OstreeError(f"Corrupted commit object {checksum}: {e.message}") from None
    md = GHashTable()
    if commit.timestamp <= _MAX_UNIX:
        md["ostree.commit.timestamp"] = Variant("t", bswap64(commit.timestamp))
    v = commit.metadata.get("version")
    if isinstance(v, Variant) and v.type == "s":
        md["ostree.commit.version"] = Variant("s", v.value)
    return (ref, (len(data), bytes.fromhex(checksum), dict(md.items())))


def build_summary(repo, additional_metadata: dict | None = None, now: int | None = None) -> bytes:
    """The serialised summary for the repo's current refs and deltas."""
    from ostree_py.core.objects import parse_refspec
    from ostree_py.repo.reflist import list_collection_refs, list_refs_ext
    cfg = repo.config
    meta = GHashTable()
    for k, v in (additional_metadata or {}).items():
        meta[k] = v
    main_cid = repo.collection_id
    refs = []
    if main_cid is None:
        all_refs = list_refs_ext(repo, None, cut_prefix=True)
        for ref in sorted(all_refs, key=lambda r: r.encode("utf-8", "surrogateescape")):
            remote, _ = parse_refspec(ref)
            if remote is not None:
                continue
            refs.append(_ref_entry(repo, ref, all_refs[ref]))
    if not _config_bool(cfg, "no-deltas-in-summary"):
        names = list_static_delta_names(repo)
        if names:
            deltas = GHashTable()
            for name in names:
                frm, to = parse_delta_name(name)
                deltas[name] = Variant("ay", superblock_digest(repo, frm, to))
            meta["ostree.static-deltas"] = Variant("a{sv}", dict(deltas.items()))
    if now is None:
        now = int(time.time())
    meta["ostree.summary.last-modified"] = Variant("t", bswap64(now))
    meta["ostree.summary.mode"] = Variant("s", cfg.get("core", "mode", "bare"))
    meta["ostree.summary.tombstone-commits"] = Variant("b", _config_bool(cfg, "tombstone-commits"))
    meta["ostree.summary.indexed-deltas"] = Variant("b", True)

    crefs = list_collection_refs(repo)
    by_cid: dict = {}
    for (cid, ref), csum in crefs.items():
        by_cid.setdefault(cid, {})[ref] = csum
    cmap = {}
    for cid in sorted(by_cid, key=lambda c: c.encode()):
        entries = [_ref_entry(repo, ref, by_cid[cid][ref])
                   for ref in sorted(by_cid[cid], key=lambda r: r.encode("utf-8", "surrogateescape"))]
        if main_cid is not None and cid == main_cid:
            refs.extend(entries)
        else:
            cmap[cid] = entries
    if main_cid is not None:
        meta["ostree.summary.collection-id"] = Variant("s", main_cid)
    if any(cmap.values()):
        meta["ostree.summary.collection-map"] = Variant("a{sa(s(taya{sv}))}", cmap)
    return gvariant.serialize(SUMMARY_TYPE, (refs, dict(meta.items())))


def _config_bool(cfg, key: str) -> bool:
    if not cfg.has_key("core", key):
        return False
    return cfg.get_boolean("core", key, False)


def regenerate_summary(repo, additional_metadata: dict | None = None) -> None:
    """ostree_repo_regenerate_summary: reindex deltas, write ``summary``, drop ``summary.sig``."""
    from ostree_py.util.fs import write_atomic
    with repo.lock():
        data = build_summary(repo, additional_metadata)
        static_delta_reindex(repo)
        write_atomic(os.path.join(repo.path, "summary"), data, fsync=getattr(repo, "fsync", True))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(repo.path, "summary.sig"))


def match_summary_times(repo) -> None:
    """Give ``summary`` the access and modification times of ``summary.sig`` (ostree 2024.6+).

    HTTP servers derive Last-Modified from them, so caches expire the pair together.
    """
    sig = os.path.join(repo.path, "summary.sig")
    try:
        st = os.stat(sig, follow_symlinks=False)
    except OSError as e:
        raise OstreeError(f"Unable to get summary.sig status: {os.strerror(e.errno)}") from None
    try:
        os.utime(os.path.join(repo.path, "summary"), ns=(st.st_atime_ns, st.st_mtime_ns),
                 follow_symlinks=False)
    except OSError as e:
        raise OstreeError(f"Unable to change summary timestamps: {os.strerror(e.errno)}") from None


def maybe_regenerate_summary(repo) -> None:
    """Regenerate when ``core.auto-update-summary`` (or the old ``commit-update-summary``) is set."""
    cfg = repo.config
    if _config_bool(cfg, "auto-update-summary") or _config_bool(cfg, "commit-update-summary"):
        regenerate_summary(repo)


def load_summary(repo) -> bytes:
    """The bytes of the repo's ``summary`` file."""
    try:
        with open(os.path.join(repo.path, "summary"), "rb") as f:
            return f.read()
    except OSError as e:
        raise OstreeError(f"openat(summary): {os.strerror(e.errno)}") from None
