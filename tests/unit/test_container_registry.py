"""docker:// images against a small in-process fake registry (an httpx MockTransport):
the protocol corners a real registry rarely shows (token challenges, wrong
credentials, corrupted, truncated and cut-short blobs, oversized manifests,
redirects to a blob host, chunked uploads, image indexes, registries.conf).

A refused image leaves the repository as it was (no commit, no ref).
"""

import base64
import functools
import hashlib
import json
import re

import httpx
import pytest

from ostree_py import Repo, commit
from ostree_py.container import registry
from ostree_py.container.encapsulate import encapsulate, go_arch, unencapsulate
from ostree_py.container.oci import MEDIA_MANIFEST, encode_json
from ostree_py.container.registry import (RegistryReference, credentials, is_insecure,
                                          parse_challenge)
from ostree_py.errors import ContainerError

from test_container_tar import make_tree, stored_files

REALM = "https://auth.test/token"
CDN = "https://cdn.test"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _CutStream(httpx.SyncByteStream):
    """A body that fails with a connection reset after ``cut`` bytes."""

    def __init__(self, data: bytes, cut: int):
        self.data, self.cut = data, cut

    def __iter__(self):
        yield self.data[:self.cut]
        raise httpx.ReadError("Connection reset by peer")


class FakeRegistry:
    """Enough of the distribution API for our client, with knobs for misbehaving."""

    def __init__(self, token_auth=True, users=None, basic_auth=False):
        self.token_auth, self.basic_auth = token_auth, basic_auth
        self.users = users if users is not None else {"alice": "s3cret"}
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, tuple[bytes, str]] = {}
        self.uploads: dict[str, bytearray] = {}
        self.log: list[httpx.Request] = []
        self.redirect_blobs = False
        self.corrupt: set[str] = set()      # digests served with one byte changed
        self.truncate: set[str] = set()     # digests served short
        self.cut_once: set[str] = set()     # digests whose first GET is reset midway
        self.no_tls = False                 # https connections fail (a plain HTTP server)
        self.upload_location = None         # a Location to send instead of the upload's
        self.head_digest = True             # HEAD of a manifest sends Docker-Content-Digest

    def transport(self):
        return httpx.MockTransport(lambda req: self.handle(req))

    def count(self, method, pattern=""):
        return sum(1 for r in self.log if r.method == method and re.search(pattern, r.url.path))

    def _authorized(self, req, scope):
        got = req.headers.get("authorization", "")
        if self.token_auth:
            # a token grants the scopes it was asked for: pull,push covers pull
            granted = got[len("Bearer tok:"):].split(" ") if got.startswith("Bearer tok:") else []
            repo, _, actions = scope.rpartition(":")
            return any(g.rpartition(":")[0] == repo and set(actions.split(",")) <= set(g.rpartition(":")[2].split(","))
                       for g in granted)
        if self.basic_auth:
            return any(got == "Basic " + base64.b64encode(f"{u}:{p}".encode()).decode()
                       for u, p in self.users.items())
        return True

    def _error(self, status, code, message, headers=None):
        body = json.dumps({"errors": [{"code": code, "message": message, "detail": None}]})
        return httpx.Response(status, content=body.encode(), headers=headers or {},
                              extensions={"reason_phrase": b"Err"})

    def handle(self, req: httpx.Request) -> httpx.Response:
        self.log.append(req)
        url = req.url
        if url.scheme == "https" and self.no_tls:
            raise httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number")
        if str(url).startswith(REALM):
            return self._token(req)
        if url.host == "cdn.test":
            return self._blob_body(req, url.path.rsplit("/", 1)[1])
        m = re.match(r"/v2/(?P<name>.+?)/(?P<kind>manifests|blobs/uploads|blobs)/?(?P<ref>[^/]*)$",
                     url.path)
        if url.path == "/v2/":
            return httpx.Response(200, json={})
        if not m:
            return self._error(404, "NOT_FOUND", "not found")
        name, kind, ref = m.group("name"), m.group("kind"), m.group("ref")
        push = req.method not in ("GET", "HEAD")
        scope = f"repository:{name}:{'pull,push' if push else 'pull'}"
        if not self._authorized(req, scope):
            if self.token_auth:
                hdr = f'Bearer realm="{REALM}",service="fake.test",scope="{scope}"'
            else:
                hdr = 'Basic realm="fake"'
            return self._error(401, "UNAUTHORIZED", "authentication required",
                               {"WWW-Authenticate": hdr})
        if kind == "manifests":
            if req.method == "PUT":
                data = req.read()
                self.manifests[ref] = (data, req.headers["content-type"])
                self.manifests[_sha(data)] = (data, req.headers["content-type"])
                return httpx.Response(201, headers={"Docker-Content-Digest": _sha(data)})
            if ref not in self.manifests:
                return self._error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            data, media = self.manifests[ref]
            headers = {"Content-Type": media}
            if req.method == "HEAD" and self.head_digest:
                headers["Docker-Content-Digest"] = _sha(data)
            return httpx.Response(200, content=data if req.method == "GET" else b"", headers=headers)
        if kind == "blobs/uploads":
            if req.method == "POST":
                uid = f"u{len(self.uploads)}"
                self.uploads[uid] = bytearray()
                loc = f"/v2/{name}/blobs/uploads/{uid}" if self.upload_location is None else self.upload_location
                return httpx.Response(202, headers={"Location": loc})
            buf = self.uploads[ref]
            if req.method == "PATCH":
                start, end = map(int, req.headers["content-range"].split("-"))
                assert start == len(buf)
                buf += req.read()
                assert len(buf) == end + 1
                return httpx.Response(202, headers={"Location": f"/v2/{name}/blobs/uploads/{ref}?s=1",
                                                    "Range": f"0-{len(buf) - 1}"})
            if req.method == "PUT":
                buf += req.read()
                digest = url.params["digest"]
                if _sha(bytes(buf)) != digest:
                    return self._error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
                self.blobs[digest] = bytes(buf)
                return httpx.Response(201, headers={"Location": f"/v2/{name}/blobs/{digest}"})
        if kind == "blobs":
            if ref not in self.blobs:
                return self._error(404, "BLOB_UNKNOWN", "blob unknown to registry")
            if req.method == "HEAD":
                return httpx.Response(200, headers={"Content-Length": str(len(self.blobs[ref]))})
            if self.redirect_blobs:
                return httpx.Response(307, headers={"Location": f"{CDN}/b/{ref}"})
            return self._blob_body(req, ref)
        return self._error(405, "UNSUPPORTED", "unsupported")

    def _blob_body(self, req, digest):
        data = self.blobs[digest]
        if digest in self.corrupt:
            data = data[:-1] + bytes([data[-1] ^ 1])
        if digest in self.truncate:
            data = data[:len(data) // 2]
        status, headers = 200, {}
        rng = req.headers.get("range")
        if rng:
            start = int(rng.split("=")[1].rstrip("-"))
            data, status = data[start:], 206
        if digest in self.cut_once and len(data) > 100:
            self.cut_once.discard(digest)
            return httpx.Response(200, stream=_CutStream(data, len(data) // 3))
        return httpx.Response(status, content=data, headers=headers)

    def _token(self, req):
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Basic "):
            return self._error(401, "UNAUTHORIZED", "authentication required")
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        if self.users.get(user) != password:
            return self._error(401, "UNAUTHORIZED", "invalid username or password")
        return httpx.Response(200, json={"token": "tok:" + " ".join(req.url.params.get_list("scope"))})


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """A FakeRegistry every RegistryClient talks to; alice's credentials in an auth file."""
    reg = FakeRegistry()
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"auths": {"reg.test": {"auth": base64.b64encode(b"alice:s3cret").decode()}}}))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth))
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(tmp_path / "none.conf"))
    monkeypatch.setattr(registry, "RETRY_DELAY", 0)
    init = registry.RegistryClient.__init__
    monkeypatch.setattr(registry.RegistryClient, "__init__",
                        functools.partialmethod(init, transport=reg.transport()))
    reg.auth_file = auth
    return reg


