"""rpm-md repositories: ``/etc/yum.repos.d/*.repo`` of the merge deployment,
their metadata (repomd.xml, primary) fetched over HTTP(S) with httpx or read
from file://, cached per repo, and package downloads with checksum checks.
"""

import configparser
import hashlib
import os
import shutil
import xml.etree.ElementTree as ET

from . import RpmOstreeError

_NS = {"repo": "http://linux.duke.edu/metadata/repo"}


class RepoConfig:
    def __init__(self, id, name, baseurl, enabled, gpgcheck, gpgkeys, priority=99):
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
            g = lambda k: cp.get(sec, k, fallback=None)  # noqa: E731
            baseurl = (g("baseurl") or "").replace(",", " ").split()
            keys = (g("gpgkey") or "").replace(",", " ").split()
            try:
                prio = int(g("priority") or 99)
            except ValueError:
                prio = 99
            repos.append(RepoConfig(sec, subst(g("name") or sec), subst(baseurl[0]) if baseurl else None,
                                    _bool(g("enabled"), True), _bool(g("gpgcheck"), False),
                                    [subst(k) for k in keys], prio))
    return repos


def _fetch(url: str, dest: str | None = None) -> bytes | None:
    """GET ``url`` (http(s) or file://); into ``dest`` when given, else returned."""
    if url.startswith("file://"):
        path = url[len("file://"):]
        try:
            if dest is not None:
                shutil.copyfile(path, dest + ".tmp")
                os.replace(dest + ".tmp", dest)
                return None
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            raise RpmOstreeError(f"{path}: {e.strerror}") from None
    if not url.startswith(("http://", "https://")):
        raise RpmOstreeError(f"Unsupported URL '{url}'")
    import httpx
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60) as r:
            if r.status_code != 200:
                raise RpmOstreeError(f"Status code: {r.status_code} for {url}")
            if dest is None:
                return r.read()
            with open(dest + ".tmp", "wb") as f:
                for chunk in r.iter_bytes(1 << 16):
                    f.write(chunk)
            os.replace(dest + ".tmp", dest)
            return None
    except httpx.HTTPError as e:
        raise RpmOstreeError(f"Curl error for {url}: {e}") from None


def _file_sha(path: str, algo: str) -> str:
    h = hashlib.new("sha1" if algo == "sha" else algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def update_metadata(repo: RepoConfig, cachedir: str, cache_only: bool = False) -> bool:
    """Fetch repomd.xml and, when it changed, the primary metadata, into ``cachedir/ID``.

    With ``cache_only`` the cached copy is used without asking the server (an error if
    there is none). Returns whether the cached copy was used.
    """
    d = os.path.join(cachedir, repo.id)
    if cache_only:
        try:
            with open(os.path.join(d, "repomd.xml"), "rb") as f:
                repomd = f.read()
        except OSError:
            raise RpmOstreeError(f"Updating rpm-md repo '{repo.id}': no cached metadata "
                                 "(run without --cache-only first)") from None
        _parse_repomd(repo, d, repomd, fetch=False)
        return True
    if not repo.baseurl:
        raise RpmOstreeError(f"Updating rpm-md repo '{repo.id}': no baseurl (metalink and mirrorlist "
                             "are not supported)")
    os.makedirs(d, exist_ok=True)
    try:
        repomd = _fetch(repo.url("repodata/repomd.xml"))
    except RpmOstreeError as e:
        raise RpmOstreeError(f"Updating rpm-md repo '{repo.id}': Cannot download repomd.xml: {e.message}") from None
    _parse_repomd(repo, d, repomd, fetch=True)
    return False


def _parse_repomd(repo: RepoConfig, d: str, repomd: bytes, fetch: bool) -> None:
    try:
        root = ET.fromstring(repomd)
    except ET.ParseError as e:
        raise RpmOstreeError(f"Updating rpm-md repo '{repo.id}': repomd.xml: {e}") from None
    rev = root.find("repo:revision", _NS)
    repo.revision = rev.text if rev is not None else None
    primary = None
    for data in root.findall("repo:data", _NS):
        ts = data.find("repo:timestamp", _NS)
        if ts is not None and ts.text:
            try:
                repo.timestamp = max(repo.timestamp, int(float(ts.text)))
            except ValueError:
                pass
        if data.get("type") == "primary":
            primary = data
    if primary is None:
        raise RpmOstreeError(f"Updating rpm-md repo '{repo.id}': repomd.xml has no primary metadata")
    href = primary.find("repo:location", _NS).get("href")
    csum = primary.find("repo:checksum", _NS)
    algo, want = (csum.get("type"), csum.text.strip()) if csum is not None else (None, None)
    local = os.path.join(d, os.path.basename(href))
    if not fetch:
        if not os.path.exists(local):
            raise RpmOstreeError(f"Updating rpm-md repo '{repo.id}': cached metadata is incomplete")
        repo.primary = local
        return
    if not (os.path.exists(local) and want and _file_sha(local, algo) == want):
        try:
            _fetch(repo.url(href), local)
        except RpmOstreeError as e:
            raise RpmOstreeError(f"Updating rpm-md repo '{repo.id}': {e.message}") from None
        if want and _file_sha(local, algo) != want:
            raise RpmOstreeError(f"Updating rpm-md repo '{repo.id}': checksum mismatch for {href}")
        for old in os.listdir(d):
            if old not in (os.path.basename(href), "repomd.xml"):
                try:
                    os.unlink(os.path.join(d, old))
                except OSError:
                    pass
    with open(os.path.join(d, "repomd.xml.tmp"), "wb") as f:
        f.write(repomd)
    os.replace(os.path.join(d, "repomd.xml.tmp"), os.path.join(d, "repomd.xml"))
    repo.primary = local


def download(repo: RepoConfig, location: str, checksum: tuple | None, dest: str) -> None:
    """Download package ``location`` of ``repo`` to ``dest``, checking ``(algo, hex)``."""
    try:
        _fetch(repo.url(location), dest)
    except RpmOstreeError as e:
        raise RpmOstreeError(f"Downloading from '{repo.id}': {e.message}") from None
    if checksum and checksum[1] and _file_sha(dest, checksum[0]) != checksum[1]:
        raise RpmOstreeError(f"Downloading from '{repo.id}': checksum mismatch for {location}")


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
    _fetch(url, tmp)
    return tmp
