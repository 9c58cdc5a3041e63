"""``ostree pull``: fetch commits from a remote over HTTP(S) or file://.

The protocol is the reference's. The summary (and ``summary.sig``) tells
which commit each ref points to (cached in ``tmp/cache/summaries`` with its
ETag and Last-Modified when signed); without one, ``refs/heads/REF`` is
fetched. Then for each commit: its detached metadata (``.commitmeta``,
optional), the commit (marked partial in ``state/`` until all its objects are
stored), its parents up to ``depth``, and for a partial commit every dirtree,
dirmeta and ``.filez`` content object below it that is not stored yet
(limited to ``subdirs`` when given). Every object's checksum (and a
metadata object's structure) is verified before it is stored. Objects are
written as they arrive, so an interrupted pull resumes where it stopped;
refs are written only at the end, after the filesystem is synced, and
partial markers are cleared last.

A ``file://`` remote is read as a repository on this machine (objects are
hardlinked or copied as by ``pull-local``); ``localcache_repos`` are
searched for objects before the network.

Signatures: whether a pull verifies is decided here, from the remote's
configuration (gpg-verify, default true; gpg-verify-summary; sign-verify;
sign-verify-summary), with ostree_py.signing; a caller can only opt out
through the explicit options the reference has. Every commit, however it
arrives (fetched, imported from a local repository, carried by a delta
superblock, or already stored), is checked before anything of it is stored.

Downloads run on a thread pool (``fetcher.Fetcher``), metadata first.
Static deltas are found through delta indexes or the summary's list and
applied (``ostree_py.deltas``); without one a pull fetches objects, unless
``require_static_deltas``.

``pull(repo, remote, refs, ...)`` is the entry point (also for ``admin
upgrade``); ``fetch_summary`` is what ``remote summary`` / ``remote refs``
need.
"""

import contextlib
import errno
import os
import tempfile
import threading
import time
from collections import deque

from ostree_py.core import gvariant
from ostree_py.errors import (
    GVariantError,
    InvalidObjectError,
    ObjectNotFoundError,
    OstreeError,
    RefNotFoundError,
)
from ostree_py.remote.fetcher import DEFAULT_MAX_CONNECTIONS, URI, FetchError, Fetcher
from ostree_py.core.objects import COMMIT_TYPE, DIRTREE_TYPE, MAX_METADATA_SIZE, OBJTYPES, SUMMARY_TYPE, is_checksum

DEFAULT_N_NETWORK_RETRIES = 5
MAX_OUTSTANDING_FETCHES = 8
# Forked processes that fetch and write content objects over HTTP (0: threads do).
# Four kept a two-core machine busiest in `make bench` (pull of 6,000 objects from
# nginx: 6.1 s against 7.2 s with threads alone, 6.5 s for the reference).
PULL_PROCESSES = 4
SUMMARY_CACHE_DIR = "summaries"
_SPOOL_MAX = 1 << 20


# ---------------------------------------------------------------- remote configuration

def get_remote(repo, name: str):
    """The remote ``name`` (``ostree_py.repo.remotes.Remote``); a ``file://`` URL stands for itself."""
    from ostree_py.repo.remotes import get_remote as _get
    return _get(repo, name)


def new_fetcher(repo, remote, extra_headers=(), append_user_agent=None,
                low_speed_limit=None, low_speed_time=None, retry_network_errors=True,
                max_connections=None) -> Fetcher:
    """A Fetcher set up from the remote's TLS, proxy, HTTP/2 and cookie options
    (``low_speed_*`` None: the fetcher's defaults, see fetcher.LOW_SPEED_LIMIT)."""
    tls_permissive = remote.get_bool("tls-permissive", False)
    http2 = remote.get_bool("http2", True)
    cert = remote.get_option("tls-client-cert-path")
    key = remote.get_option("tls-client-key-path")
    if (cert is None) != (key is None):
        raise OstreeError(f'Remote "{remote.name}" must specify both "tls-client-cert-path" '
                          f'and "tls-client-key-path"')
    ca = remote.get_option("tls-ca-path")
    proxy = remote.get_option("proxy") or None
    jar = None
    if not remote.is_file_url:
        from ostree_py.repo.remotes import cookie_jar_path
        p = cookie_jar_path(repo, remote.name)
        if os.path.isfile(p):
            jar = p
    return Fetcher(tls_permissive=tls_permissive, tls_ca_path=ca, tls_client_cert_path=cert,
                   tls_client_key_path=key, proxy=proxy, cookie_jar=jar, extra_headers=extra_headers,
                   append_user_agent=append_user_agent, http2=http2,
                   low_speed_limit=low_speed_limit, low_speed_time=low_speed_time,
                   retry_network_errors=retry_network_errors,
                   max_connections=max_connections or DEFAULT_MAX_CONNECTIONS)


def _fetch_utf8(fetcher, mirrorlist, filename, retries) -> str:
    res = fetcher.fetch(mirrorlist, filename, max_size=MAX_METADATA_SIZE, retries=retries)
    data = res.data
    nul = data.find(b"\0")
    if nul >= 0:
        data = data[:nul]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise OstreeError("Invalid UTF-8") from None


def fetch_mirrorlist(fetcher, url: str, retries: int) -> list:
    """The mirrors listed at ``url``: http(s) base URIs, the first one checked to serve ``config``."""
    uri = URI.parse(url)
    try:
        contents = _fetch_utf8(fetcher, [uri], None, retries)
    except OstreeError as e:
        raise OstreeError(f"While fetching mirrorlist '{url}': {e.message}") from None
    out = []
    for line in contents.split("\n"):
        if not line or line.startswith("#"):
            continue
        try:
            mirror = URI.parse(line)
        except OstreeError:
            continue
        if mirror.scheme not in ("http", "https"):
            continue
        if not out:
            try:
                _fetch_utf8(fetcher, [mirror.subpath("config")], None, retries)
            except OstreeError:
                continue
        out.append(mirror)
    if not out:
        raise OstreeError(f"No valid mirrors were found in mirrorlist '{url}'")
    return out


def effective_mirrorlist(fetcher, baseurl: str, retries: int) -> list:
    """``mirrorlist=URL`` expands to the listed mirrors; anything else is one base URI."""
    if baseurl.startswith("mirrorlist="):
        return fetch_mirrorlist(fetcher, baseurl[len("mirrorlist="):], retries)
    return [URI.parse(baseurl).validate()]


# ---------------------------------------------------------------- summary cache

def _cache_dir(repo, cache_dir: str | None = None) -> str | None:
    """The directory holding ``summaries/``, or None when caching is off."""
    if cache_dir is not None:
        return cache_dir
    if os.environ.get("OSTREE_SKIP_CACHE") is not None:
        return None
    return os.path.join(repo.path, "tmp", "cache")


def load_cache_properties(cache: str | None, name: str):
    """(ETag, Last-Modified) recorded for a cached summary file, or (None, 0)."""
    if cache is None:
        return None, 0
    p = os.path.join(cache, SUMMARY_CACHE_DIR, name)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None, 0
    try:
        try:
            etag = os.getxattr(fd, "user.etag")
            etag = None if (not etag or b"\0" in etag) else etag.decode("utf-8", "replace")
        except OSError:
            etag = None
        return etag, int(os.fstat(fd).st_mtime)
    finally:
        os.close(fd)


