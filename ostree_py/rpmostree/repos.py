"""rpm-md repositories: ``/etc/yum.repos.d/*.repo`` of the merge deployment,
their metadata (repomd.xml, primary) fetched over HTTP(S) with httpx or read
from file://, cached per repo, and package downloads with checksum checks.
"""

import configparser
import contextlib
import hashlib
import io
import os
import re
import shutil
import xml.etree.ElementTree as ET

from ostree_py.rpmostree import RpmOstreeError

_NS = {"repo": "http://linux.duke.edu/metadata/repo"}
DEFAULT_METADATA_EXPIRE = 48 * 3600          # dnf's default
MAX_REPOMD_SIZE = 8 << 20                    # repomd.xml is a few kB in practice
MAX_METADATA_SIZE = 2 << 30                  # a metadata file whose size repomd.xml does not declare
_REPO_ID = re.compile(r"[A-Za-z0-9_.:-]+")  # dnf's repo id characters (and no path)


class RepoConfig:
    def __init__(self, id, name, baseurl, enabled, gpgcheck, gpgkeys, priority=99,
                 metadata_expire=DEFAULT_METADATA_EXPIRE):
        self.id = id
        self.name = name or id
        self.baseurl = baseurl
        self.enabled = enabled
        self.gpgcheck = gpgcheck
        self.gpgkeys = gpgkeys
        self.priority = priority
        self.revision = None
        self.timestamp = 0
        self.primary = None      # path of the cached primary metadata
        self.metadata_expire = metadata_expire   # seconds; None: never
        self.updated = False     # the metadata was (re)checked with the server in this run
        self.cache_dir = None    # where its cached metadata is

    def url(self, rel: str) -> str:
        return self.baseurl.rstrip("/") + "/" + rel.lstrip("/")


def _bool(v, default):
    if v is None:
        return default
    return v.strip().lower() in ("1", "yes", "true", "on")


def _os_release(root: str) -> dict:
    for rel in ("etc/os-release", "usr/lib/os-release"):
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as f:
                out = {}
                for line in f:
                    k, eq, v = line.strip().partition("=")
                    if eq:
                        out[k] = v.strip().strip("\"'")
                return out
        except OSError:
            continue
    return {}


