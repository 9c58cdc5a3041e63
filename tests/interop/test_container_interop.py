"""Our OCI images of ostree commits, read by tools nobody here wrote.

The commit is made by the reference ostree from a real tree (plus a usr/etc);
skopeo reads our labels and digests and copies the image around (another oci
directory, an oci-archive) and what comes back still unencapsulates to the
same commit; umoci unpacks the image, and the reference ostree fscks and
lists the repository inside it, whose tree is the commit's.

Registries: Debian's docker-registry (the distribution registry), started on a
loopback port over plain HTTP, which a temporary registries.conf marks
insecure. We push to it, skopeo inspects and copies what we pushed (to an
oci: directory and back to the registry), and what we pull back is the same
commit; its access log shows a second push sends no blob again.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from interop_common import tree_manifest

from ostree_py import Repo
from ostree_py.container.encapsulate import encapsulate, unencapsulate


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (make install installs it)")
    return path


def _run(*argv):
    p = subprocess.run(list(map(str, argv)), capture_output=True, text=True)
    assert p.returncode == 0, f"{argv} exited {p.returncode}: {p.stderr}"
    return p.stdout


@pytest.fixture(scope="module")
def ref_commit(tmp_path_factory, real_tree, ref):
    """(repo, checksum): the real tree and a usr/etc, committed by the reference ostree."""
    base = tmp_path_factory.mktemp("container")
    extra = base / "extra"
    os.makedirs(extra / "usr/etc/ssh")
    (extra / "usr/etc/hostname").write_text("box\n")
    (extra / "usr/etc/ssh/sshd_config").write_text("PermitRootLogin no\n")
    repo = base / "repo"
    ref("init", f"--repo={repo}", "--mode=archive")
    csum = ref("commit", f"--repo={repo}", "-b", "os/main", "-s", "Real tree",
               "--timestamp=2024-01-02T03:04:05Z", "--add-metadata-string=version=42.1",
               "--add-metadata=ostree.bootable=true",
               f"--tree=dir={real_tree}", f"--tree=dir={extra}").stdout.strip()
    return str(repo), csum


@pytest.fixture(scope="module")
def image(ref_commit, tmp_path_factory):
    repo, csum = ref_commit
    img = tmp_path_factory.mktemp("img") / "oci"
    digest = encapsulate(Repo.open(repo), "os/main", f"oci:{img}:latest")
    return str(img), digest


def test_skopeo_reads_our_labels_and_digests(image, ref_commit):
    _, csum = ref_commit
    img, digest = image
    skopeo = _tool("skopeo")
    info = json.loads(_run(skopeo, "inspect", f"oci:{img}:latest"))
    assert info["Digest"] == digest
    assert info["Labels"]["ostree.commit"] == csum
    assert info["Labels"]["org.opencontainers.image.version"] == "42.1"
    assert info["Labels"]["ostree.bootable"] == "true"
    assert info["Labels"]["containers.bootc"] == "1"
    raw = json.loads(_run(skopeo, "inspect", "--raw", f"oci:{img}:latest"))
    assert info["Layers"] == [layer["digest"] for layer in raw["layers"]]
    config = json.loads(_run(skopeo, "inspect", "--config", f"oci:{img}:latest"))
    assert config["config"]["Labels"]["ostree.final-diffid"] == config["rootfs"]["diff_ids"][0]
    assert config["created"] == "2024-01-02T03:04:05Z"


def test_skopeo_copies_still_unencapsulate_to_the_same_commit(image, ref_commit, tmp_path, ref):
    src_repo, csum = ref_commit
    img, _ = image
    skopeo = _tool("skopeo")
    _run(skopeo, "copy", f"oci:{img}:latest", f"oci:{tmp_path / 'copy'}:copied")
    _run(skopeo, "copy", f"oci:{tmp_path / 'copy'}:copied", f"oci-archive:{tmp_path / 'img.tar'}")
    listing = ref("ls", f"--repo={src_repo}", "-R", "-X", csum).stdout
    for mode, imgref in (("bare-user", f"oci:{tmp_path / 'copy'}:copied"),
                         ("archive", f"oci-archive:{tmp_path / 'img.tar'}")):
        dest = Repo.create(str(tmp_path / f"dest-{mode}"), mode=mode)
        res = unencapsulate(dest, f"ostree-unverified-image:{imgref}", write_ref="imported")
        assert res.commit == csum
        ref("fsck", f"--repo={dest.path}")
        assert ref("ls", f"--repo={dest.path}", "-R", "-X", "imported").stdout == listing


def test_umoci_unpack_gives_a_repo_the_reference_accepts(image, ref_commit, tmp_path, ref):
    src_repo, csum = ref_commit
    img, _ = image
    bundle = tmp_path / "bundle"
    _run(_tool("umoci"), "unpack", "--image", f"{img}:latest", bundle)
    rootfs = bundle / "rootfs"
    inner = rootfs / "sysroot/ostree/repo"
    ref("fsck", f"--repo={inner}")
    assert ref("ls", f"--repo={inner}", "-R", "-X", csum).stdout == \
        ref("ls", f"--repo={src_repo}", "-R", "-X", csum).stdout
    # the unpacked tree is the commit's, /usr/etc as /etc
    co = tmp_path / "co"
    ref("checkout", f"--repo={src_repo}", csum, co)
    unpacked = tree_manifest(rootfs / "usr")
    checked_out = tree_manifest(co / "usr")
    assert len(unpacked) > 2000
    assert {k: v for k, v in checked_out.items() if k != "etc" and not k.startswith("etc/")} == unpacked
    assert tree_manifest(rootfs / "etc") == tree_manifest(co / "usr/etc")


def test_chunked_image_unpacks_and_round_trips(ref_commit, tmp_path, ref):
    """A chunked image (components by directory, at most 6 layers): umoci stacks the
    layers into a repository the reference accepts and a tree that is the commit's;
    a skopeo copy unencapsulates to the same commit."""
    src_repo, csum = ref_commit
    repo = Repo.open(src_repo)
    components = {}
    stack = [("", repo.load_commit(csum).root_tree)]
    while stack:
        path, tree = stack.pop()
        t = repo.load_dirtree(tree)
        for _, fcsum in t.files:
            components.setdefault(fcsum, "/".join(path.split("/")[:5]) or "/")
        stack += [(f"{path}/{n}", tc) for n, tc, _ in t.dirs]
    img = tmp_path / "img"
    encapsulate(repo, csum, f"oci:{img}:chunked", components=components, max_layers=6)
    raw = json.loads(_run(_tool("skopeo"), "inspect", "--raw", f"oci:{img}:chunked"))
    assert len(raw["layers"]) == 6
    assert all("ostree.components" in layer["annotations"] for layer in raw["layers"][1:])
    bundle = tmp_path / "bundle"
    _run(_tool("umoci"), "unpack", "--image", f"{img}:chunked", bundle)
    inner = bundle / "rootfs/sysroot/ostree/repo"
    ref("fsck", f"--repo={inner}")
    co = tmp_path / "co"
    ref("checkout", f"--repo={src_repo}", csum, co)
    assert tree_manifest(bundle / "rootfs/usr/lib") == tree_manifest(co / "usr/lib")
    _run(_tool("skopeo"), "copy", f"oci:{img}:chunked", f"oci-archive:{tmp_path / 'c.tar'}")
    dest = Repo.create(str(tmp_path / "dest"), mode="bare-user")
    assert unencapsulate(dest, f"ostree-unverified-image:oci-archive:{tmp_path / 'c.tar'}").commit == csum
    ref("fsck", f"--repo={dest.path}")


# --- registries -------------------------------------------------------------

_REGISTRY_CONFIG = """version: 0.1
log:
  level: error
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """(host:port, access log path): docker-registry on a loopback port, its storage and
    config temporary, made insecure by a registries.conf in CONTAINERS_REGISTRIES_CONF
    (and no credentials: REGISTRY_AUTH_FILE names an empty auth file)."""
    binary = _tool("docker-registry")
    base = tmp_path_factory.mktemp("registry")
    port = _free_port()
    (base / "config.yml").write_text(_REGISTRY_CONFIG.format(root=base / "data", port=port))
    log = base / "access.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "serve", str(base / "config.yml")], stdout=out,
                                stderr=subprocess.STDOUT)
    host = f"127.0.0.1:{port}"
    conf = base / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{host}"\ninsecure = true\n')
    (base / "auth.json").write_text('{"auths": {}}')
    saved = {k: os.environ.get(k) for k in ("CONTAINERS_REGISTRIES_CONF", "REGISTRY_AUTH_FILE")}
    os.environ["CONTAINERS_REGISTRIES_CONF"] = str(conf)
    os.environ["REGISTRY_AUTH_FILE"] = str(base / "auth.json")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://{host}/v2/", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"docker-registry did not start: {log.read_text()}")
                time.sleep(0.2)
        yield host, log
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _requests(log, pattern):
    """Access-log lines whose request (``METHOD PATH``) matches ``pattern``."""
    return [m.group(1) for m in re.finditer(r'"([A-Z]+ \S+) HTTP/[0-9.]+"', log.read_text())
            if re.search(pattern, m.group(1))]


