"""Container registries: ``docker://HOST[:PORT]/NAME[:TAG|@DIGEST]`` over the OCI
distribution API, read and written through httpx.

Reading (``RegistryImage``, what ``oci.open_image`` yields for a registry):
``GET /v2/NAME/manifests/REF`` with the OCI and Docker v2 manifest and index
types accepted; the body is read up to MAX_MANIFEST_SIZE and its sha256 is the
manifest's digest (checked against the reference when it names one); an
index picks the manifest for this machine's platform (linux and its Go
architecture), fetched by digest and checked the same way. The config and
the layers are ``GET /v2/NAME/blobs/DIGEST``, following redirects (the
Authorization header is not sent to another host); a layer is streamed and
checked while read (``oci.ImageReader.open_layer``), never trusted before
its end; a transfer cut short resumes with a Range request.

Writing (``RegistryWriter``, what ``oci.create_image`` yields): each layer is
spooled, gzip-compressed, to a temporary file (in ``$TMPDIR``, else ``/var/tmp``),
so its digest is known before it is sent; ``HEAD /v2/NAME/blobs/DIGEST`` skips a blob the registry already
has; otherwise ``POST /v2/NAME/blobs/uploads/`` then either one ``PUT
LOCATION?digest=D`` with the whole blob, or (blobs over ``chunk_size``)
``PATCH`` requests with ``Content-Range`` and a final empty ``PUT``. Blobs are
never cross-mounted from other repositories. The manifest is ``PUT`` to the
tag (or to its digest) last, after every blob it names.

Authentication: a 401 answer's ``WWW-Authenticate`` challenge says how.
``Bearer realm=...,service=...,scope=...``: a token is requested from the
realm (``GET realm?service=S&scope=S``, with the user's credentials as Basic
auth when there are some) and cached per scope; ``Basic``: the credentials
are sent as they are. Credentials come from the first auth file that has an
entry for the registry (module ``auth_files``): keys are ``HOST[:PORT]`` or
``HOST[:PORT]/NAMESPACE...`` (the longest that matches the repository wins),
legacy keys with a scheme and path (``https://index.docker.io/v1/``) match by
host; the value's ``auth`` is base64 of ``USER:PASSWORD``.

Transport security: TLS with certificate checks, unless registries.conf
(``CONTAINERS_REGISTRIES_CONF``, else ``$XDG_CONFIG_HOME/containers/registries.conf``
when it exists, else ``/etc/containers/registries.conf``; v2 TOML ``[[registry]]``
tables with ``location``, ``prefix`` and ``insecure``, the longest matching prefix
winning; v1 ``[registries.insecure] registries = [...]``) marks the registry
insecure: then certificates are not checked and, when TLS fails to connect,
plain HTTP is used, as containers/image does.

Failures: transient ones (connection resets, 408, 429, 5xx) are retried
``RETRIES`` times; the rest become ContainerError, with the message of the
registry's error JSON (``{"errors": [{"code", "message"}]}``) when it sent one.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import urllib.parse

from ostree_py.container.oci import (DOCKER_MANIFEST, MAX_MANIFEST_SIZE, MEDIA_INDEX,
                                     MEDIA_MANIFEST, ImageReader, LayerWriter, _parse_json,
                                     descriptor_digest, encode_json)
from ostree_py.errors import ContainerError

DOCKER_INDEX = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (MEDIA_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (MEDIA_INDEX, DOCKER_INDEX)
ACCEPT = ", ".join(MANIFEST_TYPES + INDEX_TYPES)
DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DEFAULT_TAG = "latest"
# blobs larger than this are sent as PATCH chunks of this size
CHUNK_SIZE = 64 << 20
RETRIES = 3
RETRY_DELAY = 0.5
CONNECT_TIMEOUT = 30.0
READ_TIMEOUT = 120.0
# a token endpoint's answer and an error body are read at most this far
MAX_SMALL_BODY = 1 << 20
_READ = 1 << 20
_NAME_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}\Z")


class RegistryReference:
    """``HOST[:PORT]/NAME[:TAG|@DIGEST]`` split: ``registry`` (host and port as
    written, ``docker.io`` when none is), ``repository``, ``tag`` and ``digest``
    (at most one of them set; ``tag`` is ``latest`` when neither is written)."""

    def __init__(self, registry: str, repository: str, tag: str | None, digest: str | None):
        self.registry, self.repository, self.tag, self.digest = registry, repository, tag, digest

    @classmethod
    def parse(cls, text: str) -> "RegistryReference":
        """Parse a reference as docker and containers/image do; ContainerError if invalid."""
        rest, digest = text, None
        if "@" in rest:
            rest, digest = rest.split("@", 1)
            if not _SHA256.match(digest):
                raise ContainerError(f"Invalid or unsupported digest in image reference {text}")
        tag = None
        slash = rest.rfind("/")
        if ":" in rest[slash + 1:]:
            rest, tag = rest.rsplit(":", 1)
            if not _TAG.match(tag):
                raise ContainerError(f"Invalid tag in image reference {text}")
        first, sep, remainder = rest.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"):
            registry, repository = first, remainder
        else:
            registry, repository = DOCKER_HUB, rest
            if "/" not in repository:
                repository = "library/" + repository
        if not repository or not all(_NAME_COMPONENT.match(c) for c in repository.split("/")):
            raise ContainerError(f"Invalid repository name in image reference {text}")
        if tag is None and digest is None:
            tag = DEFAULT_TAG
        return cls(registry, repository, tag, digest)

    @property
    def reference(self) -> str:
        """What follows ``/manifests/``: the digest when there is one, else the tag."""
        return self.digest or self.tag

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}" + (f"@{self.digest}" if self.digest else f":{self.tag}")


# ---------------------------------------------------------------------------
# configuration: registries.conf and auth files

def registries_conf_path() -> str:
    """The registries.conf podman reads: CONTAINERS_REGISTRIES_CONF, else the user's
    file if it exists, else the system's."""
    env = os.environ.get("CONTAINERS_REGISTRIES_CONF")
    if env:
        return env
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    user = os.path.join(config_home, "containers", "registries.conf")
    return user if os.path.exists(user) else "/etc/containers/registries.conf"