@pytest.fixture
def source(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    make_tree(tree)
    (tree / "usr" / "big").write_bytes(bytes(range(256)) * 2000)
    repo = Repo.create(str(tmp_path / "src"), mode="bare-user")
    res = commit(repo, str(tree), branch="main", subject="OS 1.0", timestamp="2024-01-02T03:04:05Z",
                 add_metadata_string=["version=1.0"])
    return repo, res.checksum


@pytest.fixture
def dest(tmp_path):
    return Repo.create(str(tmp_path / "dest"), mode="bare-user")


def _layer_digest(fake):
    manifest = json.loads(fake.manifests["v1"][0])
    return manifest["layers"][0]["digest"]


def _refused(dest, imgref, match):
    before = stored_files(dest)
    with pytest.raises(ContainerError, match=match):
        unencapsulate(dest, imgref, write_ref="os")
    assert stored_files(dest) == before


def test_round_trip_with_token_auth(fake, source, dest):
    repo, csum = source
    digest = encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    assert fake.manifests["v1"][0] == fake.manifests[digest][0]
    assert all(r.url.scheme == "https" for r in fake.log)
    got = unencapsulate(dest, "ostree-unverified-registry:reg.test/os/base:v1", write_ref="os")
    assert (got.commit, got.manifest_digest) == (csum, digest)
    assert dest.resolve_rev("os") == csum
    # one token per scope, asked with alice's credentials, then reused
    tokens = [r for r in fake.log if str(r.url).startswith(REALM)]
    assert sorted(r.url.params["scope"] for r in tokens) == [
        "repository:os/base:pull", "repository:os/base:pull,push"]
    assert all(r.url.params["service"] == "fake.test" for r in tokens)
    # the pull by digest reads the same image
    got = unencapsulate(Repo.create(str(dest.path) + "2", mode="bare-user"),
                        f"ostree-unverified-image:docker://reg.test/os/base@{digest}")
    assert got.commit == csum


def test_wrong_credentials_refused(fake, source):
    repo, _ = source
    fake.auth_file.write_text(json.dumps({"auths": {"reg.test": {"auth": base64.b64encode(b"alice:nope").decode()}}}))
    with pytest.raises(ContainerError, match="unauthorized: invalid username or password"):
        encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    assert fake.blobs == {} and fake.manifests == {}


def test_no_credentials_says_so(fake, source, monkeypatch, tmp_path):
    repo, _ = source
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(ContainerError, match=r"unauthorized: .*\(no credentials found\)"):
        encapsulate(repo, "main", "docker://reg.test/os/base:v1")


def test_basic_auth(fake, source, dest):
    repo, csum = source
    fake.token_auth, fake.basic_auth = False, True
    encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    assert unencapsulate(dest, "ostree-unverified-registry:reg.test/os/base:v1").commit == csum
    assert not any(str(r.url).startswith(REALM) for r in fake.log)


def test_push_twice_uploads_no_blob_twice(fake, source):
    repo, _ = source
    d1 = encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    posts = fake.count("POST", "/blobs/uploads/")
    assert posts == 2  # the layer and the config
    d2 = encapsulate(repo, "main", "docker://reg.test/os/base:v2")
    assert d1 == d2
    assert fake.count("POST", "/blobs/uploads/") == posts
    assert fake.count("PUT", "/manifests/") == 2


def test_chunked_upload(fake, source, dest, monkeypatch):
    repo, csum = source
    monkeypatch.setattr(registry, "CHUNK_SIZE", 1000)
    encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    assert fake.count("PATCH", "/blobs/uploads/") > 2
    assert unencapsulate(dest, "ostree-unverified-registry:reg.test/os/base:v1").commit == csum


def test_corrupted_layer_refused(fake, source, dest):
    repo, csum = source
    encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    fake.corrupt.add(_layer_digest(fake))
    _refused(dest, "ostree-unverified-registry:reg.test/os/base:v1", "digest mismatch|Corrupted layer|diff_id")


def test_truncated_layer_refused(fake, source, dest):
    repo, csum = source
    encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    fake.truncate.add(_layer_digest(fake))
    _refused(dest, "ostree-unverified-registry:reg.test/os/base:v1", "expected .* bytes, got|Corrupted layer")


def test_reset_midway_resumes_with_range(fake, source, dest):
    repo, csum = source
    encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    layer = _layer_digest(fake)
    fake.cut_once.add(layer)
    assert unencapsulate(dest, "ostree-unverified-registry:reg.test/os/base:v1").commit == csum
    gets = [r for r in fake.log if r.method == "GET" and r.url.path.endswith(layer)]
    assert len(gets) == 2 and "range" not in gets[0].headers
    assert gets[1].headers["range"].startswith("bytes=") and gets[1].headers["range"] != "bytes=0-"


def test_oversized_manifest_refused(fake, dest):
    big = encode_json({"schemaVersion": 2, "mediaType": MEDIA_MANIFEST, "config": {},
                       "layers": [], "annotations": {"pad": "x" * (registry.MAX_MANIFEST_SIZE)}})
    fake.manifests["v1"] = (big, MEDIA_MANIFEST)
    with pytest.raises(ContainerError, match="exceeds the maximum"):
        unencapsulate(dest, "ostree-unverified-registry:reg.test/os/base:v1")


def test_manifest_digest_checked(fake, source, dest):
    repo, _ = source
    digest = encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    data, media = fake.manifests[digest]
    fake.manifests[digest] = (data + b" ", media)
    with pytest.raises(ContainerError, match="digest mismatch"):
        unencapsulate(dest, f"ostree-unverified-image:docker://reg.test/os/base@{digest}")


def test_redirect_to_blob_host_drops_credentials(fake, source, dest):
    repo, csum = source
    encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    fake.redirect_blobs = True
    assert unencapsulate(dest, "ostree-unverified-registry:reg.test/os/base:v1").commit == csum
    cdn = [r for r in fake.log if r.url.host == "cdn.test"]
    assert len(cdn) == 2  # config and layer
    assert all("authorization" not in r.headers for r in cdn)


def test_registry_error_message(fake, dest):
    with pytest.raises(ContainerError, match="Reading manifest v9 in reg.test/os/base: manifest unknown"):
        unencapsulate(dest, "ostree-unverified-registry:reg.test/os/base:v9")


def test_index_picks_this_platform(fake, source, dest):
    repo, csum = source
    digest = encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    size = len(fake.manifests[digest][0])
    other = {"mediaType": MEDIA_MANIFEST, "digest": "sha256:" + "0" * 64, "size": 1,
             "platform": {"architecture": "arm64" if go_arch() != "arm64" else "amd64", "os": "linux"}}
    mine = {"mediaType": MEDIA_MANIFEST, "digest": digest, "size": size,
            "platform": {"architecture": go_arch(), "os": "linux"}}
    index = encode_json({"schemaVersion": 2, "mediaType": registry.DOCKER_INDEX, "manifests": [other, mine]})
    fake.manifests["multi"] = (index, registry.DOCKER_INDEX)
    got = unencapsulate(dest, "ostree-unverified-registry:reg.test/os/base:multi")
    assert (got.commit, got.manifest_digest) == (csum, digest)


def test_insecure_registry_falls_back_to_http(fake, source, dest, tmp_path, monkeypatch):
    repo, csum = source
    fake.no_tls, fake.token_auth = True, False
    with pytest.raises(ContainerError, match="WRONG_VERSION_NUMBER"):
        encapsulate(repo, "main", "docker://reg.test:5000/os/base:v1")
    conf = tmp_path / "registries.conf"
    conf.write_text('[[registry]]\nlocation = "reg.test:5000"\ninsecure = true\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    encapsulate(repo, "main", "docker://reg.test:5000/os/base:v1")
    assert unencapsulate(dest, "ostree-unverified-registry:reg.test:5000/os/base:v1").commit == csum
    assert any(r.url.scheme == "http" and r.url.port == 5000 for r in fake.log)


def test_registries_conf(tmp_path):
    conf = tmp_path / "r.conf"
    conf.write_text('[[registry]]\nlocation = "a.test"\ninsecure = true\n'
                    '[[registry]]\nprefix = "a.test/secure"\nlocation = "a.test/secure"\n'
                    '[[registry]]\nlocation = "*.lan"\ninsecure = true\n')
    ref = RegistryReference.parse
    assert is_insecure(ref("a.test/x/y:1"), str(conf))
    assert not is_insecure(ref("a.test/secure/y:1"), str(conf))
    assert not is_insecure(ref("a.testing/x:1"), str(conf))
    assert is_insecure(ref("box.lan/x"), str(conf))
    assert not is_insecure(ref("b.test/x"), str(conf))
    conf.write_text('[registries.insecure]\nregistries = ["old.test:5000"]\n')
    assert is_insecure(ref("old.test:5000/x"), str(conf))
    conf.write_text("[[registry]\n")
    with pytest.raises(ContainerError, match="registries configuration"):
        is_insecure(ref("a.test/x"), str(conf))


def test_credentials_lookup(tmp_path):
    def enc(s):
        return base64.b64encode(s.encode()).decode()
    f1, f2 = tmp_path / "a.json", tmp_path / "b.json"
    f1.write_text(json.dumps({"auths": {"reg.test": {"auth": enc("host:1")},
                                        "reg.test/team": {"auth": enc("team:2")},
                                        "reg.test/team/app": {"auth": enc("app:3")}}}))
    f2.write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": enc("hub:4")},
                                        "other.test:5000": {"auth": enc("o:p:q")}}}))
    ref = RegistryReference.parse
    files = [str(tmp_path / "missing.json"), str(f1), str(f2)]
    assert credentials(ref("reg.test/team/app:1"), files) == ("app", "3")
    assert credentials(ref("reg.test/team/other"), files) == ("team", "2")
    assert credentials(ref("reg.test/teamx/other"), files) == ("host", "1")
    assert credentials(ref("fedora"), files) == ("hub", "4")
    assert credentials(ref("other.test:5000/x"), files) == ("o", "p:q")
    assert credentials(ref("none.test/x"), files) is None