def test_registry_push_inspect_copy_pull(registry, ref_commit, tmp_path, ref):
    host, log = registry
    src_repo, csum = ref_commit
    digest = encapsulate(Repo.open(src_repo), "os/main", f"docker://{host}/os/base:42")
    skopeo = _tool("skopeo")
    info = json.loads(_run(skopeo, "inspect", "--tls-verify=false", f"docker://{host}/os/base:42"))
    assert info["Digest"] == digest
    assert info["Labels"]["ostree.commit"] == csum
    assert info["Labels"]["org.opencontainers.image.version"] == "42.1"
    raw = json.loads(_run(skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{host}/os/base:42"))
    assert info["Layers"] == [layer["digest"] for layer in raw["layers"]]
    # what we pushed, pulled back
    dest = Repo.create(str(tmp_path / "dest"), mode="bare-user")
    res = unencapsulate(dest, f"ostree-unverified-registry:{host}/os/base:42", write_ref="os")
    assert (res.commit, res.manifest_digest) == (csum, digest)
    ref("fsck", f"--repo={dest.path}")
    # skopeo copies it to an oci: directory and back to the registry; both still ours
    _run(skopeo, "copy", "--src-tls-verify=false", f"docker://{host}/os/base:42", f"oci:{tmp_path / 'copy'}:c")
    _run(skopeo, "copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'copy'}:c", f"docker://{host}/other/img:back")
    for imgref in (f"oci:{tmp_path / 'copy'}:c", f"docker://{host}/other/img:back"):
        dest = Repo.create(str(tmp_path / f"dest-{len(os.listdir(tmp_path))}"), mode="archive")
        assert unencapsulate(dest, f"ostree-unverified-image:{imgref}").commit == csum
        ref("fsck", f"--repo={dest.path}")


def test_registry_second_push_sends_no_blob(registry, ref_commit):
    host, log = registry
    src_repo, _ = ref_commit
    repo = Repo.open(src_repo)
    d1 = encapsulate(repo, "os/main", f"docker://{host}/twice/img:a")
    uploads = _requests(log, r"^POST /v2/twice/img/blobs/uploads/")
    assert len(uploads) == 2  # the layer and the config
    d2 = encapsulate(repo, "os/main", f"docker://{host}/twice/img:b")
    assert d1 == d2
    assert _requests(log, r"^POST /v2/twice/img/blobs/uploads/") == uploads
    assert len(_requests(log, r"^PUT /v2/twice/img/manifests/")) == 2
    with pytest.raises(Exception, match="manifest unknown"):
        unencapsulate(Repo.open(src_repo), f"ostree-unverified-registry:{host}/twice/img:nope")


_PREPARE = r"""
import os, sys
from ostree_py import Repo, commit
work, size = sys.argv[1], int(sys.argv[2])
os.makedirs(os.path.join(work, "tree"))
with open(os.path.join(work, "tree", "big"), "wb") as f:
    for _ in range(size >> 20):
        f.write(os.urandom(1 << 20))
src = Repo.create(os.path.join(work, "src"), mode="bare-user")
print(commit(src, os.path.join(work, "tree"), branch="main").checksum)
"""

# its own process: the peak RSS is that of a push and a pull of the image
_MEASURE = r"""
import os, resource, sys
from ostree_py import Repo
from ostree_py.container.encapsulate import encapsulate, unencapsulate
work, csum, name = sys.argv[1:4]
encapsulate(Repo.open(os.path.join(work, "src")), "main", "docker://" + name)
dest = Repo.create(os.path.join(work, "dest"), mode="bare-user")
assert unencapsulate(dest, "ostree-unverified-registry:" + name).commit == csum
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_registry_memory_flat_in_layer_size(registry, tmp_path):
    """Pushing and pulling a 64 MiB layer (incompressible) takes no more memory than a
    1 MiB one, give or take 24 MiB: blobs are streamed both ways."""
    host, _ = registry
    peaks = []
    for size in (1 << 20, 64 << 20):
        work = tmp_path / str(size)
        work.mkdir()
        csum = subprocess.run([sys.executable, "-c", _PREPARE, str(work), str(size)],
                              check=True, capture_output=True, text=True).stdout.strip()
        out = subprocess.run([sys.executable, "-c", _MEASURE, str(work), csum, f"{host}/rss/img:{size}"],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        peaks.append(int(out.stdout.split()[-1]))  # KiB
    print("peak RSS KiB", peaks)
    assert peaks[1] - peaks[0] < 24 * 1024, peaks
