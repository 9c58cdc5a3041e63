"""Finding remotes for collection refs, and pulling from what was found.

What ``ostree find-remotes`` and ``ostree_repo_find_remotes_async`` /
``ostree_repo_pull_from_remotes_async`` do:

- each *finder* proposes results: a remote, a priority and the
  (collection id, ref) -> checksum it claims to serve. The config finder
  (priority 100) looks at configured remotes with a ``collection-id`` and
  their summaries; the mount finder (priority 50) at repositories on mounted
  removable volumes (``.ostree/repos.d/*``, ``.ostree/repo``, ``ostree/repo``,
  ``var/lib/flatpak/repo``), keyed to the keyring of a configured remote of
  the same collection. There is no LAN (Avahi) finder here.
- every result's summary is then fetched and checked; for each ref the
  newest commit (by timestamp) across results wins, and a result keeps only
  refs for which it has that commit (results with none are dropped).
- results are sorted as ``ostree_repo_finder_result_compare``: priority,
  summary timestamp, number of refs (fewer first), remote name.

Per-result ref tables iterate in the order of GLib's hash table keyed by
``ostree_collection_ref_hash``, which is what the reference prints.
"""

import functools
import os
import time

from ostree_py.core import gvariant
from ostree_py.errors import OstreeError
from ostree_py.core.ghash import GHashTable, str_hash

FINDER_NAMES = ("config", "lan", "mount")
DEFAULT_FINDERS = ("config", "mount")
CONFIG_PRIORITY = 100
MOUNT_PRIORITY = 50
WELL_KNOWN_MOUNT_REPOS = (".ostree/repo", "ostree/repo", "var/lib/flatpak/repo")


def collection_ref_hash(ref) -> int:
    """ostree_collection_ref_hash of a (collection id or None, ref name) pair."""
    cid, name = ref
    if cid is None:
        return str_hash(name)
    return str_hash(cid) ^ str_hash(name)


class CollectionRefTable(GHashTable):
    """A GHashTable keyed by (collection id, ref) pairs, iterating in GLib's order."""

    hash_func = staticmethod(collection_ref_hash)


class FinderResult:
    """One remote that claims to serve some of the refs (OstreeRepoFinderResult)."""

    def __init__(self, remote, finder: str, priority: int, ref_to_checksum: CollectionRefTable,
                 summary_last_modified: int = 0):
        self.remote = remote
        self.finder = finder
        self.priority = priority
        self.ref_to_checksum = ref_to_checksum
        self.summary_last_modified = summary_last_modified

    @property
    def n_refs(self) -> int:
        return sum(1 for _k, v in self.ref_to_checksum.items() if v is not None)

    def __repr__(self):
        return f"FinderResult({self.remote.name!r}, {self.finder}, {self.priority})"