def load_cache_file(cache: str | None, name: str) -> bytes | None:
    if cache is None:
        return None
    try:
        with open(os.path.join(cache, SUMMARY_CACHE_DIR, name), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise OstreeError(f"openat({SUMMARY_CACHE_DIR}/{name}): {e.strerror}") from None


def store_cache_properties(path: str, etag: str | None, last_modified: int) -> None:
    """Record ETag (user.etag xattr) and Last-Modified (mtime) on a file; failures are ignored."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            if etag is not None:
                os.setxattr(fd, "user.etag", etag.encode("utf-8"))
            else:
                os.removexattr(fd, "user.etag")
        if last_modified > 0:
            with contextlib.suppress(OSError):
                st = os.fstat(fd)
                os.utime(fd, ns=(st.st_atime_ns, last_modified * 10 ** 9))
    finally:
        os.close(fd)


def save_cache_file(repo, cache: str | None, name: str, data: bytes, etag, last_modified) -> None:
    if cache is None:
        return
    from ostree_py.util.fs import write_atomic
    d = os.path.join(cache, SUMMARY_CACHE_DIR)
    try:
        os.makedirs(d, 0o755, exist_ok=True)
        p = os.path.join(d, name)
        write_atomic(p, data, fsync=repo.fsync)
    except PermissionError:
        return
    store_cache_properties(p, etag, last_modified)


def _load_cached_if_same_sig(cache, remote, sig: bytes):
    old = load_cache_file(cache, remote + ".sig")
    if old is None or old != sig:
        return None
    data = load_cache_file(cache, remote)
    if data is None:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(cache, SUMMARY_CACHE_DIR, remote + ".sig"))
    return data


# ---------------------------------------------------------------- summary parsing

class Summary:
    """A parsed summary: refs per collection, commit sizes, metadata."""

    def __init__(self, data: bytes):
        try:
            refs, meta = gvariant.deserialize(SUMMARY_TYPE, data)
        except GVariantError:
            raise OstreeError("Not normal form") from None
        if gvariant.serialize(SUMMARY_TYPE, (refs, meta)) != bytes(data):
            raise OstreeError("Not normal form")
        self.data = data
        self.metadata = meta
        self.collection_id = self._meta_str("ostree.summary.collection-id")
        self.refs = {name: (size, csum) for name, (size, csum, _md) in refs}
        self.ref_names = [name for name, _ in refs]
        cmap = meta.get("ostree.summary.collection-map")
        self.collection_map = {}
        if isinstance(cmap, gvariant.Variant) and cmap.type == "a{sa(s(taya{sv}))}":
            for cid, entries in cmap.value.items():
                self.collection_map[cid] = {n: (s, c) for n, (s, c, _m) in entries}

    def _meta_str(self, key):
        v = self.metadata.get(key)
        return v.value if isinstance(v, gvariant.Variant) and v.type == "s" else None

    def meta_bool(self, key):
        v = self.metadata.get(key)
        return v.value if isinstance(v, gvariant.Variant) and v.type == "b" else None

    def lookup(self, collection_id: str | None, ref: str):
        """(commit checksum, commit size, collection id) of a ref, with the reference's errors."""
        from ostree_py.core.objects import validate_collection_id
        if collection_id is None or collection_id == self.collection_id:
            table, resolved = self.refs, self.collection_id
        else:
            table, resolved = self.collection_map.get(collection_id), collection_id
        if table is None or ref not in table:
            if collection_id is not None:
                raise OstreeError(f"No such branch ({collection_id}, {ref}) in repository summary")
            raise OstreeError(f"No such branch '{ref}' in repository summary")
        size, csum = table[ref]
        if resolved is not None:
            validate_collection_id(resolved)
        if len(csum) != 32:
            raise InvalidObjectError(f"Invalid checksum of length {len(csum)} expected 32")
        return csum.hex(), size, resolved

    def deltas(self) -> dict:
        """Delta name -> superblock digest, from ``ostree.static-deltas``."""
        v = self.metadata.get("ostree.static-deltas")
        return _deltas_from_dict(v.value if isinstance(v, gvariant.Variant) and v.type == "a{sv}" else None)


def _deltas_from_dict(d) -> dict:
    out = {}
    for name, csum in (d or {}).items():
        if not (isinstance(csum, gvariant.Variant) and csum.type == "ay"):
            t = csum.type if isinstance(csum, gvariant.Variant) else "?"
            raise OstreeError(f"Invalid checksum variant of type '{t}', expected 'ay'")
        if len(csum.value) != 32:
            raise InvalidObjectError(f"Invalid checksum of length {len(csum.value)} expected 32")
        out[name] = bytes(csum.value)
    return out


# ---------------------------------------------------------------- results and progress

class PullResult:
    """Counters of a pull, and the reference's closing status line."""

    def __init__(self):
        self.local = False
        self.n_fetched_metadata = 0
        self.n_fetched_content = 0
        self.n_requested_metadata = 0
        self.n_requested_content = 0
        self.n_imported_metadata = 0
        self.n_imported_content = 0
        self.n_scanned_metadata = 0
        self.n_fetched_deltaparts = 0
        self.n_total_deltaparts = 0
        self.n_fetched_deltapart_fallbacks = 0
        self.n_total_delta_fallbacks = 0
        self.fetched_deltapart_size = 0
        self.total_deltapart_size = 0
        self.total_deltapart_usize = 0
        self.bytes_transferred = 0
        self.seconds = 0
        self.content_bytes_written = 0
        self.inherit_transaction = False
        self.refs: dict = {}  # (collection id, ref) -> checksum
        self.commits: list = []

    def status(self) -> str:
        """``N metadata, M content objects fetched; K KiB transferred in S seconds; X content written``."""
        from ostree_py.util.text import format_size
        if self.local:
            s = f"{self.n_imported_metadata} metadata, {self.n_imported_content} content objects imported"
        elif self.n_fetched_deltaparts > 0:
            s = (f"{self.n_fetched_deltaparts} delta parts, "
                 f"{self.n_fetched_metadata + self.n_fetched_content} loose fetched")
        else:
            s = f"{self.n_fetched_metadata} metadata, {self.n_fetched_content} content objects fetched"
        if not self.local and (self.n_imported_metadata or self.n_imported_content):
            s += f" ({self.n_imported_metadata} meta, {self.n_imported_content} content local)"
        b = self.bytes_transferred
        if b > 0:
            if b < 1024:
                s += f"; {b} B transferred in {self.seconds} seconds"
            else:
                s += f"; {b // 1024} KiB transferred in {self.seconds} seconds"
        if not self.inherit_transaction:
            s += f"; {format_size(self.content_bytes_written)} content written"
        return s


def dry_run_status(r: "PullResult") -> str:
    """The line ``pull --dry-run`` prints: what the static deltas would download."""
    from ostree_py.util.text import format_size
    fetched = r.n_fetched_deltaparts + r.n_fetched_deltapart_fallbacks
    total = r.n_total_deltaparts + r.n_total_delta_fallbacks
    return (f"Delta update: {fetched}/{total} parts, {format_size(r.fetched_deltapart_size)}/"
            f"{format_size(r.total_deltapart_size)}, {format_size(r.total_deltapart_usize)} total uncompressed")


class PullProgress:
    """A snapshot of a running pull for progress displays (the reference's progress keys)."""

    __slots__ = ("outstanding_fetches", "outstanding_writes", "outstanding_metadata_fetches",
                 "fetched", "requested", "metadata_fetched", "scanning", "scanned_metadata",
                 "bytes_transferred", "start_time", "imported_metadata", "imported_content",
                 "caught_error")

    def text(self) -> str:
        """The line the reference's console progress shows."""
        from ostree_py.util.text import format_size
        if self.caught_error:
            return "Caught error, waiting for outstanding tasks"
        if self.outstanding_fetches:
            elapsed = time.monotonic() - self.start_time
            if elapsed < 1 or self.bytes_transferred == 0:
                rate = "-"
            else:
                rate = format_size(int(self.bytes_transferred / int(elapsed)))
            total = format_size(self.bytes_transferred)
            if self.scanning or self.outstanding_metadata_fetches:
                return f"Receiving metadata objects: {self.metadata_fetched}/(estimating) {rate}/s {total}"
            pct = int(self.fetched / self.requested * 100) if self.requested else 0
            return f"Receiving objects: {pct}% ({self.fetched}/{self.requested}) {rate}/s {total}"
        if self.outstanding_writes:
            return f"Writing objects: {self.outstanding_writes}"
        return f"Scanning metadata: {self.scanned_metadata}"


# ---------------------------------------------------------------- helpers

def _matches_pull_dir(current: str, pull_dir: str, is_dir: bool) -> bool:
    if pull_dir.startswith(current):
        rest = pull_dir[len(current):]
        if rest == "":
            return True
        if rest[0] == "/":
            return is_dir
        return False
    if current.startswith(pull_dir):
        rest = current[len(pull_dir):]
        return rest[:1] == "/"
    return False


def compare_timestamps(current_rev: str, current_ts: int, new_rev: str, new_ts: int) -> None:
    """Refuse a downgrade: ``new_rev`` older than ``current_rev`` (equal timestamps pass)."""
    if new_ts > current_ts:
        return
    if new_ts == current_ts or current_rev == new_rev:
        return

    def fmt(ts):
        try:
            return time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(ts))
        except (OverflowError, ValueError, OSError):
            return None
    cur, new = fmt(current_ts), fmt(new_ts)
    if cur is None or new is None:
        raise OstreeError(f"Upgrade target revision '{new_rev}' timestamp ({new_ts}) or current revision "
                          f"'{current_rev}' timestamp ({current_ts}) is invalid")
    raise OstreeError(f"Upgrade target revision '{new_rev}' with timestamp '{new}' is chronologically older "
                      f"than current revision '{current_rev}' with timestamp '{cur}'; use --allow-downgrade "
                      f"to permit")


def _commit_timestamp(repo, checksum: str) -> int:
    data = repo.load_metadata_bytes("commit", checksum)
    try:
        return gvariant.bswap64(gvariant.deserialize(COMMIT_TYPE, data)[5])
    except GVariantError:
        raise InvalidObjectError(f"Corrupted commit object {checksum}") from None


def _object_relpath(checksum: str, objtype: str) -> str:
    ext = "filez" if objtype == "file" else OBJTYPES[objtype]
    return f"objects/{checksum[:2]}/{checksum[2:]}.{ext}"


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Missing:
    """Sentinel result: a parent commit the remote does not have."""


class _Retry:
    """Result of an object request the server asked to try again (408, 429, 5xx):
    it goes back in the queue with ``retries`` retries left."""

    __slots__ = ("retries",)

    def __init__(self, retries: int):
        self.retries = retries

    def __reduce__(self):
        return (_Retry, (self.retries,))


# ---------------------------------------------------------------- the pull