def test_reference_parse():
    def parts(text):
        r = RegistryReference.parse(text)
        return r.registry, r.repository, r.tag, r.digest
    d = "sha256:" + "a" * 64
    assert parts("fedora") == ("docker.io", "library/fedora", "latest", None)
    assert parts("quay.io/fedora/fedora-coreos:stable") == ("quay.io", "fedora/fedora-coreos", "stable", None)
    assert parts("127.0.0.1:5000/x") == ("127.0.0.1:5000", "x", "latest", None)
    assert parts(f"localhost/a/b@{d}") == ("localhost", "a/b", None, d)
    for bad in ("Reg.test/UPPER", "reg.test/x:bad tag", "reg.test/x@sha256:12", "reg.test/"):
        with pytest.raises(ContainerError):
            RegistryReference.parse(bad)


def test_parse_challenge():
    assert parse_challenge('Bearer realm="https://a/t",service="reg",scope="repository:x:pull,push"') == (
        "bearer", {"realm": "https://a/t", "service": "reg", "scope": "repository:x:pull,push"})
    assert parse_challenge('Basic realm=x') == ("basic", {"realm": "x"})


def test_transient_failures_retried(fake, source, dest):
    """A 503 and a connection reset before the answer are tried again; a 404 is not."""
    repo, csum = source
    encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    handle, hiccups = fake.handle, ["503", "reset"]

    def flaky(req):
        if req.url.path.endswith("/manifests/v1") and hiccups:
            if hiccups.pop(0) == "503":
                return httpx.Response(503, content=b"busy")
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return handle(req)
    fake.handle = flaky
    assert unencapsulate(dest, "ostree-unverified-registry:reg.test/os/base:v1").commit == csum
    assert hiccups == []
    before = fake.count("GET", "/manifests/nope")
    with pytest.raises(ContainerError, match="manifest unknown"):
        unencapsulate(dest, "ostree-unverified-registry:reg.test/os/base:nope")
    # one answered 401 (the token challenge), one answered 404, and no more
    assert fake.count("GET", "/manifests/nope") == before + 2