def _gint(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= (1 << 31) else v


def result_compare(a: FinderResult, b: FinderResult) -> int:
    """ostree_repo_finder_result_compare (including its integer truncations)."""
    if a.priority != b.priority:
        return _gint(a.priority - b.priority)
    la, lb = a.summary_last_modified, b.summary_last_modified
    if la and lb and la != lb:
        return _gint((la - lb) & 0xFFFFFFFFFFFFFFFF)
    na, nb = a.n_refs, b.n_refs
    if na != nb:
        return na - nb
    an, bn = a.remote.name.encode(), b.remote.name.encode()
    return (an > bn) - (an < bn)


def sort_results(results: list) -> list:
    """g_ptr_array_sort with result_compare (a stable sort)."""
    return sorted(results, key=functools.cmp_to_key(result_compare))


def validate_finders(names) -> list:
    """The --finders list: known names, each once (else a usage error, as the reference)."""
    from ostree_py.errors import UsageError
    names = list(names)
    if not names or names == [""]:
        raise UsageError("List of finders in --finders option must not be empty")
    used = set()
    for n in names:
        if n not in FINDER_NAMES or n in used:
            raise UsageError(f"Unknown or duplicate finder type given in --finders option: \u2018{n}\u2019")
        used.add(n)
    return names


def default_finders(repo) -> list:
    """core.default-repo-finders (default config;mount), validated as at repo open."""
    cfg = repo.config
    if not cfg.has_key("core", "default-repo-finders"):
        return list(DEFAULT_FINDERS)
    raw = cfg.get("core", "default-repo-finders") or ""
    from ostree_py.core.keyfile import split_list
    names = split_list(raw, ";")
    if not names:
        raise OstreeError("Invalid empty default-repo-finders configuration")
    for n in names:
        if n not in FINDER_NAMES:
            raise OstreeError(f"Invalid configured repo-finder '{n}'")
    return names


# ---------------------------------------------------------------- summaries

def _summary_parts(data: bytes):
    """(main collection id or None, main refs, collection map list, metadata) of summary bytes.

    Read leniently as GLib does for untrusted data: a summary that does not
    parse has no refs.
    """
    try:
        refs, meta = gvariant.deserialize("(a(s(taya{sv}))a{sv})", data)
    except gvariant.GVariantError:
        return None, [], [], {}
    cid = meta.get("ostree.summary.collection-id")
    cid = cid.value if isinstance(cid, gvariant.Variant) and cid.type == "s" else None
    cmap = meta.get("ostree.summary.collection-map")
    cmap = list(cmap.value.items()) if isinstance(cmap, gvariant.Variant) \
        and cmap.type == "a{sa(s(taya{sv}))}" else []
    return cid, refs, cmap, meta


def remote_list_collection_refs(repo, remote_name: str, cache_dir: str | None = None) -> dict:
    """ostree_repo_remote_list_collection_refs: (collection id, ref) -> checksum from the summary."""
    from ostree_py.core.objects import validate_ref
    from ostree_py.remote.pull import fetch_summary
    summary, _sig = fetch_summary(repo, remote_name, cache_dir=cache_dir)
    if summary is None:
        raise OstreeError("Remote refs not available; server has no summary file")
    cid, refs, cmap, _meta = _summary_parts(summary)
    out = {}
    for c, entries in [(cid, refs)] + cmap:
        for name, (_size, csum, _md) in entries:
            validate_ref(name)
            csum = bytes(csum)
            if len(csum) != 32:
                raise OstreeError(f"Invalid checksum of length {len(csum)} expected 32")
            out[(c, name)] = csum.hex()
    return out


# ---------------------------------------------------------------- finders

def resolve_config(repo, refs: list, cache_dir: str | None = None) -> list:
    """OstreeRepoFinderConfig: configured remotes whose collection-id and summary serve the refs."""
    from ostree_py.core.objects import is_valid_collection_id
    from ostree_py.repo.remotes import find_remote, list_remotes
    by_remote = GHashTable()
    for name in list_remotes(repo):
        remote = find_remote(repo, name)
        cid = remote.get_option("collection-id") if remote is not None else None
        if not is_valid_collection_id(cid):
            continue
        try:
            remote_refs = remote_list_collection_refs(repo, name, cache_dir)
        except OstreeError:
            continue
        for ref in refs:
            if ref[0] == cid and ref in remote_refs:
                table = by_remote.get(name)
                if table is None:
                    table = CollectionRefTable()
                    by_remote[name] = table
                table[ref] = remote_refs[ref]
    results = []
    for name, table in by_remote.items():
        remote = find_remote(repo, name)
        if remote is None:
            continue
        results.append(FinderResult(remote, "OstreeRepoFinderConfig", CONFIG_PRIORITY, table))
    return sort_results(results)


# GLib's lists of file systems, devices and paths that are never user-visible volumes
_SYSTEM_FS_TYPES = frozenset((
    "adfs", "afs", "auto", "autofs", "autofs4", "cgroup", "cgroup2", "configfs", "cxfs", "debugfs",
    "devfs", "devpts", "devtmpfs", "ecryptfs", "efivarfs", "fdescfs", "fusectl", "gfs", "gfs2",
    "gpfs", "hugetlbfs", "kernfs", "linprocfs", "linsysfs", "lustre", "lustre_lite", "mfs",
    "mqueue", "ncpfs", "nfsd", "nullfs", "ocfs2", "overlay", "proc", "procfs", "pstore", "ptyfs",
    "rootfs", "rpc_pipefs", "securityfs", "selinuxfs", "sysfs", "tmpfs", "usbfs", "bpf",
    "binfmt_misc", "tracefs", "nsfs", "ramfs", "fuse.gvfsd-fuse", "fuse.portal", "zfs",
    "squashfs"))
_SYSTEM_DEVICES = frozenset(("devfs", "devpts", "none", "proc", "sysfs", "udev", "tmpfs",
                             "/dev/loop", "/dev/vn", "devtmpfs", "overlay", "cgroup", "cgroup2",
                             "mqueue", "securityfs", "pstore", "bpf", "tracefs", "debugfs",
                             "hugetlbfs", "configfs", "fusectl", "binfmt_misc"))
_SYSTEM_PATHS = ("/", "/bin", "/boot", "/compat/linux/proc", "/compat/linux/sys", "/dev",
                 "/etc", "/home", "/lib", "/lib64", "/libexec", "/live/cow", "/live/image",
                 "/media", "/mnt", "/net", "/opt", "/proc", "/rescue", "/root", "/run", "/sbin",
                 "/srv", "/sys", "/tmp", "/usr", "/usr/local", "/var", "/var/crash",
                 "/var/local", "/var/log", "/var/mail", "/var/run", "/var/tmp")


def _unescape_mount_field(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 3 < len(s) and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _read_mounts(path: str = "/proc/self/mountinfo"):
    """(mount path, fs type, device, options) of each mount, from mountinfo."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        lf, rf = left.split(), right.split()
        if len(lf) < 6 or len(rf) < 2:
            continue
        opts = lf[5] + ("," + rf[2] if len(rf) > 2 else "")
        out.append((_unescape_mount_field(lf[4]), rf[0], _unescape_mount_field(rf[1]), opts))
    return out


def _user_visible(mount_path: str, fs_type: str, device: str, options: str) -> bool:
    """Whether GLib's unix volume monitor would list the mount (g_unix_mount_guess_should_display)."""
    if fs_type in _SYSTEM_FS_TYPES or device in _SYSTEM_DEVICES or device.startswith("/dev/loop") \
            or mount_path in _SYSTEM_PATHS or mount_path.startswith(("/proc/", "/sys/", "/dev/",
                                                                    "/run/", "/snap/", "/var/run/")) \
            and not mount_path.startswith("/run/media/"):
        return False
    opts = options.split(",")
    if "x-gvfs-hide" in opts:
        return False
    if "x-gvfs-show" in opts:
        return True
    if mount_path.startswith("/media/"):
        parent = os.path.dirname(mount_path)
        return parent == "/media" or os.access(parent, os.R_OK | os.X_OK)
    user = os.environ.get("USER") or ""
    if user and mount_path.startswith(f"/run/media/{user}/"):
        return True
    home = os.path.expanduser("~")
    if home and home != "/" and mount_path.startswith(home.rstrip("/") + "/"):
        rest = mount_path[len(home.rstrip("/")) + 1:]
        return not rest.startswith(".")
    return False


def list_volume_mounts(mountinfo: str = "/proc/self/mountinfo") -> list:
    """Mount roots the mount finder looks at (user-visible mounts, as GVolumeMonitor's), in order."""
    seen, out = set(), []
    for path, fstype, dev, opts in _read_mounts(mountinfo):
        if _user_visible(path, fstype, dev, opts) and path not in seen:
            seen.add(path)
            out.append(path)
    return out


def resolve_keyring_for_collection(repo, collection_id: str):
    """ostree_repo_resolve_keyring_for_collection: the first remote of the collection with a keyring."""
    from ostree_py.repo.remotes import find_remote, list_remotes
    for name in list_remotes(repo):
        r = find_remote(repo, name)
        cid = r.get_option("collection-id") if r is not None else None
        if not cid or cid != collection_id:
            continue
        if r.keyring in ("", "/dev/null"):
            continue
        return r
    raise OstreeError(f"No keyring found configured locally for collection \u2018{collection_id}\u2019")


def _uri_escape(s: str) -> str:
    """g_uri_escape_string(s, NULL, FALSE): all but unreserved characters percent-encoded."""
    out = []
    for b in s.encode("utf-8", "surrogateescape"):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in "-._~"):
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def dynamic_remote_name(uri: str, keyring: str) -> str:
    """The name the mount finder gives a found repository: escaped URI and keyring, % as _."""
    return (_uri_escape(uri) + "_" + _uri_escape(keyring)).replace("%", "_")


def make_dynamic_remote(name: str, url: str, keyring_remote):
    """ostree_remote_new_dynamic: a remote not in any config, verified with another remote's keyring."""
    from ostree_py.repo.remotes import Remote
    r = Remote(name)
    r.keyring = keyring_remote.keyring
    r.refspec_name = keyring_remote.name
    r.keyfile.set(r.group, "url", url)
    r.keyfile.set(r.group, "gpg-verify", "true")
    r.keyfile.set(r.group, "gpg-verify-summary", "false")
    return r


def _scan_repo(path: str, mount_dev: int, parent_repo):
    """The repo at ``path`` and its collection refs (remotes excluded), or None if unusable."""
    from ostree_py.repo.reflist import list_collection_refs
    from ostree_py.repo import Repo
    try:
        repo = Repo.open(path)
        st = os.stat(repo.path)
    except (OstreeError, OSError):
        return None
    if st.st_dev != mount_dev:
        return None
    try:
        pst = os.stat(parent_repo.path)
        if (pst.st_dev, pst.st_ino) == (st.st_dev, st.st_ino):
            return None
    except OSError:
        pass
    try:
        refs = list_collection_refs(repo, exclude_remotes=True)
    except OstreeError:
        return None
    return repo, refs


class _UriKeyringTable(GHashTable):
    """The mount finder's table keyed by (repository URI, keyring): uri_and_keyring_hash."""

    hash_func = staticmethod(lambda k: str_hash(k[0]) ^ str_hash(k[1]))


def resolve_mount(repo, refs: list, mounts=None) -> list:
    """OstreeRepoFinderMount: repositories on mounted volumes that have the refs.

    ``mounts``: mount root paths to look at (default: the user-visible
    mounts of /proc/self/mountinfo).
    """
    if mounts is None:
        mounts = list_volume_mounts()
    results = []
    for root in mounts:
        try:
            root_st = os.stat(root)
        except OSError:
            continue
        if not os.path.isdir(root):
            continue
        found = []
        reposd = os.path.join(root, ".ostree", "repos.d")
        try:
            names = os.listdir(reposd)
        except OSError:
            names = []
        sortable = []
        for n in names:
            r = _scan_repo(os.path.join(reposd, n), root_st.st_dev, repo)
            if r is not None:
                sortable.append((n.encode("utf-8", "surrogateescape"), r))
        sortable.sort(key=lambda t: t[0])
        found.extend(r for _n, r in sortable)
        for rel in WELL_KNOWN_MOUNT_REPOS:
            r = _scan_repo(os.path.join(root, rel), root_st.st_dev, repo)
            if r is not None:
                found.append(r)
        # (uri, keyring) -> (keyring remote, ref table); GLib order of that key's hash
        by_repo = {}
        order = _UriKeyringTable()
        for ref in refs:
            for frepo, frefs in found:
                csum = frefs.get(ref)
                if csum is None:
                    continue
                try:
                    keyring_remote = resolve_keyring_for_collection(repo, ref[0])
                except OstreeError:
                    continue
                uri = "file://" + os.path.realpath(frepo.path)
                key = (uri, keyring_remote.keyring)
                if key not in by_repo:
                    by_repo[key] = (keyring_remote, CollectionRefTable())
                    order[key] = True
                by_repo[key][1][ref] = csum
                break
        for key in order.keys():
            uri, keyring = key
            keyring_remote, table = by_repo[key]
            remote = make_dynamic_remote(dynamic_remote_name(uri, keyring), uri, keyring_remote)
            results.append(FinderResult(remote, "OstreeRepoFinderMount", MOUNT_PRIORITY, table))
    return sort_results(results)


# ---------------------------------------------------------------- find_remotes

def _summary_ts(md) -> int:
    v = md.get("ostree.commit.timestamp") if isinstance(md, dict) else None
    if not (isinstance(v, gvariant.Variant) and v.type == "t"):
        return 0
    ts = gvariant.bswap64(v.value)
    return 0 if ts > 253402300799 else ts  # g_date_time_new_from_unix_utc limit (year 9999)


class _CommitMeta:
    __slots__ = ("checksum", "size", "timestamp", "refs")

    def __init__(self, checksum, size, timestamp):
        self.checksum, self.size, self.timestamp, self.refs = checksum, size, timestamp, []


def _process_refs(repo, refs, result_index, remote_name, cid, entries, commit_metas, table) -> bool:
    from ostree_py.core.objects import validate_ref
    for name, (size, csum, md) in entries:
        try:
            validate_ref(name)
        except OstreeError:
            return False
        csum = bytes(csum)
        if len(csum) != 32:
            return False
        hexsum = csum.hex()
        try:
            ref_index = refs.index((cid, name))
        except ValueError:
            continue
        ts = _summary_ts(md)
        cm = commit_metas.get(hexsum)
        if cm is None:
            stored = 0
            try:
                if repo.has_object("commit", hexsum):
                    stored = repo.load_commit(hexsum).timestamp
            except OstreeError:
                stored = 0
            cm = _CommitMeta(hexsum, size, stored)
            commit_metas[hexsum] = cm
        if cm.timestamp == 0:
            cm.timestamp = ts
        elif ts != 0 and cm.timestamp != ts:
            return False
        if size != cm.size:
            return False
        table[(ref_index, result_index)] = hexsum
        cm.refs.append(ref_index)
    return True


def find_remotes(repo, refs, finders=None, mounts=None, cache_dir: str | None = None) -> list:
    """ostree_repo_find_remotes: results (best first) for the (collection id, ref) pairs ``refs``.

    ``finders``: names from FINDER_NAMES (None: the repo's default finders);
    "lan" finds nothing here. ``mounts``: mount roots for the mount finder.
    """
    from ostree_py.remote.pull import fetch_summary
    from ostree_py.repo.remotes import dynamic_remotes
    refs = [tuple(r) for r in refs]
    if finders is None:
        finders = default_finders(repo)
    found = []
    for f in finders:
        if f == "config":
            found.extend(resolve_config(repo, refs, cache_dir))
        elif f == "mount":
            found.extend(resolve_mount(repo, refs, mounts))
    results = sort_results(found)
    if not results:
        return []
    commit_metas = GHashTable()
    table = {}  # (ref index, result index) -> checksum
    alive = [True] * len(results)
    with dynamic_remotes(repo, [r.remote for r in results]):
        for i, res in enumerate(results):
            name = res.remote.name
            try:
                summary, _sig = fetch_summary(repo, name, cache_dir=cache_dir)
            except OstreeError:
                alive[i] = False
                continue
            if summary is None:
                alive[i] = False
                continue
            cid, main_refs, cmap, meta = _summary_parts(summary)
            if cid is not None and not _process_refs(repo, refs, i, name, cid, main_refs, commit_metas, table):
                alive[i] = False
                continue
            ok = True
            refspec = getattr(res.remote, "refspec_name", None)
            for mcid, entries in cmap:
                if refspec is not None and not _remote_matches_collection(repo, refspec, mcid):
                    continue
                if not _process_refs(repo, refs, i, name, mcid, entries, commit_metas, table):
                    ok = False
                    break
            if not ok:
                alive[i] = False
                continue
            lm = meta.get("ostree.summary.last-modified")
            res.summary_last_modified = gvariant.bswap64(lm.value) \
                if isinstance(lm, gvariant.Variant) and lm.type == "t" else 0
        for _c, cm in commit_metas.items():
            if cm.timestamp != 0:
                continue
            _fill_commit_timestamp(repo, cm, results, alive, table)
    latest = []
    for i in range(len(refs)):
        best = None
        for j in range(len(results)):
            c = table.get((i, j))
            if c is None:
                continue
            if best is None or commit_metas[c].timestamp > commit_metas[best].timestamp:
                best = c
        latest.append(best)
    final = []
    for j, res in enumerate(results):
        if not alive[j]:
            continue
        validated = CollectionRefTable()
        n = 0
        for i, ref in enumerate(refs):
            c = latest[i] if table.get((i, j)) == latest[i] else None
            if c is not None:
                n += 1
            validated[ref] = c
        if n == 0:
            continue
        res.ref_to_checksum = validated
        final.append(res)
    return sort_results(final)


def _remote_matches_collection(repo, remote_name, cid) -> bool:
    from ostree_py.repo.remotes import find_remote
    r = find_remote(repo, remote_name)
    rc = r.get_option("collection-id") if r is not None else None
    return bool(rc) and rc == cid


def _fill_commit_timestamp(repo, cm, results, alive, table):
    """The reference fetches the commit of a summary without timestamps and checks its
    signature against the *local* copy, which fails unless the commit is already
    stored (and then its timestamp was known): the whole search fails."""
    from ostree_py.signing import gpg
    for ref_index in cm.refs:
        for j, res in enumerate(results):
            if not alive[j] or table.get((ref_index, j)) != cm.checksum:
                continue
            try:
                r = gpg.verify_commit_ext(repo, cm.checksum, remote=res.remote.name)
                r.require_valid_signature()
            except OstreeError as e:
                raise OstreeError(f"Commit {cm.checksum}: {e.message}") from None
            cm.timestamp = repo.load_commit(cm.checksum).timestamp
            return
    raise OstreeError(f"Metadata not found for commit \u2018{cm.checksum}\u2019")


# ---------------------------------------------------------------- pulling

def pull_from_remotes(repo, results, mirror: bool = False, disable_fsync: bool = False,
                      cache_dir: str | None = None):
    """ostree_repo_pull_from_remotes: pull each result's refs, in order, in one transaction.

    A ref is pulled from the first result that delivers it; a failing remote
    is skipped. Raises ``Failed to pull some refs from the remotes: ...``
    when a ref found in some result could not be pulled from any.
    """
    from ostree_py.remote.pull import pull
    from ostree_py.repo.remotes import dynamic_remotes
    pulled = CollectionRefTable()
    with dynamic_remotes(repo, [r.remote for r in results]), repo.transaction():
        for res in results:
            todo = [(ref, c) for ref, c in res.ref_to_checksum.items() if c is not None and not pulled.get(ref)]
            if not todo:
                continue
            try:
                pull(repo, res.remote.name, collection_refs=[(cid, name, c) for (cid, name), c in todo],
                     mirror=mirror, untrusted=True, gpg_verify=True, gpg_verify_summary=False,
                     disable_sign_verify=True, disable_sign_verify_summary=True, inherit_transaction=True,
                     override_remote_name=getattr(res.remote, "refspec_name", None),
                     disable_fsync=disable_fsync, cache_dir=cache_dir)
                ok = True
            except OstreeError:
                ok = False
            for ref, _c in todo:
                pulled[ref] = ok
    failed = [ref for ref, ok in pulled.items() if not ok]
    if failed:
        raise OstreeError("Failed to pull some refs from the remotes: "
                          + ", ".join(f"({c}, {n})" for c, n in failed))


def iso8601(secs: int) -> str:
    """uint64_secs_to_iso8601: %FT%TZ, or "invalid" past year 9999."""
    if secs > 253402300799:
        return "invalid"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(secs))