def _prefix_matches(prefix: str, name: str) -> bool:
    return name == prefix or name.startswith(prefix.rstrip("/") + "/") or (
        prefix.startswith("*.") and name.split("/", 1)[0].endswith(prefix[1:]))


def is_insecure(ref: RegistryReference, path: str | None = None) -> bool:
    """Whether registries.conf marks the registry of ``ref`` insecure (module docstring)."""
    import tomllib
    path = path or registries_conf_path()
    try:
        with open(path, "rb") as f:
            conf = tomllib.load(f)
    except FileNotFoundError:
        return False
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ContainerError(f"Loading registries configuration {path}: {e}") from None
    name = f"{ref.registry}/{ref.repository}"
    best, insecure = -1, False
    for entry in conf.get("registry") or []:
        if not isinstance(entry, dict):
            continue
        prefix = entry.get("prefix") or entry.get("location")
        if isinstance(prefix, str) and prefix and _prefix_matches(prefix, name) and len(prefix) > best:
            best, insecure = len(prefix), bool(entry.get("insecure", False))
    if best >= 0:
        return insecure
    v1 = (conf.get("registries") or {}).get("insecure") or {}
    return ref.registry in (v1.get("registries") or []) if isinstance(v1, dict) else False


def auth_files() -> list[str]:
    """The auth files searched for credentials, in order: REGISTRY_AUTH_FILE alone when
    set; else ostree-ext's own file when one exists (for root: /run/ostree/auth.json,
    /etc/ostree/auth.json, /usr/lib/ostree/auth.json); else containers-auth.json(5)'s
    list: $XDG_RUNTIME_DIR/containers/auth.json, $XDG_CONFIG_HOME/containers/auth.json,
    ~/.docker/config.json, ~/.dockercfg."""
    env = os.environ.get("REGISTRY_AUTH_FILE")
    if env:
        return [env]
    if os.geteuid() == 0:
        for p in ("/run/ostree/auth.json", "/etc/ostree/auth.json", "/usr/lib/ostree/auth.json"):
            if os.path.exists(p):
                return [p]
    home = os.path.expanduser("~")
    files = []
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        files.append(os.path.join(runtime, "containers", "auth.json"))
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    files.append(os.path.join(config_home, "containers", "auth.json"))
    files += [os.path.join(home, ".docker", "config.json"), os.path.join(home, ".dockercfg")]
    return files