def test_docker_v2_manifest(fake, source, dest):
    """An image whose manifest has Docker's v2 schema 2 media types reads the same."""
    repo, csum = source
    encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    manifest = json.loads(fake.manifests["v1"][0])
    manifest["mediaType"] = registry.DOCKER_MANIFEST
    manifest["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json"
    for layer in manifest["layers"]:
        layer["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    data = encode_json(manifest)
    fake.manifests["docker"] = (data, registry.DOCKER_MANIFEST)
    got = unencapsulate(dest, "ostree-unverified-registry:reg.test/os/base:docker")
    assert (got.commit, got.manifest_digest) == (csum, _sha(data))
    accept = [r.headers["accept"] for r in fake.log if r.url.path.endswith("/manifests/docker")]
    assert registry.DOCKER_MANIFEST in accept[0] and MEDIA_MANIFEST in accept[0]


def test_head_manifest_digest(fake, source):
    """HEAD gives the digest without the manifest; without the header, GET and hash it."""
    repo, _ = source
    digest = encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    assert registry.head_manifest_digest("reg.test/os/base:v1") == digest
    assert fake.count("GET", "/manifests/") == 0
    fake.head_digest = False
    assert registry.head_manifest_digest("reg.test/os/base:v1") == digest
    assert fake.count("GET", "/manifests/") == 1
    with pytest.raises(ContainerError, match="Reading manifest v9 in reg.test/os/base: (manifest unknown|HTTP 404)"):
        registry.head_manifest_digest("reg.test/os/base:v9")


@pytest.mark.parametrize("location", ["http://[bad/x", "ftp://reg.test/up", ""])
def test_bad_upload_location_is_an_error(fake, source, location):
    """A Location that is no URL, of another scheme, or empty, ends the push with an error."""
    repo, _ = source
    fake.upload_location = location
    with pytest.raises(ContainerError, match="Uploading blob sha256:"):
        encapsulate(repo, "main", "docker://reg.test/os/base:v1")
    assert fake.manifests == {}