class _Pull:
    def __init__(self, repo, remote_name_or_url: str, opts: dict):
        self.repo = repo
        self.src_name = remote_name_or_url
        self.o = opts
        self.res = PullResult()
        self.maxdepth = opts["depth"]
        self.commit_only = opts["commit_metadata_only"]
        self.is_mirror = opts["mirror"]
        self.dirs = list(opts["subdirs"]) if opts["subdirs"] else None
        self.n_retries = opts["n_network_retries"]
        self.disable_static_deltas = opts["disable_static_deltas"]
        self.require_static_deltas = opts["require_static_deltas"]
        self.dry_run = opts["dry_run"]
        self.timestamp_check = opts["timestamp_check"]
        self.timestamp_check_from_rev = opts["timestamp_check_from_rev"]
        self.verify_bindings = not opts["disable_verify_bindings"]
        self.per_object_fsync = opts["per_object_fsync"]
        self.progress_cb = opts["progress"]
        self.remote_name = opts["override_remote_name"]
        # override-remote-name: where refs are written (remote_refspec_name)
        self.refspec_name = opts["override_remote_name"]
        self.remote = None
        self.fetcher = None
        self.meta_mirrorlist = None
        self.content_mirrorlist = None
        self.remote_local = None
        self.localcache = []
        self.trusted = False
        self.trusted_http_direct = False
        self.verify_bareuseronly = opts["bareuseronly_files"]
        self.summary = None
        self.summary_data = None
        self.summary_sig = None
        self.summary_etag = None
        self.summary_last_modified = 0
        self.summary_sig_etag = None
        self.summary_sig_last_modified = 0
        self.has_tombstone_commits = False
        self.has_indexed_deltas = False
        self.summary_deltas = {}
        self.summary_has_deltas = False
        self.expected_commit_sizes = {}
        self.gpg_verify = False
        self.gpg_verify_summary = False
        self.remote_collection_id = None
        # walk state
        self.scan_queue = deque()
        self.scanned = set()
        self.requested_metadata = set()
        self.requested_content = set()
        self.fetched_detached = {}
        # detached metadata waiting for its commit's signature check before it is stored
        self._pending_detached = {}
        self.commit_to_depth = {}
        self.ref_original_commits = {}
        self.pending_meta = deque()
        self.pending_content = deque()
        self.error = None
        self.n_outstanding_meta = 0
        self.n_outstanding_content = 0
        self.n_outstanding_writes = 0
        self.start = time.monotonic()
        self.max_jobs = opts["max_outstanding"]
        self._procs = None
        self._counter_lock = threading.Lock()
        self._importers = {}
        self._verified = set()
        self._sign_verified = set()
        self.sign_commit = None
        self.sign_summary = None
        # commits this pull wrote (not stored before) and marked partial: what a refused
        # pull removes again (see _discard_unverified)
        self._new_commits = set()
        self._refused = False

    # ------------------------------------------------------------ setup
    def setup(self):
        repo, o = self.repo, self.o
        name = self.src_name
        if name.startswith("file://"):
            if (o["gpg_verify"] or o["gpg_verify_summary"]) and self.remote_name is None:
                raise OstreeError("Must specify remote name to enable gpg verification")
            self.remote = get_remote(repo, name)
            self.gpg_verify = bool(o["gpg_verify"])
            self.gpg_verify_summary = bool(o["gpg_verify_summary"])
        else:
            self.remote_name = name
            self.remote = get_remote(repo, name)
            r = self.remote
            self.gpg_verify = o["gpg_verify"] if o["gpg_verify"] is not None else r.get_bool("gpg-verify", True)
            self.gpg_verify_summary = o["gpg_verify_summary"] if o["gpg_verify_summary"] is not None else \
                r.get_bool("gpg-verify-summary", False)
            state = r.get_option("unconfigured-state")
            if state is not None:
                raise OstreeError(f"remote unconfigured-state: {state}")
            backend = r.get_option("custom-backend")
            if backend is not None:
                raise OstreeError(f"Cannot fetch via libostree - remote '{name}' uses custom backend '{backend}'")
            cid = r.get_option("collection-id")
            self.remote_collection_id = cid or None
        if self.remote_name:
            self._init_signapi()
        self.fetcher = new_fetcher(repo, self.remote, o["http_headers"], o["append_user_agent"],
                                   o["low_speed_limit"], o["low_speed_time"], o["retry_network_errors"],
                                   o["max_outstanding"])

        metalink_url = self.remote.get_option("metalink")
        url_override = o["override_url"]
        if metalink_url is None:
            base = url_override if url_override is not None else self.remote.url
            self.meta_mirrorlist = effective_mirrorlist(self.fetcher, base, self.n_retries)
        else:
            from ostree_py.remote.metalink import metalink_request
            target, data = metalink_request(self.fetcher, URI.parse(metalink_url), "summary",
                                            MAX_METADATA_SIZE, self.n_retries)
            self.meta_mirrorlist = [target.with_path(os.path.dirname(target.path))]
            self.summary = Summary(data)
        if metalink_url is None and url_override is not None:
            contenturl = url_override
        else:
            contenturl = self.remote.get_option("contenturl")
        if contenturl is None:
            self.content_mirrorlist = self.meta_mirrorlist
        else:
            self.content_mirrorlist = effective_mirrorlist(self.fetcher, contenturl, self.n_retries)

        first = self.meta_mirrorlist[0]
        if first.scheme == "file" and not self.require_static_deltas:
            from ostree_py.remote.pull_local import open_source_repo
            try:
                self.remote_local = open_source_repo(first.local_path())
            except OstreeError as e:
                raise OstreeError(f"opening repo: {e.message}") from None
        if self.remote_local is not None:
            if not self.require_static_deltas:
                self.disable_static_deltas = True
            self.trusted = not o["untrusted"]
            self.res.local = True
            self.remote_collection_id = self.remote_local.collection_id or None
        else:
            self.trusted = o["http_trusted"] and not o["untrusted"]
            self.trusted_http_direct = (self.is_mirror and repo.mode == "archive" and self.trusted
                                        and not self.verify_bareuseronly)
        if repo.mode == "archive":
            if self.require_static_deltas:
                raise OstreeError("Can't use static deltas in an archive repo")
            self.disable_static_deltas = True
        if self.commit_only:
            self.disable_static_deltas = True
        for path in o["localcache_repos"]:
            from ostree_py.repo import Repo
            self.localcache.append(Repo.open(path))

    def _init_signapi(self):
        """_signapi_init_for_remote: the sign-API engines the remote's ``sign-verify`` and
        ``sign-verify-summary`` ask for (ostree_py.signing), unless the caller opted out
        with ``disable_sign_verify`` / ``disable_sign_verify_summary``."""
        from ostree_py.signing import verifiers_from_config
        o = self.o
        if not o["disable_sign_verify"]:
            self.sign_commit = verifiers_from_config(self.repo, self.remote_name, "sign-verify")
        if not o["disable_sign_verify_summary"]:
            self.sign_summary = verifiers_from_config(self.repo, self.remote_name, "sign-verify-summary")

    # ------------------------------------------------------------ summary
    def load_summary(self, need_summary: bool, require_summary_for_mirror: bool):
        o = self.o
        name = self.src_name
        cache = _cache_dir(self.repo, o["cache_dir"]) if not self.remote_local else None
        sig = summary = None
        summary_from_cache = False
        if need_summary:
            if o["summary_bytes"] is not None:
                summary, sig = o["summary_bytes"], o["summary_sig_bytes"]
            else:
                etag, lm = load_cache_properties(cache, name + ".sig") if not self.remote_local else (None, 0)
                r = self.fetcher.fetch(self.meta_mirrorlist, "summary.sig", optional=True,
                                       max_size=MAX_METADATA_SIZE, if_none_match=etag, if_modified_since=lm,
                                       retries=self.n_retries)
                if r is not None:
                    # (a 304 answer carries the ETag and Last-Modified to record too)
                    self.summary_sig_etag, self.summary_sig_last_modified = r.etag, r.last_modified
                    if r.not_modified:
                        sig = load_cache_file(cache, name + ".sig")
                        summary = load_cache_file(cache, name) if not self.remote_local else None
                    else:
                        sig = r.data
                if sig is not None and summary is None and not self.remote_local:
                    summary = _load_cached_if_same_sig(cache, name, sig)
                if summary is not None:
                    summary_from_cache = True
                if self.summary is None and summary is None:
                    etag, lm = load_cache_properties(cache, name) if not self.remote_local else (None, 0)
                    r = self.fetcher.fetch(self.meta_mirrorlist, "summary", optional=True,
                                           max_size=MAX_METADATA_SIZE, if_none_match=etag,
                                           if_modified_since=lm, retries=self.n_retries)
                    if r is not None:
                        self.summary_etag, self.summary_last_modified = r.etag, r.last_modified
                        if r.not_modified:
                            summary = load_cache_file(cache, name)
                        else:
                            summary = r.data
            gpg_summary = self.gpg_verify_summary
            if summary is None and gpg_summary:
                raise OstreeError("GPG verification enabled, but no summary found (use gpg-verify-summary=false "
                                  "in remote config to disable)")
            if summary is None and require_summary_for_mirror:
                raise OstreeError("Fetching all refs was requested in mirror mode, but remote repository does "
                                  "not have a summary")
            if sig is None and gpg_summary:
                raise OstreeError("GPG verification enabled, but no summary.sig found (use gpg-verify-summary="
                                  "false in remote config to disable)")
            if self.sign_summary and sig is None:
                raise OstreeError("Signatures verification enabled, but no summary.sig found (use "
                                  "sign-verify-summary=false in remote config to disable)")
            if summary is not None and sig is not None and (gpg_summary or self.sign_summary):
                try:
                    self._verify_summary(summary, sig, gpg_summary)
                except OstreeError:
                    if not summary_from_cache:
                        raise
                    # The cached summary does not match the signature: fetch it
                    # afresh (no cache headers) and verify again.
                    if "invalid-cache" in os.environ.get("OSTREE_REPO_TEST_ERROR", "").split(","):
                        raise OstreeError(f"Remote {name} cached summary invalid and "
                                          f"OSTREE_REPO_TEST_ERROR_INVALID_CACHE specified") from None
                    summary_from_cache = False
                    r = self.fetcher.fetch(self.meta_mirrorlist, "summary", optional=True,
                                           max_size=MAX_METADATA_SIZE, retries=self.n_retries)
                    summary = None if r is None else r.data
                    if r is not None:
                        self.summary_etag, self.summary_last_modified = r.etag, r.last_modified
                    self._verify_summary(summary, sig, gpg_summary)
            if summary is not None:
                self.summary_data = summary
                self.summary = Summary(summary)
                self.summary_sig = sig
            if not summary_from_cache and summary is not None and sig is not None \
                    and o["summary_bytes"] is None and not self.remote_local:
                save_cache_file(self.repo, cache, name, summary, self.summary_etag, self.summary_last_modified)
                save_cache_file(self.repo, cache, name + ".sig", sig, self.summary_sig_etag,
                                self.summary_sig_last_modified)
        remote_mode = None
        if self.summary is not None and need_summary:
            s = self.summary
            from ostree_py.core.objects import validate_collection_id, validate_ref
            if s.collection_id is not None:
                validate_collection_id(s.collection_id)
            for ref in s.ref_names:
                validate_ref(ref)
            for cid, refs in s.collection_map.items():
                validate_collection_id(cid)
                for ref in refs:
                    validate_ref(ref)
            self.summary_deltas = s.deltas()
            self.summary_has_deltas = bool(self.summary_deltas)
            if s.meta_bool("ostree.summary.indexed-deltas"):
                self.has_indexed_deltas = True
            mode = s._meta_str("ostree.summary.mode")
            tomb = s.meta_bool("ostree.summary.tombstone-commits")
            if mode is not None and tomb is not None:
                remote_mode = mode
                self.has_tombstone_commits = tomb
        if self.require_static_deltas and not self.has_indexed_deltas and not self.summary_has_deltas:
            raise OstreeError("Fetch configured to require static deltas, but no summary deltas or delta index found")
        if remote_mode is not None and self.remote_local is None:
            # As the reference: with the mode known from the summary, the remote's
            # config is still fetched and has the last word.
            kf = self._remote_repo_config()
            remote_mode = kf.get("core", "mode", "bare")
            self.has_tombstone_commits = kf.get_boolean("core", "tombstone-commits", False)
            from ostree_py.repo import MODE_ALIASES, MODES
            m = MODE_ALIASES.get(remote_mode, remote_mode)
            if m not in MODES:
                raise OstreeError(f"Invalid mode '{remote_mode}' in repository configuration")
            if m != "archive":
                raise OstreeError(f'Can\'t pull from archives with mode "{remote_mode}"')

    def _remote_repo_config(self):
        from ostree_py.core.keyfile import KeyFile
        text = _fetch_utf8(self.fetcher, self.meta_mirrorlist, "config", self.n_retries)
        try:
            return KeyFile.parse(text)
        except OstreeError as e:
            raise OstreeError(f"Parsing config: {e.message}") from None

    def _verify_summary(self, summary, sig, gpg_summary):
        """GPG then sign-API checks of the summary (ostree_py.signing)."""
        from ostree_py.signing import gpg, verify_summary_signapi
        try:
            if gpg_summary:
                gpg.verify_summary(self.repo, self.remote_name, summary, sig)
            if self.sign_summary:
                verify_summary_signapi(self.sign_summary, summary, sig)
        except OstreeError:
            self._refused = True
            raise

    # ------------------------------------------------------------ refs
    def resolve_targets(self, refs, override_commit_ids, collection_refs, configured_branches):
        """Fill requested refs -> commit and explicit commits; return need_summary flags."""
        from ostree_py.core.objects import validate_checksum_string, validate_ref
        self.commits_to_fetch = []
        self.requested = {}  # (cid, ref) -> override checksum or None
        require_summary_for_mirror = False
        if self.is_mirror and refs is None and collection_refs is None and not configured_branches:
            require_summary_for_mirror = True
        elif collection_refs is not None:
            for cid, ref, csum in collection_refs:
                validate_ref(ref)
                self.requested[(cid, ref)] = csum or None
        elif refs is not None:
            for i, branch in enumerate(refs):
                override = override_commit_ids[i] if override_commit_ids else None
                if is_checksum(branch):
                    if branch not in self.commits_to_fetch:
                        self.commits_to_fetch.append(branch)
                    continue
                validate_ref(branch)
                if override:
                    validate_checksum_string(override)
                self.requested[(None, branch)] = override or None
        else:
            if not configured_branches:
                raise OstreeError(f"No configured branches for remote {self.src_name}")
            for b in configured_branches:
                self.requested[(None, b)] = None
        need_summary = (require_summary_for_mirror or any(not v for v in self.requested.values())
                        or self.o["summary_sig_bytes"] is not None)
        if not need_summary and not self.disable_static_deltas:
            kf = self._remote_repo_config()
            self.has_indexed_deltas = kf.get_boolean("core", "indexed-deltas", False)
            if not self.has_indexed_deltas:
                need_summary = True
        return need_summary, require_summary_for_mirror

    def resolve_refs(self, refs_given, collection_refs_given, configured_branches):
        s = self.summary
        if self.is_mirror and s is not None and refs_given is None and collection_refs_given is None:
            for ref in s.ref_names:
                self.requested.setdefault((s.collection_id, ref), None)
            for cid, table in s.collection_map.items():
                for ref in table:
                    self.requested.setdefault((cid, ref), None)
        resolved = {}
        for (cid, ref), override in self.requested.items():
            if override:
                key, csum = (cid, ref), override
            elif s is not None:
                csum, size, rcid = s.lookup(cid, ref)
                key = (rcid, ref)
                self.expected_commit_sizes[csum] = size
            else:
                csum = self._fetch_ref_contents(cid, ref)
                key = (cid, ref)
            if self.timestamp_check:
                self.ref_original_commits[key] = self.repo.resolve_rev(ref, True)
            resolved[key] = csum
        self.requested = resolved
        if self.timestamp_check_from_rev and not is_checksum(self.timestamp_check_from_rev):
            self.timestamp_check_from_rev = self.repo.resolve_rev(self.timestamp_check_from_rev, False)

    def _fetch_ref_contents(self, cid, ref):
        from ostree_py.core.objects import validate_checksum_string
        if self.remote_local is not None:
            if cid is not None:
                # ostree_repo_resolve_collection_ref: remotes' refs count too
                from ostree_py.repo.reflist import list_collection_refs
                c = list_collection_refs(self.remote_local, cid).get((cid, ref))
                if c is None:
                    raise RefNotFoundError(f"Could not find collection-ref ({cid}, {ref})")
            else:
                try:
                    c = self.remote_local.resolve_rev_ext(ref, False)
                except RefNotFoundError:
                    raise
        else:
            main_cid = self.summary.collection_id if self.summary is not None else None
            if cid is None or cid == main_cid:
                filename = f"refs/heads/{ref}"
            else:
                filename = f"refs/mirrors/{cid}/{ref}"
            c = _fetch_utf8(self.fetcher, self.meta_mirrorlist, filename, self.n_retries).rstrip()
        try:
            validate_checksum_string(c)
        except OstreeError as e:
            raise OstreeError(f"Fetching checksum for ref ({cid or '(empty)'}, {ref}): {e.message}") from None
        return c

    # ------------------------------------------------------------ job plumbing
    def _submit(self, fn, args, on_done, kind):
        self.pending_meta.append((fn, args, on_done, kind)) if kind != "content" else \
            self.pending_content.append((fn, args, on_done, kind))

    def _fill(self, pool):
        while pool.running < self.max_jobs and (self.pending_meta or self.pending_content):
            q = self.pending_meta if self.pending_meta else self.pending_content
            if q is self.pending_content and self._procs is not None \
                    and self.n_outstanding_content >= self._procs.size:
                # every worker process has an object: the threads left are for metadata
                # (the walk waits for it) instead of waiting for a process in turn
                break
            fn, args, on_done, kind = q.popleft()
            pool.submit((on_done, kind, fn, args), fn, args)
            if kind == "content":
                self.n_outstanding_content += 1
            elif kind == "write":
                self.n_outstanding_writes += 1
            else:
                self.n_outstanding_meta += 1

    def _fail(self, e):
        if self.error is None:
            self.error = e
        self.scan_queue.clear()
        self.pending_meta.clear()
        self.pending_content.clear()

    def _loop(self, pool):
        interval = (self.o["update_frequency"] or 1000) / 1000.0
        next_tick = time.monotonic() + interval
        while True:
            n = 0
            while self.scan_queue and self.error is None and n < 256:
                item = self.scan_queue.popleft()
                try:
                    self._scan_one(*item)
                except OstreeError as e:
                    self._fail(e)
                n += 1
                if pool.running < self.max_jobs and (self.pending_meta or self.pending_content) \
                        and n % 16 == 0:
                    self._fill(pool)
            self._fill(pool)
            if not pool.running:
                if self.scan_queue or self.pending_meta or self.pending_content:
                    continue
                break
            timeout = max(0.0, next_tick - time.monotonic()) if self.progress_cb else None
            for (on_done, kind, fn, args), ok, result in pool.collect(timeout):
                if kind == "content":
                    self.n_outstanding_content -= 1
                elif kind == "write":
                    self.n_outstanding_writes -= 1
                else:
                    self.n_outstanding_meta -= 1
                if not ok:
                    if isinstance(result, OstreeError):
                        self._fail(result)
                    elif isinstance(result, OSError):
                        self._fail(OstreeError(_oserror_text(result)))
                    else:
                        raise result
                    continue
                if isinstance(result, _Retry):
                    # the server asked to try again: after the requests waiting now
                    if self.error is None:
                        self._submit(fn, args[:-1] + (result.retries,), on_done, kind)
                    continue
                if self.error is None and on_done is not None:
                    try:
                        on_done(result)
                    except OstreeError as e:
                        self._fail(e)
            if self.progress_cb and time.monotonic() >= next_tick:
                self.progress_cb(self.snapshot())
                next_tick = time.monotonic() + interval
        if self.error is not None:
            raise self.error

    def snapshot(self) -> PullProgress:
        p = PullProgress()
        r = self.res
        p.outstanding_fetches = self.n_outstanding_meta + self.n_outstanding_content
        p.outstanding_writes = self.n_outstanding_writes
        p.outstanding_metadata_fetches = self.n_outstanding_meta
        p.fetched = r.n_fetched_metadata + r.n_fetched_content
        p.requested = r.n_requested_metadata + r.n_requested_content
        p.metadata_fetched = r.n_fetched_metadata
        p.scanning = 1 if self.scan_queue else 0
        p.scanned_metadata = r.n_scanned_metadata
        p.bytes_transferred = self.fetcher.bytes_transferred if self.fetcher else 0
        p.start_time = self.start
        p.imported_metadata = r.n_imported_metadata
        p.imported_content = r.n_imported_content
        p.caught_error = self.error is not None
        return p

    # ------------------------------------------------------------ requests
    def initiate_request(self, ref, to_revision):
        if self.disable_static_deltas:
            self._queue_scan("commit", to_revision, None, 0, ref)
            return
        delta_from = None
        if ref is not None:
            spec = f"{self.remote_name}:{ref[1]}" if self.remote_name else ref[1]
            delta_from = self.repo.resolve_rev(spec, True)
        if self.has_indexed_deltas:
            self._enqueue_delta_index(to_revision, delta_from, ref)
        elif self.summary_has_deltas:
            self._initiate_delta_request(ref, to_revision, delta_from)
        elif ref is not None:
            if delta_from and self.repo.is_commit_partial(delta_from):
                delta_from = None
            if delta_from and delta_from == to_revision:
                self._queue_scan("commit", to_revision, None, 0, ref)
            else:
                self._enqueue_superblock(delta_from, to_revision, ref)
        else:
            self._enqueue_superblock(None, to_revision, None)

    def _initiate_delta_request(self, ref, to_revision, delta_from):
        result, frm = self._best_delta_start(to_revision)
        if result == "no-match":
            if self.require_static_deltas:
                raise OstreeError(f"Static deltas required, but none found for "
                                  f"{ref[1] if ref else ''} to {to_revision}")
            self._queue_scan("commit", to_revision, None, 0, ref)
        elif result == "from":
            self._enqueue_superblock(frm, to_revision, ref)
        elif result == "scratch":
            if delta_from is not None:
                self._queue_scan("commit", to_revision, None, 0, ref)
            else:
                self._enqueue_superblock(None, to_revision, ref)
        else:  # unchanged
            if not self.require_static_deltas:
                self._queue_scan("commit", to_revision, None, 0, ref)

    def _best_delta_start(self, to_revision):
        repo = self.repo
        if repo.has_object("commit", to_revision) and not repo.is_commit_partial(to_revision):
            return "unchanged", None
        result = "no-match"
        candidates = []
        from ostree_py.repo.summary import parse_delta_name
        for name in self.summary_deltas:
            frm, to = parse_delta_name(name)
            if to != to_revision:
                continue
            if frm:
                candidates.append(frm)
            else:
                result = "scratch"
        best, best_ts = None, 0
        for c in candidates:
            if not repo.has_object("commit", c) or repo.is_commit_partial(c):
                continue
            ts = _commit_timestamp(repo, c)
            if best is None or ts > best_ts:
                best, best_ts = c, ts
        if best is not None:
            return "from", best
        return result, None

    def _enqueue_delta_index(self, to_revision, delta_from, ref):
        from ostree_py.repo.summary import delta_index_path
        self.res.n_requested_metadata += 1

        def job():
            r = self.fetcher.fetch(self.content_mirrorlist, delta_index_path(to_revision), optional=True,
                                   max_size=MAX_METADATA_SIZE, retries=self.n_retries)
            return None if r is None else r.data

        def done(data):
            self.res.n_fetched_metadata += 1
            if data is not None:
                try:
                    idx = gvariant.deserialize("a{sv}", data)
                except GVariantError:
                    idx = {}
                v = idx.get("ostree.static-deltas")
                self.summary_deltas.update(
                    _deltas_from_dict(v.value if isinstance(v, gvariant.Variant) and v.type == "a{sv}" else None))
            self._initiate_delta_request(ref, to_revision, delta_from)
        self._submit(job, (), done, "meta")

    def _enqueue_superblock(self, frm, to, ref):
        from ostree_py.repo.summary import delta_superblock_path
        self.res.n_requested_metadata += 1

        def job():
            r = self.fetcher.fetch(self.content_mirrorlist, delta_superblock_path(frm, to), optional=True,
                                   max_size=MAX_METADATA_SIZE, retries=self.n_retries)
            return None if r is None else r.data

        def done(data):
            self.res.n_fetched_metadata += 1
            if data is None:
                if self.require_static_deltas:
                    raise OstreeError(f"Static deltas required, but none found for {frm} to {to}")
                self._queue_scan("commit", to, None, 0, ref)
                return
            import hashlib
            name = f"{frm}-{to}" if frm else to
            want = self.summary_deltas.get(name)
            if self.gpg_verify_summary and want is None:
                raise OstreeError("GPG verification enabled, but no summary signatures found (use "
                                  "gpg-verify-summary=false in remote config to disable)")
            if want is not None and hashlib.sha256(data).digest() != want:
                raise OstreeError(f"Invalid checksum for static delta {name}")
            self._process_delta(frm, to, data, ref)
        self._submit(job, (), done, "meta")

    def _process_delta(self, frm, to, superblock: bytes, ref):
        """Apply a static delta (``ostree_py.deltas``), then scan its commit.

        The target commit (with its detached metadata) comes from the
        superblock and is written here, marked partial, after verification;
        the parts not already satisfied are fetched and executed off the
        main thread (inline parts need no fetch). The commit scan that
        follows fetches what the delta does not carry (fallback objects).
        """
        from ostree_py.deltas import format as dfmt
        from ostree_py.deltas.apply import apply_parts, spool_file
        from ostree_py.core.objects import OBJTYPE_BY_ID
        sb = dfmt.parse_superblock(superblock)
        if sb.to_checksum != to:
            raise OstreeError(f"Invalid static delta {dfmt.delta_name(frm, to)}: its target is {sb.to_checksum}")
        repo = self.repo
        res = self.res
        # The sizes a dry run reports (and the progress display shows), as the reference counts them.
        for objtype, csum, size, usize in sb.fallbacks:
            res.n_total_delta_fallbacks += 1
            res.total_deltapart_size += size
            res.total_deltapart_usize += usize
            if objtype in OBJTYPE_BY_ID and repo.has_object(OBJTYPE_BY_ID[objtype], csum.hex()):
                res.fetched_deltapart_size += size
            if objtype != 1 and not self.dry_run:
                raise OstreeError(f"Found metadata object as fallback: {csum.hex()}."
                                  f"{OBJTYPES.get(OBJTYPE_BY_ID.get(objtype), objtype)}")
        from ostree_py.deltas.apply import have_all_objects
        res.n_total_deltaparts += len(sb.parts)
        for _version, _csum, size, usize, objects in sb.parts:
            res.total_deltapart_size += size
            res.total_deltapart_usize += usize
            if have_all_objects(repo, objects):
                res.fetched_deltapart_size += size
                res.n_fetched_deltaparts += 1
        # As the reference: the uncompressed size of every part (had or not) must fit in the
        # filesystem's free blocks, checked once the superblock is read, dry run included.
        vfs = os.statvfs(repo.path)
        if res.total_deltapart_usize // vfs.f_bsize > vfs.f_bfree:
            from ostree_py.util.text import format_size
            raise OstreeError(f"Delta requires {format_size(res.total_deltapart_usize)} free space, "
                              f"but only {format_size(vfs.f_bsize * vfs.f_bfree)} available")
        if self.dry_run:
            return
        if not repo.has_object("commit", to):
            v = sb.metadata.get(dfmt.commitmeta_key(frm, to))
            detached = v.value if isinstance(v, gvariant.Variant) and v.type == "a{sv}" else None
            data = dfmt.commit_bytes(sb)
            from ostree_py.ops.fsck import verify_metadata
            verify_metadata("commit", to, data)
            self._verify_commit(to, data, detached)
            self._mark_new_commit(to)
            if detached is not None:
                repo.write_commitmeta(to, detached)
            repo.write_metadata("commit", data, to)
            self.fetched_detached[to] = detached
        sizes = {i: p[2] for i, p in enumerate(sb.parts)}

        def fetch_part(i):
            # into a temporary file: the part is read from there in pieces
            f = spool_file(repo)
            try:
                self.fetcher.fetch(self.content_mirrorlist, dfmt.part_relpath(frm, to, i),
                                   max_size=sizes[i], retries=self.n_retries, out=f)
            except BaseException:
                f.close()
                raise
            return f

        def job():
            return apply_parts(repo, sb, fetch=fetch_part, threads=2)

        def done(n_applied):
            self.res.n_fetched_deltaparts += n_applied
            self._queue_scan("commit", to, None, 0, ref)
        self._submit(job, (), done, "write")

    # ------------------------------------------------------------ scanning
    def _queue_scan(self, objtype, csum, path, depth, ref):
        self.scan_queue.append((objtype, csum, path, depth, ref))

    def _importer(self, src):
        imp = self._importers.get(id(src))
        if imp is None:
            from ostree_py.remote.pull_local import _Importer
            imp = _Importer(self.repo, src, self.trusted, self.verify_bareuseronly)
            self._importers[id(src)] = imp
        return imp

    def _scan_one(self, objtype, csum, path, depth, ref):
        key = (objtype, csum)
        if key in self.scanned:
            return
        repo = self.repo
        is_requested = key in self.requested_metadata
        is_stored = repo.has_object(objtype, csum)
        if not is_stored and self.remote_local is not None:
            try:
                if objtype == "commit":
                    self._verify_local_commit(self.remote_local, csum)
                    self._mark_new_commit(csum)
                self._importer(self.remote_local).import_object(objtype, csum)
            except ObjectNotFoundError:
                if objtype == "commit" and self.maxdepth != 0 and csum in self.commit_to_depth:
                    repo.forget_commit_partial(csum)
                    if self.has_tombstone_commits:
                        self._importer(self.remote_local).import_object("tombstone-commit", csum)
                    return
                raise
            if objtype == "commit":
                self.fetched_detached[csum] = None
            self.res.n_imported_metadata += 1
            is_stored = is_requested = True
        elif not is_stored and self.localcache:
            for cache in self.localcache:
                if not cache.has_object(objtype, csum):
                    continue
                if objtype == "commit":
                    self._verify_local_commit(cache, csum)
                    self._mark_new_commit(csum)
                self._importer(cache).import_object(objtype, csum)
                if objtype == "commit":
                    self.fetched_detached[csum] = None
                is_stored = is_requested = True
                self.res.n_imported_metadata += 1
                break
        if not is_stored and not is_requested:
            self.requested_metadata.add(key)
            self._enqueue_meta(csum, objtype, path, objtype == "commit", False, ref)
        elif is_stored and objtype == "commit":
            if csum not in self.fetched_detached:
                self._enqueue_meta(csum, objtype, path, True, True, ref)
            else:
                self._scan_commit(csum, depth, ref)
                self.scanned.add(key)
                self.res.n_scanned_metadata += 1
        elif is_stored and objtype == "dirtree":
            try:
                self._scan_dirtree(csum, path, depth)
            except OstreeError as e:
                raise OstreeError(f"Validating dirtree {csum} ({path}): {e.message}") from None
            self.scanned.add(key)
            self.res.n_scanned_metadata += 1

    def _scan_commit(self, csum, recursion_depth, ref):
        repo = self.repo
        depth = self.commit_to_depth.get(csum, self.maxdepth)
        if self._needs_verification(csum):
            md = self.fetched_detached.get(csum)
            self._verify_commit(csum, repo.load_metadata_bytes("commit", csum),
                                md if md is not None else repo.load_commitmeta(csum))
        self._store_detached(csum)
        data = repo.load_metadata_bytes("commit", csum)
        from ostree_py.repo.traverse import parse_commit_lenient
        parent, tree, meta, ts, md = parse_commit_lenient(data)
        if self.verify_bindings:
            from ostree_py.ops.fsck import verify_bindings
            try:
                verify_bindings(self.remote_collection_id, ref[1] if ref else None, md)
            except OstreeError as e:
                raise OstreeError(f"Commit {csum}: {e.message}") from None
        if self.timestamp_check and ref is not None and recursion_depth == 0:
            orig = self.ref_original_commits.get(ref)
            if orig:
                try:
                    orig_ts = _commit_timestamp(repo, orig)
                except OstreeError as e:
                    raise OstreeError(f"Reading {ref[1]} for timestamp-check: {e.message}") from None
                compare_timestamps(orig, orig_ts, csum, ts)
        if self.timestamp_check_from_rev:
            rev = self.timestamp_check_from_rev
            try:
                from_ts = _commit_timestamp(repo, rev)
            except OstreeError as e:
                raise OstreeError(f"Reading {rev} for timestamp-check-from-rev: {e.message}") from None
            compare_timestamps(rev, from_ts, csum, ts)
        is_partial = repo.is_commit_partial(csum)
        if parent:
            if len(parent) != 32:
                raise InvalidObjectError(f"Invalid checksum of length {len(parent)} expected 32")
            if self.maxdepth == -1 or depth > 0:
                p = parent.hex()
                self.commit_to_depth[p] = depth - 1 if depth > 0 else -1
                self._queue_scan("commit", p, None, recursion_depth + 1, None)
        if is_partial and not self.commit_only:
            for raw in (tree, meta):
                if len(raw) != 32:
                    raise InvalidObjectError(f"Invalid checksum of length {len(raw)} expected 32")
            self._queue_scan("dirtree", tree.hex(), "/", recursion_depth + 1, None)
            self._queue_scan("dirmeta", meta.hex(), None, recursion_depth + 1, None)

    def _scan_dirtree(self, csum, path, depth):
        from ostree_py.ops.fsck import validate_filename
        repo = self.repo
        data = repo.load_metadata_bytes("dirtree", csum)
        try:
            files, dirs = gvariant.deserialize(DIRTREE_TYPE, data)
        except GVariantError:
            raise InvalidObjectError("Invalid checksum of length 0 expected 32") from None
        dirs_filter = self.dirs
        for i, (name, raw) in enumerate(files):
            try:
                validate_filename(name)
            except OstreeError as e:
                raise OstreeError(f"File {i} in dirtree: {e.message}") from None
            if dirs_filter is not None and not any(_matches_pull_dir(path + name, d, False) for d in dirs_filter):
                continue
            if len(raw) != 32:
                raise InvalidObjectError(f"Invalid checksum of length {len(raw)} expected 32")
            fc = raw.hex()
            if fc in self.requested_content or repo.has_object("file", fc):
                continue
            self.requested_content.add(fc)
            if self.remote_local is not None:
                self._enqueue_import(self.remote_local, fc)
                continue
            for cache in self.localcache:
                if cache.has_object("file", fc):
                    self._enqueue_import(cache, fc)
                    break
            else:
                self._enqueue_content(fc)
        for i, (name, traw, mraw) in enumerate(dirs):
            try:
                validate_filename(name)
            except OstreeError as e:
                raise OstreeError(f"Dir {i} in dirtree: {e.message}") from None
            if dirs_filter is not None and not any(_matches_pull_dir(path + name, d, True) for d in dirs_filter):
                continue
            for raw in (traw, mraw):
                if len(raw) != 32:
                    raise InvalidObjectError(f"Invalid checksum of length {len(raw)} expected 32")
            sub = path + name + "/"
            self._queue_scan("dirtree", traw.hex(), sub, depth + 1, None)
            self._queue_scan("dirmeta", mraw.hex(), sub, depth + 1, None)

    # ------------------------------------------------------------ verification hooks
    def _verify_commit(self, csum, commit_data, detached):
        """Check a commit's signatures as the remote asks, before it is written (or when
        stored): GPG (gpg-verify) and the sign-API engines (sign-verify), ostree_py.signing."""
        try:
            if self.gpg_verify and csum not in self._verified:
                from ostree_py.signing import gpg
                gpg.verify_commit_for_remote(self.repo, self.remote_name, csum, commit_data, detached)
                self._verified.add(csum)
            if self.sign_commit and csum not in self._sign_verified:
                from ostree_py.signing import verify_commit_signapi
                verify_commit_signapi(self.sign_commit, csum, commit_data, detached)
                self._sign_verified.add(csum)
        except OstreeError:
            self._refused = True
            raise

    def _needs_verification(self, csum) -> bool:
        return (self.gpg_verify and csum not in self._verified) \
            or (bool(self.sign_commit) and csum not in self._sign_verified)

    def _verify_local_commit(self, src, csum):
        """A commit about to be imported from a repository on this machine (a file://
        remote or a localcache repo): its bytes must match ``csum`` and be signed as the
        remote asks, before anything of it is stored."""
        if not self._needs_verification(csum):
            return
        data = src.load_metadata_bytes("commit", csum)
        from ostree_py.ops.fsck import verify_metadata
        verify_metadata("commit", csum, data)
        self._verify_commit(csum, data, src.load_commitmeta(csum))

    def _mark_new_commit(self, csum):
        """Mark a commit this pull is about to write partial, remembering it as ours."""
        self._new_commits.add(csum)
        self.repo.mark_commit_partial(csum, True)

    def _discard_unverified(self):
        """After a refused signature: the commits this pull wrote that are still partial go
        (commit, detached metadata, marker), so that nothing of a refused pull is left that
        a ref, a deployment or a resumed pull could take for verified. Their tree objects
        stay unreferenced until a prune."""
        repo = self.repo
        for csum in self._new_commits:
            if not repo.is_commit_partial(csum):
                continue
            for objtype in ("commit", "commitmeta"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(repo.object_path(objtype, csum))
            repo.forget_commit_partial(csum)

    # ------------------------------------------------------------ metadata fetches
    def _enqueue_meta(self, csum, objtype, path, detached, is_stored, ref):
        self.res.n_requested_metadata += 1
        if detached:
            self._submit(self._job_detached, (csum,), lambda r: self._on_detached(csum, objtype, path, is_stored,
                                                                                  ref, r), "meta")
            return
        allow_missing = objtype == "commit" and self.maxdepth != 0 and csum in self.commit_to_depth
        self._submit(self._job_meta, (csum, objtype, ref, allow_missing, self.n_retries),
                     lambda r: self._on_meta(csum, objtype, path, ref, r), "meta")

    def _job_detached(self, csum):
        r = self.fetcher.fetch(self.meta_mirrorlist, _object_relpath(csum, "commitmeta"), optional=True,
                               max_size=self.o["max_metadata_size"] or 0, retries=self.n_retries)
        if r is None:
            return None
        data = r.data
        try:
            md = gvariant.deserialize("a{sv}", data)
        except GVariantError:
            # As the reference (which reads it as untrusted GVariant data):
            # whatever GLib makes of it, stored in normal form.
            from ostree_py.core.gvariant_lenient import read
            md = read("a{sv}", data)
            data = gvariant.serialize("a{sv}", md)
        if self._needs_verification(csum):
            # stored only once the commit's signatures check out: a rejected commit leaves nothing
            self._pending_detached[csum] = data
        else:
            self.repo.write_object_bytes("commitmeta", csum, data, replace=True)
        return md

    def _store_detached(self, csum):
        data = self._pending_detached.pop(csum, None)
        if data is not None:
            self.repo.write_object_bytes("commitmeta", csum, data, replace=True)

    def _on_detached(self, csum, objtype, path, is_stored, ref, md):
        self.res.n_fetched_metadata += 1
        self.fetched_detached[csum] = md
        if not is_stored:
            self._enqueue_meta(csum, objtype, path, False, False, ref)
        else:
            self._queue_scan(objtype, csum, path, 0, ref)

    def _job_meta(self, csum, objtype, ref, allow_missing, retries):
        max_size = self.expected_commit_sizes.get(csum) or self.o["max_metadata_size"] or 0
        relpath = _object_relpath(csum, objtype)
        try:
            r = self.fetcher.fetch(self.content_mirrorlist, relpath, max_size=max_size, retries=retries,
                                   requeue=True)
        except FetchError as e:
            if e.not_found and allow_missing:
                return _Missing
            if e.retries_left:
                return _Retry(e.retries_left - 1)
            raise
        data = r.data
        if objtype == "tombstone-commit":
            return None
        from ostree_py.ops.fsck import verify_metadata
        verify_metadata(objtype, csum, data)
        repo = self.repo
        if objtype == "commit":
            self._verify_commit(csum, data, self.fetched_detached.get(csum))
            self._mark_new_commit(csum)
            self._store_detached(csum)
        repo.write_metadata(objtype, data)
        if self.per_object_fsync:
            _fsync_path(repo.stored_path(objtype, csum))
        return True

    def _on_meta(self, csum, objtype, path, ref, result):
        self.res.n_fetched_metadata += 1
        if result is _Missing:
            if self.has_tombstone_commits:
                self.res.n_requested_metadata += 1
                self._submit(self._job_meta, (csum, "tombstone-commit", None, False, self.n_retries),
                             lambda r: self._on_meta(csum, "tombstone-commit", None, None, r), "meta")
            return
        if result is None:
            return
        self._queue_scan(objtype, csum, path, 0, ref)

    # ------------------------------------------------------------ content
    def _enqueue_content(self, csum):
        self.res.n_requested_content += 1
        job = self._job_content if self._procs is None else self._proc_content
        self._submit(job, (csum, self.n_retries), self._on_content, "content")

    # Content objects over HTTP are fetched and written by forked processes
    # (procpool.py says why); the pool's threads wait for them.
    def _n_processes(self) -> int:
        """OSTREE_PY_PULL_PROCESSES, else PULL_PROCESSES; never more than the requests in flight."""
        from ostree_py.util.procpool import count_from_env
        return min(count_from_env("OSTREE_PY_PULL_PROCESSES", PULL_PROCESSES), self.max_jobs)

    def _want_processes(self) -> bool:
        from ostree_py.util import faults
        if self._n_processes() < 1:
            return False
        if self.dry_run or self.commit_only or not self.content_mirrorlist:
            return False
        # crash tests count checkpoints in one process
        if faults.armed():
            return False
        return all(u.scheme in ("http", "https") for u in self.content_mirrorlist)

    def _child_content(self, csum, retries):
        """In a child: fetch and write one content object; what it added to the counters
        (or the _Retry to queue)."""
        stats = self.repo.txn_stats
        fields = stats.FIELDS
        before = [getattr(stats, k) for k in fields]
        nbytes = self.fetcher.bytes_transferred
        res = self._job_content(csum, retries)
        if isinstance(res, _Retry):
            return res, self.fetcher.bytes_transferred - nbytes
        delta = {k: getattr(stats, k) - v for k, v in zip(fields, before) if getattr(stats, k) != v}
        return delta, self.fetcher.bytes_transferred - nbytes

    def _proc_content(self, csum, retries):
        delta, nbytes = self._procs.call(csum, retries)
        if isinstance(delta, _Retry):
            if nbytes:
                self.fetcher._count(nbytes)
            return delta
        if delta:
            self.repo.txn_stats.add(**delta)
        if nbytes:
            self.fetcher._count(nbytes)
        return csum

    def _enqueue_import(self, src, csum):
        imp = self._importer(src)

        def job():
            return imp.import_object("file", csum)

        def done(_written):
            self.res.n_imported_content += 1
        self._submit(job, (), done, "content")

    def _spool(self):
        return tempfile.SpooledTemporaryFile(max_size=_SPOOL_MAX, dir=self.repo.staging_dir)

    def _job_content(self, csum, retries):
        try:
            return self._fetch_content(csum, retries)
        except FetchError as e:
            if e.retries_left:
                return _Retry(e.retries_left - 1)
            raise

    def _fetch_content(self, csum, retries):
        repo = self.repo
        relpath = _object_relpath(csum, "file")
        if self.trusted_http_direct:
            tmp = repo.new_tmp_path()
            with open(tmp, "w+b") as f:
                try:
                    self.fetcher.fetch(self.content_mirrorlist, relpath, out=f, retries=retries, requeue=True)
                    os.fchmod(f.fileno(), 0o644)
                    if self.per_object_fsync:
                        os.fsync(f.fileno())
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
            dest = repo.object_write_path("file", csum)
            os.rename(tmp, dest)
            return csum
        from ostree_py.core.content import ArchiveReader
        with self._spool() as f:
            self.fetcher.fetch(self.content_mirrorlist, relpath, out=f, retries=retries, requeue=True)
            f.seek(0)
            try:
                reader = ArchiveReader(f)
            except OstreeError as e:
                raise OstreeError(f"Parsing {csum}.file: {e.message}") from None
            except GVariantError as e:
                raise OstreeError(f"Parsing {csum}.file: {e.message}") from None
            info = reader.info
            if self.verify_bareuseronly or repo.mode == "bare-user-only":
                from ostree_py.remote.pull_local import validate_bareuseronly_mode
                validate_bareuseronly_mode(info.mode, csum)
            stream = reader if info.is_regular else None
            try:
                if stream is not None and info.size <= _SPOOL_MAX:
                    # the usual small file: inflated in one go and written from memory
                    repo.write_content(info, None, data=reader.read(), expected=csum)
                else:
                    repo.write_content(info, stream, expected=csum)
            except OstreeError as e:
                prefix = "Writing content object: "
                # (a min-free-space refusal carries it already)
                raise OstreeError(e.message if e.message.startswith(prefix) else prefix + e.message) from None
        if self.per_object_fsync:
            _fsync_path(repo.stored_path("file", csum))
        return csum

    def _on_content(self, _csum):
        self.res.n_fetched_content += 1

    # ------------------------------------------------------------ run
    def run(self, refs, override_commit_ids, collection_refs):
        repo = self.repo
        self.setup()
        configured = self.remote.get_list("branches")
        need_summary, require_summary_for_mirror = self.resolve_targets(
            refs, override_commit_ids, collection_refs, configured)
        self.load_summary(need_summary, require_summary_for_mirror)
        self.resolve_refs(refs, collection_refs, configured)
        os.makedirs(os.path.join(repo.path, "state"), 0o777, exist_ok=True)

        self.res.inherit_transaction = self.o["inherit_transaction"]
        txn = contextlib.nullcontext() if self.o["inherit_transaction"] else repo.transaction()
        from ostree_py.util.workpool import WorkPool
        # As the reference (which starts a new fetcher here), only what the
        # object phase downloads counts as transferred.
        self.fetcher.bytes_transferred = 0
        # The repo lock is held until the refs are written: a prune waiting for it
        # must see the refs, or it would delete the commits just pulled.
        with repo.lock():
            with txn:
                procs = None
                if self._want_processes():
                    from ostree_py.util.procpool import ProcPool
                    procs = ProcPool(self._n_processes(), self._child_content, self.fetcher.after_fork)
                self._procs = procs
                try:
                    with contextlib.ExitStack() as stack, WorkPool(self.max_jobs, "pull") as pool:
                        if procs is not None:
                            stack.callback(procs.close)
                        try:
                            for c in self.commits_to_fetch:
                                self.initiate_request(None, c)
                            for ref, csum in self.requested.items():
                                self.initiate_request(ref, csum)
                            self._loop(pool)
                        except BaseException:
                            self._fail(self.error or OstreeError("interrupted"))
                            raise
                except BaseException:
                    # (the pool and the worker processes are done writing by now)
                    if self._refused:
                        self._discard_unverified()
                    raise
                if self.dry_run:
                    return self.res
                stats = repo.txn_stats
            # The transaction synced the filesystem: the objects are durable, so the commits
            # are complete and refs can point at them (partial markers go first, so a crash
            # in between never leaves a ref naming a commit marked partial).
            if self.dirs is None and not self.commit_only:
                for csum in list(self.requested.values()) + self.commits_to_fetch + list(self.commit_to_depth):
                    repo.mark_commit_partial(csum, False)
            self.write_refs(refs, collection_refs, configured)
        self.res.content_bytes_written = stats.content_bytes_written
        self.res.bytes_transferred = self.fetcher.bytes_transferred
        self.res.seconds = int(time.monotonic() - self.start)
        self.res.refs = dict(self.requested)
        self.res.commits = list(self.commits_to_fetch)
        return self.res

    def write_refs(self, refs, collection_refs, configured):
        from ostree_py.repo.reflist import write_ref
        repo = self.repo
        for (cid, ref), csum in self.requested.items():
            spec = f"{self.remote_name}:{ref}" if self.remote_name else ref
            try:
                orig = repo.resolve_rev(spec, True)
            except OstreeError:
                orig = None
            if orig == csum:
                continue
            if self.is_mirror:
                write_ref(repo, None, ref, csum, collection_id=cid)
            else:
                write_ref(repo, self.refspec_name or self.remote_name, ref, csum)
        if self.is_mirror and self.summary_data is not None and refs is None and collection_refs is None \
                and not configured:
            from ostree_py.util.fs import write_atomic
            p = os.path.join(repo.path, "summary")
            write_atomic(p, self.summary_data, fsync=repo.fsync)
            store_cache_properties(p, self.summary_etag, self.summary_last_modified)
            if self.summary_sig is not None:
                p = os.path.join(repo.path, "summary.sig")
                write_atomic(p, self.summary_sig, fsync=repo.fsync)
                store_cache_properties(p, self.summary_sig_etag, self.summary_sig_last_modified)


def _oserror_text(e: OSError) -> str:
    if e.filename is not None and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return e.strerror or str(e)


# ---------------------------------------------------------------- public API

def pull(repo, remote: str, refs=None, *, override_commit_ids=None, collection_refs=None,
         mirror: bool = False, commit_metadata_only: bool = False, subdirs=None, depth: int = 0,
         untrusted: bool = False, http_trusted: bool = False, bareuseronly_files: bool = False,
         disable_static_deltas: bool = False, require_static_deltas: bool = False, dry_run: bool = False,
         override_url: str | None = None, http_headers=(), append_user_agent: str | None = None,
         n_network_retries: int = DEFAULT_N_NETWORK_RETRIES, localcache_repos=(),
         timestamp_check: bool = False, timestamp_check_from_rev: str | None = None,
         disable_verify_bindings: bool = False, per_object_fsync: bool = False, disable_fsync: bool = False,
         gpg_verify: bool | None = None, gpg_verify_summary: bool | None = None,
         disable_sign_verify: bool = False, disable_sign_verify_summary: bool = False,
         override_remote_name: str | None = None, inherit_transaction: bool = False,
         cache_dir: str | None = None, summary_bytes: bytes | None = None,
         summary_sig_bytes: bytes | None = None, max_metadata_size: int = MAX_METADATA_SIZE,
         progress=None, update_frequency: int = 0,
         max_outstanding: int = MAX_OUTSTANDING_FETCHES, low_speed_limit: int | None = None,
         low_speed_time: float | None = None, retry_network_errors: bool = True) -> PullResult:
    """Pull ``refs`` from ``remote`` (a remote name or a ``file://`` URL) into ``repo``.

    ``refs``: ref names or commit checksums (None: the remote's configured
    ``branches``, or every ref of the summary with ``mirror``);
    ``override_commit_ids``: a checksum (or "") per ref, to pull that commit
    for the ref; ``collection_refs``: (collection id, ref, checksum or "")
    triples instead of ``refs``. Refs end up in refs/remotes/REMOTE (in
    refs/heads or refs/mirrors with ``mirror``). ``depth`` parents are
    pulled too (-1: all). ``progress`` is called with a PullProgress about
    once a second (``update_frequency`` ms).
    Signatures are checked as the remote's configuration asks (ostree_py.signing):
    ``gpg-verify`` (default true), ``gpg-verify-summary``, ``sign-verify`` and
    ``sign-verify-summary``; a ``file://`` URL verifies nothing unless
    ``override_remote_name`` names the remote whose keys and options apply.
    The only ways out are explicit: ``gpg_verify`` / ``gpg_verify_summary``
    (True/False instead of the remote's setting), ``disable_sign_verify`` /
    ``disable_sign_verify_summary``. A commit is verified before it is written;
    a refused pull leaves none of the commits it wrote (see _Pull._discard_unverified).
    A download slower than ``low_speed_limit`` bytes/s over ``low_speed_time``
    seconds fails as a timeout (None: 1000 and 30, or the environment's
    OSTREE_PY_LOW_SPEED_LIMIT / OSTREE_PY_LOW_SPEED_TIME; 0: no such check, as in
    curl). ``max_outstanding`` requests run at once (at least 1). Without
    ``retry_network_errors`` (``--disable-retry-on-network-errors``) a network
    failure is not retried, nor an HTTP status other than 408 and 500.
    Returns a PullResult; raises OstreeError.
    """
    if depth < -1:
        raise OstreeError(f"Invalid depth {depth}")
    if dry_run and not require_static_deltas:
        raise OstreeError("--dry-run requires --require-static-deltas")
    if disable_static_deltas and require_static_deltas:
        raise OstreeError("Cannot both disable and require static deltas")
    if timestamp_check and depth != 0:
        raise OstreeError("Timestamp checking is only supported with depth 0")
    if collection_refs is not None and (refs is not None or override_commit_ids is not None):
        raise OstreeError("collection-refs cannot be combined with refs or override commit ids")
    if refs is not None and override_commit_ids is not None and len(refs) != len(override_commit_ids):
        raise OstreeError("override commit ids must match refs one to one")
    if (summary_bytes is None) != (summary_sig_bytes is None):
        raise OstreeError("summary-bytes and summary-sig-bytes must be given together")
    for d in subdirs or ():
        if not d.startswith("/"):
            raise OstreeError(f"Subpath must be absolute: {d}")
    if cache_dir is not None and not os.path.isdir(cache_dir):
        raise OstreeError(f"opendir({cache_dir}): {os.strerror(errno.ENOTDIR if os.path.exists(cache_dir) else errno.ENOENT)}")
    if disable_fsync:
        repo.fsync = False
    opts = dict(depth=depth, commit_metadata_only=commit_metadata_only, mirror=mirror, subdirs=subdirs,
                n_network_retries=n_network_retries, disable_static_deltas=disable_static_deltas,
                require_static_deltas=require_static_deltas, dry_run=dry_run, timestamp_check=timestamp_check,
                timestamp_check_from_rev=timestamp_check_from_rev, disable_verify_bindings=disable_verify_bindings,
                per_object_fsync=per_object_fsync, progress=progress, override_remote_name=override_remote_name,
                bareuseronly_files=bareuseronly_files, gpg_verify=gpg_verify, gpg_verify_summary=gpg_verify_summary,
                disable_sign_verify=disable_sign_verify, disable_sign_verify_summary=disable_sign_verify_summary,
                http_headers=list(http_headers), append_user_agent=append_user_agent, override_url=override_url,
                untrusted=untrusted, http_trusted=http_trusted, localcache_repos=list(localcache_repos),
                inherit_transaction=inherit_transaction, cache_dir=cache_dir, summary_bytes=summary_bytes,
                summary_sig_bytes=summary_sig_bytes, max_metadata_size=max_metadata_size,
                update_frequency=update_frequency, max_outstanding=max(1, max_outstanding),
                low_speed_limit=low_speed_limit, low_speed_time=low_speed_time,
                retry_network_errors=retry_network_errors)
    job = _Pull(repo, remote, opts)
    try:
        return job.run(list(refs) if refs is not None else None,
                       list(override_commit_ids) if override_commit_ids is not None else None,
                       list(collection_refs) if collection_refs is not None else None)
    finally:
        if job.fetcher is not None:
            job.fetcher.close()


def fetch_summary(repo, remote: str, *, override_url: str | None = None, http_headers=(),
                  append_user_agent: str | None = None, n_network_retries: int = DEFAULT_N_NETWORK_RETRIES,
                  cache_dir: str | None = None):
    """The remote's (summary, summary.sig) bytes (each None if absent), through the summary cache.

    As ostree_repo_remote_fetch_summary_with_options: metalink remotes get
    both through their metalink; a summary with a signature is cached in
    ``tmp/cache/summaries`` and revalidated with its ETag/Last-Modified.
    The remote's gpg-verify-summary and sign-verify-summary must accept it
    (ostree_py.signing.verify_summary) before it is cached or returned.
    """
    rc = get_remote(repo, remote)
    with new_fetcher(repo, rc, http_headers, append_user_agent) as fetcher:
        metalink_url = rc.get_option("metalink")
        cache = _cache_dir(repo, cache_dir)
        if metalink_url is not None:
            from ostree_py.remote.metalink import MetalinkNotFound, metalink_request
            muri = URI.parse(metalink_url)

            def get(name, etag, lm):
                try:
                    return metalink_request(fetcher, muri, name, MAX_METADATA_SIZE, n_network_retries)[1], \
                        False, None, 0
                except MetalinkNotFound:
                    return None, False, None, 0
        else:
            base = override_url if override_url is not None else rc.url
            mirrors = effective_mirrorlist(fetcher, base, n_network_retries)

            def get(name, etag, lm):
                r = fetcher.fetch(mirrors, name, optional=True, max_size=MAX_METADATA_SIZE, if_none_match=etag,
                                  if_modified_since=lm, retries=n_network_retries, gzip=True)
                if r is None:
                    return None, False, None, 0
                return r.data, r.not_modified, r.etag, r.last_modified
        sig_etag, sig_lm = load_cache_properties(cache, remote + ".sig")
        sum_etag, sum_lm = load_cache_properties(cache, remote)
        sig, sig_nm, sig_etag2, sig_lm2 = get("summary.sig", sig_etag, sig_lm)
        summary = None
        if sig_nm:
            sig = load_cache_file(cache, remote + ".sig")
            summary = load_cache_file(cache, remote)
        if sig is not None and summary is None:
            summary = _load_cached_if_same_sig(cache, remote, sig)
        from_cache = summary is not None
        etag2, lm2 = None, 0
        if summary is None:
            summary, nm, etag2, lm2 = get("summary", sum_etag, sum_lm)
            if nm:
                summary = load_cache_file(cache, remote)
        from ostree_py.signing import verify_summary
        verify_summary(repo, remote, summary, sig)
        if not from_cache and summary is not None and sig is not None:
            save_cache_file(repo, cache, remote, summary, etag2, lm2)
            save_cache_file(repo, cache, remote + ".sig", sig, sig_etag2, sig_lm2)
        return summary, sig


def list_remote_refs(repo, name: str, cache_dir: str | None = None) -> dict:
    """ostree_repo_remote_list_refs: ref -> checksum from the remote's summary."""
    summary, _sig = fetch_summary(repo, name, cache_dir=cache_dir)
    if summary is None:
        raise OstreeError("Remote refs not available; server has no summary file")
    refs, _meta = gvariant.deserialize("(a(s(taya{sv}))a{sv})", summary)
    out = {}
    for ref, (_size, csum, _m) in refs:
        csum = bytes(csum)
        if len(csum) != 32:
            raise OstreeError(f"Invalid checksum of length {len(csum)} expected 32")
        out[ref] = csum.hex()
    return out