def load_repo_configs(root: str, arch: str) -> list:
    """The repos of the tree at ``root`` (its ``etc/yum.repos.d``), in file and section order."""
    d = os.path.join(root, "etc/yum.repos.d")
    if not os.path.isdir(d):
        d = os.path.join(root, "usr/etc/yum.repos.d")
    variables = {"basearch": arch, "arch": arch,
                 "releasever": _os_release(root).get("VERSION_ID", "")}

    def subst(s):
        for k, v in variables.items():
            s = s.replace("${" + k + "}", v).replace("$" + k, v)
        return s
    repos = []
    try:
        names = sorted(n for n in os.listdir(d) if n.endswith(".repo"))
    except OSError:
        return repos
    for n in names:
        cp = configparser.RawConfigParser(strict=False)
        try:
            cp.read(os.path.join(d, n), encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as e:
            raise RpmOstreeError(f"Parsing {n}: {e}") from None
        for sec in cp.sections():
            if sec == "main":
                continue
            if not _REPO_ID.fullmatch(sec):
                raise RpmOstreeError(f"Bad id for repo: {sec}")
            g = lambda k: cp.get(sec, k, fallback=None)  # noqa: E731
            baseurl = (g("baseurl") or "").replace(",", " ").split()
            keys = (g("gpgkey") or "").replace(",", " ").split()
            try:
                prio = int(g("priority") or 99)
            except ValueError:
                prio = 99
            repos.append(RepoConfig(sec, subst(g("name") or sec), subst(baseurl[0]) if baseurl else None,
                                    _bool(g("enabled"), True), _bool(g("gpgcheck"), False),
                                    [subst(k) for k in keys], prio,
                                    parse_metadata_expire(g("metadata_expire"))))
    return repos


def _fetch_file(url: str, dest: str, limit: int, what: str) -> None:
    """GET ``url`` (http(s) or file://) into ``dest`` (through ``dest``.tmp), at most ``limit`` bytes."""
    tmp = dest + ".tmp"
    try:
        with open(tmp, "wb") as f:
            status, _h = _stream_get(url, f, limit, what)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _file_sha(path: str, algo: str) -> str:
    h = hashlib.new("sha1" if algo == "sha" else algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------ rpm-md metadata cache
#
# Per repo, CACHEDIR/ID holds repomd.xml as served, primary.xml (decompressed and
# verified against repomd.xml's checksums) and state.json (the repomd's HTTP
# validators and the sha256 of both files). The mtime of state.json is when the
# repo was last checked: within metadata_expire the cache is used as it is
# ("(cached)"), after that repomd.xml is asked for again, conditionally (ETag /
# Last-Modified), and primary is downloaded only when repomd.xml changed.
# A new cache is built in a temporary directory and renamed into place.



def parse_metadata_expire(value) -> int | None:
    """dnf's metadata_expire: seconds, or with an s/m/h/d suffix; -1 or "never": never.
    None means never expires."""
    if value is None:
        return DEFAULT_METADATA_EXPIRE
    v = value.strip().lower()
    if v in ("never", "-1"):
        return None
    mult = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(v[-1:], None)
    num = v[:-1] if mult else v
    try:
        n = float(num)
    except ValueError:
        raise RpmOstreeError(f"Invalid metadata_expire value '{value}'") from None
    if n < 0:
        raise RpmOstreeError(f"Invalid metadata_expire value '{value}'")
    return int(n * (mult or 1))


class _Data:
    """One <data> entry of repomd.xml."""

    def __init__(self, href, algo, checksum, size, open_algo, open_checksum, open_size):
        self.href, self.algo, self.checksum, self.size = href, algo, checksum, size
        self.open_algo, self.open_checksum, self.open_size = open_algo, open_checksum, open_size


def _hash_new(algo: str, what: str):
    name = {"sha": "sha1"}.get(algo, algo)
    if name not in ("sha1", "sha224", "sha256", "sha384", "sha512", "md5"):
        raise RpmOstreeError(f"{what}: unsupported checksum type '{algo}'")
    return hashlib.new(name)


def _size(el, tag: str, what: str) -> int | None:
    x = el.find(f"repo:{tag}", _NS)
    if x is None or not (x.text or "").strip():
        return None
    try:
        n = int(x.text.strip())
    except ValueError:
        raise RpmOstreeError(f"repomd.xml: invalid {tag} of {what}") from None
    if n < 0:
        raise RpmOstreeError(f"repomd.xml: invalid {tag} of {what}")
    return n


def parse_repomd(data: bytes):
    """(revision, generated timestamp, primary _Data) of a repomd.xml document."""
    if len(data) > MAX_REPOMD_SIZE:
        raise RpmOstreeError(f"repomd.xml is larger than {MAX_REPOMD_SIZE} bytes")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise RpmOstreeError("repomd.xml: document type declarations are not allowed")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise RpmOstreeError(f"repomd.xml: {e}") from None
    if root.tag != "{%s}repomd" % _NS["repo"]:
        raise RpmOstreeError("repomd.xml: not an rpm-md repomd document")
    rev = root.find("repo:revision", _NS)
    timestamp = 0
    primary = None
    for data_el in root.findall("repo:data", _NS):
        ts = data_el.find("repo:timestamp", _NS)
        if ts is not None and ts.text:
            try:
                timestamp = max(timestamp, int(float(ts.text)))
            except (ValueError, OverflowError):
                pass
        if data_el.get("type") == "primary":
            primary = data_el
    if primary is None:
        raise RpmOstreeError("repomd.xml has no primary metadata")
    loc = primary.find("repo:location", _NS)
    href = loc.get("href") if loc is not None else None
    if not href or href.startswith("/") or ".." in href.split("/") or "\\" in href:
        raise RpmOstreeError("repomd.xml: invalid location of primary")
    csum = primary.find("repo:checksum", _NS)
    if csum is None or not (csum.text or "").strip():
        raise RpmOstreeError("repomd.xml has no checksum for primary")
    ocsum = primary.find("repo:open-checksum", _NS)
    d = _Data(href, csum.get("type") or "sha256", csum.text.strip().lower(), _size(primary, "size", "primary"),
              ocsum.get("type") or "sha256" if ocsum is not None else None,
              ocsum.text.strip().lower() if ocsum is not None and ocsum.text else None,
              _size(primary, "open-size", "primary"))
    _hash_new(d.algo, "repomd.xml")
    if d.open_checksum:
        _hash_new(d.open_algo, "repomd.xml")
    return (rev.text if rev is not None else None), timestamp, d


def _stream_get(url: str, dest, limit: int, what: str, headers=None):
    """GET ``url`` into the open file ``dest`` (None: nothing written), at most ``limit``
    bytes; returns (status, response headers). http(s) or file://."""
    if url.startswith("file://"):
        path = url[len("file://"):]
        try:
            with open(path, "rb") as f:
                n = 0
                while chunk := f.read(1 << 16):
                    n += len(chunk)
                    if n > limit:
                        raise RpmOstreeError(f"{what} is larger than {limit} bytes")
                    dest.write(chunk)
        except OSError as e:
            raise RpmOstreeError(f"{path}: {e.strerror}") from None
        return 200, {}
    if not url.startswith(("http://", "https://")):
        raise RpmOstreeError(f"Unsupported URL '{url}'")
    import httpx
    try:
        # identity: the bytes counted and checked are the bytes sent (no decoder in between)
        with httpx.stream("GET", url, follow_redirects=True, timeout=60,
                          headers=dict(headers or {}, **{"Accept-Encoding": "identity"})) as r:
            if r.status_code == 304:
                return 304, r.headers
            if r.status_code != 200:
                raise RpmOstreeError(f"Status code: {r.status_code} for {url}")
            declared = r.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise RpmOstreeError(f"{what} is larger than {limit} bytes")
            n = 0
            for chunk in r.iter_raw(1 << 16):
                n += len(chunk)
                if n > limit:
                    raise RpmOstreeError(f"{what} is larger than {limit} bytes")
                dest.write(chunk)
            return 200, r.headers
    except httpx.HTTPError as e:
        raise RpmOstreeError(f"Curl error for {url}: {e}") from None


class _ZstdReader:
    """zstd frames read in small input slices (so that one call's output stays bounded:
    a few input bytes can stand for 128 kB), with an error for a truncated frame, which
    zstandard's stream_reader reports as a plain end of data."""

    SLICE = 256

    def __init__(self, zstandard, f):
        self.zstandard, self.f = zstandard, f
        self.d = zstandard.ZstdDecompressor().decompressobj()
        self.pending = b""
        self.started = False

    def read(self, _n: int) -> bytes:
        while True:
            if self.d.eof:      # the next frame starts with what the last one left
                self.pending = self.d.unused_data + self.pending
                self.d = self.zstandard.ZstdDecompressor().decompressobj()
                self.started = False
            if not self.pending:
                self.pending = self.f.read(1 << 16)
                if not self.pending:
                    if self.started and not self.d.eof:
                        raise ValueError("zstd decompress error: incomplete frame")
                    return b""
            piece, self.pending = self.pending[:self.SLICE], self.pending[self.SLICE:]
            self.started = True
            out = self.d.decompress(piece)
            if out:
                return out

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def _open_decompressed(path: str, href: str):
    f = open(path, "rb")
    try:
        if href.endswith(".gz"):
            import gzip
            return gzip.GzipFile(fileobj=f, mode="rb"), f
        if href.endswith((".xz", ".lzma")):
            import lzma
            return lzma.LZMAFile(f, "rb"), f
        if href.endswith(".bz2"):
            import bz2
            return bz2.BZ2File(f, "rb"), f
        if href.endswith(".zst"):
            try:
                import zstandard
            except ImportError:
                raise RpmOstreeError(f"{os.path.basename(href)}: zstd metadata needs the Python "
                                     "'zstandard' module") from None
            return _ZstdReader(zstandard, f), f
    except BaseException:
        f.close()
        raise
    return f, f


def _decompress(src: str, href: str, dest: str, data: _Data) -> str:
    """Decompress ``src`` into ``dest``, in bounded chunks, at most the declared open-size;
    checks the open-checksum. Returns the sha256 of what was written."""
    name = os.path.basename(href)
    limit = data.open_size if data.open_size is not None else MAX_METADATA_SIZE
    h = hashlib.sha256()
    oh = _hash_new(data.open_algo, name) if data.open_checksum else None
    reader, raw = _open_decompressed(src, href)
    n = 0
    try:
        with reader, raw, open(dest, "wb") as out:
            while True:
                chunk = reader.read(1 << 20)
                if not chunk:
                    break
                n += len(chunk)
                if n > limit:
                    raise RpmOstreeError(f"{name}: decompresses to more than its "
                                         f"{'declared open-size' if data.open_size is not None else 'limit'}"
                                         f" of {limit} bytes")
                h.update(chunk)
                if oh is not None:
                    oh.update(chunk)
                out.write(chunk)
    except (OSError, EOFError, ValueError) as e:
        raise RpmOstreeError(f"{name}: decompressing: {e}") from None
    except Exception as e:  # noqa: BLE001 - zstandard.ZstdError and friends
        if type(e).__module__.startswith("zstandard"):
            raise RpmOstreeError(f"{name}: decompressing: {e}") from None
        raise
    if data.open_size is not None and n != data.open_size:
        raise RpmOstreeError(f"{name}: decompressed size {n} is not the declared open-size {data.open_size}")
    if oh is not None and oh.hexdigest() != data.open_checksum:
        raise RpmOstreeError(f"{name}: open-checksum mismatch")
    return h.hexdigest()


def _sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _read_state(d: str) -> dict | None:
    import json
    try:
        with open(os.path.join(d, "state.json"), encoding="utf-8") as f:
            st = json.load(f)
        return st if isinstance(st, dict) else None
    except (OSError, ValueError):
        return None


def _load_cache(repo: RepoConfig, d: str) -> bool:
    """Use the cache of ``d`` when it is complete and intact: sets ``repo``'s primary,
    revision and timestamp. False when there is no usable cache."""
    st = _read_state(d)
    if st is None:
        return False
    try:
        with open(os.path.join(d, "repomd.xml"), "rb") as f:
            repomd = f.read(MAX_REPOMD_SIZE + 1)
        if _sha256_bytes(repomd) != st.get("repomd-sha256"):
            return False
        revision, timestamp, _data = parse_repomd(repomd)
        primary = os.path.join(d, "primary.xml")
        if _file_sha(primary, "sha256") != st.get("primary-sha256"):
            return False
    except (OSError, RpmOstreeError):
        return False
    repo.revision, repo.timestamp, repo.primary = revision, timestamp, primary
    repo.cache_dir = d
    return True


def cache_path(cachedir: str, repo: RepoConfig) -> str:
    """The cache directory of ``repo``: its id and a digest of its baseurl (as dnf names
    them), so that a repo pointed elsewhere starts from an empty cache."""
    digest = hashlib.sha256((repo.baseurl or "").encode("utf-8")).hexdigest()[:16]
    return os.path.join(cachedir, f"{repo.id}-{digest}")


def cache_age(cachedir: str, repo: RepoConfig) -> float | None:
    """Seconds since ``repo``'s metadata was last checked; None without a cache."""
    import time
    try:
        return max(0.0, time.time() - os.stat(os.path.join(cache_path(cachedir, repo), "state.json")).st_mtime)
    except OSError:
        return None


def use_cache(repo: RepoConfig, cachedir: str, force: bool = False) -> bool:
    """libdnf's dnf_repo_check: True (and ``repo`` set up from the cache) when the cached
    metadata is intact and younger than the repo's metadata_expire."""
    if force:
        return False
    age = cache_age(cachedir, repo)
    if age is None:
        return False
    if repo.metadata_expire is not None and age >= repo.metadata_expire:
        return False
    return _load_cache(repo, cache_path(cachedir, repo))


def load_cached_metadata(repo: RepoConfig, cachedir: str) -> None:
    """--cache-only: the cached metadata whatever its age; an error without one."""
    if not _load_cache(repo, cache_path(cachedir, repo)):
        raise RpmOstreeError(f"Updating rpm-md repo '{repo.id}': no cached metadata "
                             "(run without --cache-only first)")


def update_metadata(repo: RepoConfig, cachedir: str, force: bool = False) -> bool:
    """Ask the server for repomd.xml (conditionally unless ``force``) and download primary
    when repomd.xml changed. Returns whether new metadata was downloaded."""
    try:
        return _update(repo, cachedir, force)
    except RpmOstreeError as e:
        raise RpmOstreeError(f"Updating rpm-md repo '{repo.id}': {e.message}") from None


def _update(repo: RepoConfig, cachedir: str, force: bool) -> bool:
    import tempfile
    if not repo.baseurl:
        raise RpmOstreeError("no baseurl (metalink and mirrorlist are not supported)")
    d = cache_path(cachedir, repo)
    os.makedirs(cachedir, exist_ok=True)
    st = _read_state(d)
    have = st is not None and _load_cache(repo, d)
    headers = {}
    if have and not force:
        if st.get("etag"):
            headers["If-None-Match"] = st["etag"]
        if st.get("last-modified"):
            headers["If-Modified-Since"] = st["last-modified"]
    buf = io.BytesIO()
    try:
        status, rh = _stream_get(repo.url("repodata/repomd.xml"), buf, MAX_REPOMD_SIZE, "repomd.xml", headers)
    except RpmOstreeError as e:
        raise RpmOstreeError(f"Cannot download repomd.xml: {e.message}") from None
    if status == 304 and have:
        os.utime(os.path.join(d, "state.json"))
        return False
    repomd = buf.getvalue()
    revision, timestamp, data = parse_repomd(repomd)
    validators = {"etag": rh.get("etag"), "last-modified": _strong_last_modified(rh)}
    if have and _sha256_bytes(repomd) == st.get("repomd-sha256"):
        st.update(validators)
        _write_json(os.path.join(d, "state.json"), st)
        return False
    tmp = tempfile.mkdtemp(prefix=f".{repo.id}.tmp-", dir=cachedir)
    try:
        name = os.path.basename(data.href)
        packed = os.path.join(tmp, "download")
        limit = data.size if data.size is not None else MAX_METADATA_SIZE
        h = _hash_new(data.algo, name)

        class _Hashing:
            def __init__(self, f):
                self.f, self.n = f, 0

            def write(self, b):
                h.update(b)
                self.n += len(b)
                self.f.write(b)
        with open(packed, "wb") as f:
            w = _Hashing(f)
            _stream_get(repo.url(data.href), w, limit, name)
        if data.size is not None and w.n != data.size:
            raise RpmOstreeError(f"{name}: downloaded {w.n} bytes, repomd.xml declares {data.size}")
        if h.hexdigest() != data.checksum:
            raise RpmOstreeError(f"checksum mismatch for {data.href}")
        primary_sha = _decompress(packed, data.href, os.path.join(tmp, "primary.xml"), data)
        os.unlink(packed)
        with open(os.path.join(tmp, "repomd.xml"), "wb") as f:
            f.write(repomd)
        _write_json(os.path.join(tmp, "state.json"), dict(validators, **{
            "repomd-sha256": _sha256_bytes(repomd), "primary-sha256": primary_sha}))
        for n in os.listdir(tmp):
            with open(os.path.join(tmp, n), "rb") as f:
                os.fsync(f.fileno())
        old = None
        if os.path.lexists(d):
            old = tempfile.mkdtemp(prefix=f".{repo.id}.old-", dir=cachedir)
            os.rename(d, os.path.join(old, "x"))
        os.rename(tmp, d)
        tmp = None
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    repo.revision, repo.timestamp, repo.primary = revision, timestamp, os.path.join(d, "primary.xml")
    repo.cache_dir = d
    return True


def invalidate_cache(repo: RepoConfig) -> None:
    """Forget ``repo``'s cache (its primary metadata could not be loaded): the next run
    downloads it again instead of using it as "(cached)"."""
    if repo.cache_dir:
        try:
            os.unlink(os.path.join(repo.cache_dir, "state.json"))
        except OSError:
            pass


def _strong_last_modified(headers) -> str | None:
    """The response's Last-Modified when it can validate a later request: at least a
    second older than its Date (RFC 9110 8.8.2.2); a file changed within the second it
    was served could change again unseen by If-Modified-Since."""
    from email.utils import parsedate_to_datetime
    lm, date = headers.get("last-modified"), headers.get("date")
    if not lm or not date:
        return None
    try:
        if (parsedate_to_datetime(date) - parsedate_to_datetime(lm)).total_seconds() >= 1:
            return lm
    except (TypeError, ValueError):
        pass
    return None


def _write_json(path: str, obj) -> None:
    import json
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(obj, f)
    os.replace(path + ".tmp", path)


# a package whose metadata declares no size: the most a download may bring
MAX_PACKAGE_SIZE = 4 << 30
# a GPG key file
MAX_KEY_SIZE = 1 << 20


def download(repo: RepoConfig, location: str, checksum: tuple | None, dest: str, size: int | None = None) -> None:
    """Download package ``location`` of ``repo`` to ``dest``: at most the ``size`` the repo's
    metadata declares, and refused unless it matches the metadata's ``(algo, hex)`` checksum."""
    if not (checksum and checksum[1]):
        raise RpmOstreeError(f"Downloading from '{repo.id}': no checksum for {location} in the repo metadata")
    try:
        _fetch_file(repo.url(location), dest, size or MAX_PACKAGE_SIZE, location)
        if _file_sha(dest, checksum[0]) != checksum[1]:
            raise RpmOstreeError(f"checksum mismatch for {location}")
    except RpmOstreeError as e:
        with contextlib.suppress(OSError):
            os.unlink(dest)
        raise RpmOstreeError(f"Downloading from '{repo.id}': {e.message}") from None


def resolve_gpgkey(url: str, root: str) -> str:
    """A local path for a gpgkey URL (file:// keys are read from the deployment)."""
    if url.startswith("file://"):
        path = url[len("file://"):]
        for cand in (os.path.join(root, path.lstrip("/")), path):
            if os.path.exists(cand):
                return cand
        raise RpmOstreeError(f"GPG key {url} not found")
    import tempfile
    fd, tmp = tempfile.mkstemp(prefix="rpmostree-key-")
    os.close(fd)
    _fetch_file(url, tmp, MAX_KEY_SIZE, f"GPG key {url}")
    return tmp