def _auth_key_host(key: str) -> str:
    """A legacy key's host: ``https://index.docker.io/v1/`` -> ``index.docker.io``."""
    if "://" in key:
        key = key.split("://", 1)[1]
        return key.split("/", 1)[0]
    return key


def credentials(ref: RegistryReference, files: list[str] | None = None) -> tuple[str, str] | None:
    """(user, password) for ``ref`` from the first auth file with a matching entry."""
    name = f"{ref.registry}/{ref.repository}"
    hosts = {ref.registry}
    if ref.registry == DOCKER_HUB:
        hosts |= {"index.docker.io", DOCKER_HUB_API}
    for path in files if files is not None else auth_files():
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read(MAX_SMALL_BODY))
        except FileNotFoundError:
            continue
        except (OSError, ValueError, UnicodeDecodeError) as e:
            raise ContainerError(f"Reading auth file {path}: {e}") from None
        if not isinstance(data, dict):
            continue
        # ~/.dockercfg has the entries at the top level
        auths = data.get("auths") if "auths" in data else data
        if not isinstance(auths, dict):
            continue
        best = None
        for key, entry in auths.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("auth"), str):
                continue
            if "://" in key:
                rank = 0 if _auth_key_host(key) in hosts else -1
            elif "/" in key:
                rank = len(key) if _prefix_matches(key, name) else -1
            else:
                rank = 1 if key in hosts else -1
            if rank >= 0 and (best is None or rank > best[0]):
                best = (rank, entry["auth"])
        if best is None:
            continue
        try:
            user, sep, password = base64.b64decode(best[1], validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise ContainerError(f"Invalid auth entry for {ref.registry} in {path}") from None
        if not sep:
            raise ContainerError(f"Invalid auth entry for {ref.registry} in {path}")
        return user, password
    return None


# ---------------------------------------------------------------------------
# the client

def parse_challenge(header: str) -> tuple[str, dict]:
    """``WWW-Authenticate: SCHEME k="v",k2=v2`` -> (scheme in lower case, {k: v})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for m in re.finditer(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?', rest):
        params[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
    return scheme.lower(), params


def _error_message(r) -> str:
    """The registry's error JSON's messages, or the HTTP status."""
    body = bytearray()
    try:
        for chunk in _raw_chunks(r):
            body += chunk
            if len(body) > MAX_SMALL_BODY:
                break
    except Exception:  # noqa: BLE001 - a body that cannot be read says nothing
        pass
    try:
        texts = [str(e.get("message") or e.get("code")) for e in json.loads(bytes(body))["errors"]
                 if e.get("message") or e.get("code")]
        if texts:
            return "; ".join(texts)
    except Exception:  # noqa: BLE001 - any body that is not the error JSON
        pass
    return f"HTTP {r.status_code} {r.reason_phrase}".rstrip()


def _transient_status(status: int) -> bool:
    return status in (408, 429) or 500 <= status <= 599


class RegistryClient:
    """HTTP requests to one repository of one registry, authenticated as its challenges
    ask. ``transport`` (an httpx transport) replaces the network, for tests."""

    def __init__(self, ref: RegistryReference, *, insecure: bool | None = None,
                 auth: tuple[str, str] | None = None, transport=None, retries: int = RETRIES):
        import httpx
        self._httpx = httpx
        self.ref = ref
        self.insecure = is_insecure(ref) if insecure is None else insecure
        self.auth = auth if auth is not None else credentials(ref)
        self.retries = retries
        self._client = httpx.Client(verify=not self.insecure, transport=transport,
                                    timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
                                    follow_redirects=False,
                                    headers={"User-Agent": "ostree-py"})
        self._tokens: dict[str, str] = {}
        self._basic = False
        host = DOCKER_HUB_API if ref.registry == DOCKER_HUB else ref.registry
        self._base = f"https://{host}"
        self._scheme_known = not self.insecure

    def close(self) -> None:
        self._client.close()

    def url(self, path: str) -> str:
        """The URL of ``path`` under ``/v2/NAME/``."""
        return f"{self._base}/v2/{self.ref.repository}/{path}"

    def _auth_header(self, scope: str) -> dict:
        token = self._tokens.get(scope)
        if token is not None:
            return {"Authorization": f"Bearer {token}"}
        if self._basic and self.auth:
            return {"Authorization": _basic_header(self.auth)}
        return {}

    def _fetch_token(self, params: dict, scope: str) -> str:
        realm = params.get("realm")
        if not realm:
            raise ContainerError(f"Registry {self.ref.registry}: Bearer challenge without a realm")
        # our scope (a push token serves the pulls of a push too), and the challenge's
        # when it asks for another
        query = [("service", params["service"])] if params.get("service") else []
        query.append(("scope", scope))
        if params.get("scope") and params["scope"] != scope and not (
                scope.endswith(":pull,push") and params["scope"] == scope[:-len(",push")]):
            query.append(("scope", params["scope"]))
        auth = self.auth
        r = self._send_with_retries("GET", realm, params=query, auth=auth, what="requesting a token")
        try:
            if r.status_code == 401:
                raise ContainerError(f"Authenticating to {self.ref.registry}: unauthorized: "
                                     f"{_error_message(r)}" + ("" if auth else " (no credentials found)"))
            if r.status_code != 200:
                raise ContainerError(f"Authenticating to {self.ref.registry}: {_error_message(r)}")
            body = _read_capped_response(r, MAX_SMALL_BODY, "token response")
        finally:
            r.close()
        try:
            obj = json.loads(body)
            token = obj.get("token") or obj.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise ContainerError(f"Authenticating to {self.ref.registry}: no token in the answer")
        return token

    def _send_with_retries(self, method, url, *, what, content_factory=None, **kw):
        """One request (a response whose body is still to be read), retried on resets and
        transient statuses. ``content_factory()`` gives a fresh body for each attempt."""
        httpx = self._httpx
        for attempt in range(self.retries + 1):
            try:
                if content_factory is not None:
                    kw["content"] = content_factory()
                req = self._client.build_request(method, url, **{k: v for k, v in kw.items() if k != "auth"})
                if kw.get("auth"):
                    req.headers["Authorization"] = _basic_header(kw["auth"])
                r = self._client.send(req, stream=True)
            except httpx.InvalidURL as e:
                raise ContainerError(f"{what}: invalid URL {url!r}: {e}") from None
            except httpx.TransportError as e:
                # a refused connection or a bad request will not go better next time
                if attempt < self.retries and not isinstance(
                        e, (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.LocalProtocolError)):
                    time.sleep(RETRY_DELAY * (attempt + 1))
                    continue
                raise ContainerError(f"{what}: {_transport_message(e)}") from None
            if _transient_status(r.status_code) and attempt < self.retries:
                r.close()
                time.sleep(RETRY_DELAY * (attempt + 1))
                continue
            return r
        raise AssertionError("unreachable")

    def _pick_scheme(self) -> None:
        """For an insecure registry: https (unchecked) if it answers, else plain http."""
        if self._scheme_known:
            return
        self._scheme_known = True
        httpx = self._httpx
        try:
            r = self._client.get(f"{self._base}/v2/")
            r.close()
        except httpx.TransportError:
            self._base = "http://" + self._base.split("://", 1)[1]

    def request(self, method: str, path_or_url: str, *, scope: str = "pull", what: str,
                headers: dict | None = None, content_factory=None, follow: bool = False, **kw):
        """A request to ``path_or_url`` (under /v2/NAME/ unless absolute), authenticated
        for ``scope`` (``pull`` or ``pull,push``) as the registry's challenge asks; the
        response, body unread, whatever its status (except a 401 that auth cannot fix)."""
        self._pick_scheme()
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        full_scope = f"repository:{self.ref.repository}:{scope}"
        for attempt in (0, 1):
            hdrs = dict(headers or {})
            hdrs.update(self._auth_header(full_scope))
            r = self._send_with_retries(method, url, what=what, headers=hdrs,
                                        content_factory=content_factory, **kw)
            redirects = 0
            while follow and r.status_code in (301, 302, 303, 307, 308) and redirects < 10:
                loc = r.headers.get("location")
                r.close()
                if not loc:
                    raise ContainerError(f"{what}: redirect without a Location")
                new = _join_url(url, loc, what)
                # credentials stay with the registry: not sent to another host
                if urllib.parse.urlsplit(new)[:2] != urllib.parse.urlsplit(url)[:2]:
                    hdrs = {k: v for k, v in hdrs.items() if k.lower() != "authorization"}
                url = new
                r = self._send_with_retries(method, url, what=what, headers=hdrs, **kw)
                redirects += 1
            if r.status_code != 401 or attempt == 1:
                break
            challenge = r.headers.get("www-authenticate", "")
            message = _error_message(r)
            r.close()
            scheme, params = parse_challenge(challenge)
            if scheme == "bearer":
                self._tokens[full_scope] = self._fetch_token(params, full_scope)
            elif scheme == "basic" and self.auth and not self._basic:
                self._basic = True
            else:
                raise ContainerError(f"{what}: unauthorized: {message}"
                                     + ("" if self.auth else " (no credentials found)"))
        if r.status_code == 401:
            message = _error_message(r)
            r.close()
            raise ContainerError(f"{what}: unauthorized: {message}")
        return r


def _join_url(base: str, location: str, what: str) -> str:
    """A Location header's URL, resolved against the request's."""
    try:
        return urllib.parse.urljoin(base, location)
    except ValueError:
        raise ContainerError(f"{what}: invalid Location {location!r}") from None


def _transport_message(e) -> str:
    return str(e) or type(e).__name__


def _basic_header(auth: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode("utf-8")).decode()


def _raw_chunks(r):
    """The body's bytes as sent (no Content-Encoding undone: digests are over these), in
    chunks; a body already read in full (as a mock transport gives) at once."""
    import httpx
    try:
        yield from r.iter_raw()
    except httpx.StreamConsumed:
        yield r.content


def _read_capped_response(r, cap: int, what: str) -> bytes:
    declared = r.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise ContainerError(f"{what} of {declared} bytes exceeds the maximum of {cap}")
    buf = bytearray()
    for chunk in _raw_chunks(r):
        buf += chunk
        if len(buf) > cap:
            raise ContainerError(f"{what} exceeds the maximum size of {cap} bytes")
    return bytes(buf)


def _check_response(r, what: str, ok=(200,)) -> None:
    if r.status_code not in ok:
        message = _error_message(r)
        r.close()
        raise ContainerError(f"{what}: {message}")


# ---------------------------------------------------------------------------
# reading

class _BlobStream:
    """A blob's raw bytes from GET, resumed with a Range request when cut short."""

    def __init__(self, client: RegistryClient, desc: dict, what: str):
        self._c = client
        self._desc = desc
        self._what = what
        self._pos = 0
        self._buf = b""
        self._r = None
        self._it = None
        self._resumes = client.retries
        self._open()

    def _open(self) -> None:
        # the digest is over the bytes as stored: no compression in transit
        headers = {"Accept-Encoding": "identity"}
        if self._pos:
            headers["Range"] = f"bytes={self._pos}-"
        r = self._c.request("GET", f"blobs/{self._desc['digest']}", what=self._what,
                            headers=headers, follow=True)
        ok = (200, 206) if self._pos else (200,)
        _check_response(r, self._what, ok)
        skip = self._pos if r.status_code == 200 else 0
        self._r = r
        self._it = _raw_chunks(r)
        while skip:
            chunk = next(self._it, b"")
            if not chunk:
                break
            if len(chunk) > skip:
                self._buf = chunk[skip:]
                skip = 0
            else:
                skip -= len(chunk)

    def read(self, n: int = -1) -> bytes:
        if not self._buf:
            while True:
                try:
                    self._buf = next(self._it, b"")
                    break
                except self._c._httpx.TransportError as e:
                    self._r.close()
                    if self._resumes <= 0:
                        raise ContainerError(f"{self._what}: {_transport_message(e)}") from None
                    self._resumes -= 1
                    self._open()
                    if self._buf:
                        break
        if n < 0 or n >= len(self._buf):
            data, self._buf = self._buf, b""
        else:
            data, self._buf = self._buf[:n], self._buf[n:]
        self._pos += len(data)
        return data

    def close(self) -> None:
        if self._r is not None:
            self._r.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RegistryImage(ImageReader):
    """An image in a registry (the ``oci.ImageReader`` interface); layers are fetched
    when opened, by digest."""

    def __init__(self, client: RegistryClient):
        self.client = client
        ref = client.ref
        self.path = str(ref)
        data, media = self._get_manifest(ref.reference, ref.digest)
        if media in INDEX_TYPES:
            desc = self._pick_platform(_parse_json(data, "image index"))
            data, media = self._get_manifest(desc["digest"], desc["digest"])
            if media in INDEX_TYPES:
                raise ContainerError(f"{ref}: an index names another index")
        if media not in MANIFEST_TYPES:
            raise ContainerError(f"Unsupported manifest type {media!r}")
        self._load(_parse_json(data, "manifest"), "sha256:" + hashlib.sha256(data).hexdigest())

    def _get_manifest(self, reference: str, digest: str | None) -> tuple[bytes, str]:
        what = f"Reading manifest {reference} in {self.client.ref.registry}/{self.client.ref.repository}"
        r = self.client.request("GET", f"manifests/{reference}", what=what,
                                headers={"Accept": ACCEPT})
        try:
            _check_response(r, what)
            data = _read_capped_response(r, MAX_MANIFEST_SIZE, "Manifest")
            media = (r.headers.get("content-type") or "").split(";")[0].strip()
        finally:
            r.close()
        got = "sha256:" + hashlib.sha256(data).hexdigest()
        if digest is not None and got != digest:
            raise ContainerError(f"{what}: digest mismatch (got {got})")
        if media not in MANIFEST_TYPES + INDEX_TYPES:
            try:
                media = json.loads(data).get("mediaType") or media
            except (ValueError, AttributeError, UnicodeDecodeError):
                pass
        return data, media

    @staticmethod
    def _pick_platform(index: dict) -> dict:
        from ostree_py.container.encapsulate import go_arch
        arch = go_arch()
        manifests = index.get("manifests")
        if not isinstance(manifests, list):
            raise ContainerError("Invalid image index: no manifests")
        for d in manifests:
            p = d.get("platform") if isinstance(d, dict) else None
            if isinstance(p, dict) and p.get("os") == "linux" and p.get("architecture") == arch:
                descriptor_digest(d)
                return d
        raise ContainerError(f"No image for linux/{arch} in the image index")

    def read_blob(self, desc, cap: int) -> bytes:
        """A small blob's bytes, checked against its descriptor before they are returned."""
        hexd = descriptor_digest(desc)
        if desc["size"] > cap:
            raise ContainerError(f"Blob {desc['digest']} of {desc['size']} bytes exceeds the "
                                 f"maximum of {cap}")
        with self._open_blob(desc) as f:
            data = bytearray()
            while len(data) <= desc["size"]:
                chunk = f.read(_READ)
                if not chunk:
                    break
                data += chunk
        if len(data) != desc["size"] or hashlib.sha256(data).hexdigest() != hexd:
            raise ContainerError(f"Blob {desc['digest']}: digest or size mismatch")
        return bytes(data)

    def _open_blob(self, desc):
        descriptor_digest(desc)
        return _BlobStream(self.client, desc, f"Reading blob {desc['digest']}")


# ---------------------------------------------------------------------------
# writing

class _RegistryLayerWriter(LayerWriter):
    """A LayerWriter whose finished blob is pushed, then dropped from the spool."""

    def finish(self):
        layer = super().finish()
        path = os.path.join(self._w.blobdir, layer.digest.split(":")[1])
        try:
            self._w.push_blob_file(path, layer.digest, layer.size)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        return layer


class RegistryWriter:
    """Pushes blobs and a manifest to a registry (the ``oci.OciWriter`` interface);
    layers are spooled in ``blobdir``, a temporary directory removed by ``close``."""

    def __init__(self, client: RegistryClient, chunk_size: int | None = None):
        self.client = client
        self.path = str(client.ref)
        self.chunk_size = chunk_size or CHUNK_SIZE
        # a layer can be gigabytes: spooled on disk (/var/tmp, as containers/image puts
        # its big files, unless TMPDIR says otherwise), not in a tmpfs /tmp
        spool = os.environ.get("TMPDIR") or "/var/tmp"
        try:
            self.blobdir = tempfile.mkdtemp(prefix="ostree-py-push-", dir=spool)
        except OSError as e:
            raise ContainerError(f"Creating a spool directory in {spool}: {e.strerror}") from None
        self.uploaded: list[str] = []  # digests sent (not skipped)

    def close(self) -> None:
        shutil.rmtree(self.blobdir, ignore_errors=True)

    def _has_blob(self, digest: str) -> bool:
        what = f"Checking blob {digest}"
        r = self.client.request("HEAD", f"blobs/{digest}", scope="pull,push", what=what, follow=True)
        r.close()
        if r.status_code == 404:
            return False
        _check_response(r, what)
        return True

    def _upload(self, digest: str, size: int, opener) -> None:
        """POST an upload session, send the blob (``opener()`` gives a fresh binary stream
        of it), PUT with its digest."""
        what = f"Uploading blob {digest}"
        r = self.client.request("POST", "blobs/uploads/", scope="pull,push", what=what,
                                headers={"Content-Length": "0"})
        _check_response(r, what, (202,))
        r.close()
        loc = self._location(r, what)
        if size > self.chunk_size:
            # PATCH chunks, each streamed from the spool like a whole blob is
            start = 0
            while start < size:
                end = min(start + self.chunk_size, size) - 1
                r = self.client.request(
                    "PATCH", loc, scope="pull,push", what=what,
                    headers={"Content-Type": "application/octet-stream",
                             "Content-Length": str(end - start + 1),
                             "Content-Range": f"{start}-{end}"},
                    content_factory=lambda s=start, e=end: _stream_range(opener, s, e + 1 - s))
                _check_response(r, what, (202, 204))
                r.close()
                loc = self._location(r, what)
                start = end + 1
            body_factory, length = (lambda: b""), 0
        else:
            body_factory, length = (lambda: _stream_range(opener, 0, size)), size
        sep = "&" if "?" in loc else "?"
        r = self.client.request("PUT", f"{loc}{sep}digest={urllib.parse.quote(digest)}",
                                scope="pull,push", what=what,
                                headers={"Content-Type": "application/octet-stream",
                                         "Content-Length": str(length)},
                                content_factory=body_factory)
        _check_response(r, what, (201, 204))
        r.close()
        self.uploaded.append(digest)

    def _location(self, r, what: str) -> str:
        loc = r.headers.get("location")
        if not loc:
            raise ContainerError(f"{what}: the registry gave no upload Location")
        return _join_url(str(r.request.url), loc, what)

    def push_blob_file(self, path: str, digest: str, size: int) -> None:
        """Send the file ``path`` (sha256 ``digest``, ``size`` bytes) unless it is there."""
        if not self._has_blob(digest):
            self._upload(digest, size, lambda: open(path, "rb"))

    def write_blob(self, data: bytes, media_type: str) -> dict:
        """Send ``data`` unless the registry has it; its descriptor."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if not self._has_blob(digest):
            self._upload(digest, len(data), lambda: _BytesOpener(data))
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def layer(self) -> LayerWriter:
        """A LayerWriter for a new gzip layer, pushed when finished."""
        try:
            return _RegistryLayerWriter(self)
        except OSError as e:
            raise ContainerError(f"Creating a layer for {self.path}: {e.strerror}") from None

    def add_manifest(self, manifest: dict, platform: dict, tag: str | None) -> dict:
        """PUT the manifest to ``tag`` (or, without one, to the reference's digest, which
        it must have); its descriptor."""
        data = encode_json(manifest)
        media = manifest.get("mediaType") or MEDIA_MANIFEST
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        ref = self.client.ref
        if tag is None and ref.digest is not None and ref.digest != digest:
            raise ContainerError(f"The image's manifest is {digest}, not {ref.digest} as named")
        what = f"Writing manifest to {ref.registry}/{ref.repository}:{tag or digest}"
        r = self.client.request("PUT", f"manifests/{tag or digest}", scope="pull,push", what=what,
                                headers={"Content-Type": media, "Content-Length": str(len(data))},
                                content_factory=lambda: data)
        _check_response(r, what, (200, 201, 202))
        r.close()
        return {"mediaType": media, "digest": digest, "size": len(data), "platform": platform}


def _stream_range(opener, start: int, length: int):
    """``length`` bytes from ``start`` of the stream ``opener()`` gives, in chunks; a
    stream shorter than that is an error (the registry would refuse the digest)."""
    with opener() as f:
        f.seek(start)
        while length:
            chunk = f.read(min(_READ, length))
            if not chunk:
                raise ContainerError("The blob to upload is shorter than its size")
            length -= len(chunk)
            yield chunk


class _BytesOpener:
    """``bytes`` as a context manager giving a readable stream."""

    def __init__(self, data: bytes):
        import io
        self._f = io.BytesIO(data)

    def __enter__(self):
        return self._f

    def __exit__(self, *exc):
        self._f.close()


@contextlib.contextmanager
def open_registry_image(name: str, **client_args):
    """The RegistryImage of ``HOST[:PORT]/NAME[:TAG|@DIGEST]``."""
    client = RegistryClient(RegistryReference.parse(name), **client_args)
    try:
        yield RegistryImage(client)
    finally:
        client.close()


def head_manifest_digest(name: str, **client_args) -> str:
    """The digest of what ``HOST[:PORT]/NAME[:TAG]`` names now (an index's own digest for
    a multi-platform image), from a HEAD request's ``Docker-Content-Digest`` (a GET and
    its sha256 when the registry does not send one): what an upgrade compares first."""
    ref = RegistryReference.parse(name)
    client = RegistryClient(ref, **client_args)
    try:
        what = f"Reading manifest {ref.reference} in {ref.registry}/{ref.repository}"
        r = client.request("HEAD", f"manifests/{ref.reference}", what=what, headers={"Accept": ACCEPT})
        r.close()
        _check_response(r, what)
        digest = r.headers.get("docker-content-digest", "")
        if _SHA256.match(digest):
            return digest
        r = client.request("GET", f"manifests/{ref.reference}", what=what, headers={"Accept": ACCEPT})
        try:
            _check_response(r, what)
            return "sha256:" + hashlib.sha256(_read_capped_response(r, MAX_MANIFEST_SIZE, "Manifest")).hexdigest()
        finally:
            r.close()
    finally:
        client.close()


@contextlib.contextmanager
def create_registry_image(name: str, *, chunk_size: int | None = None, **client_args):
    """(RegistryWriter, tag) for ``HOST[:PORT]/NAME[:TAG|@DIGEST]``; tag is None for a
    reference by digest."""
    ref = RegistryReference.parse(name)
    client = RegistryClient(ref, **client_args)
    writer = RegistryWriter(client, chunk_size)
    try:
        yield writer, ref.tag
    finally:
        writer.close()
        client.close()
