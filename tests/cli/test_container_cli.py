"""The ``container`` commands: ostree-ext's options, output and exit codes, and the
image store they keep; hostile images end as ``error: ...`` with nothing left behind."""

import gzip
import hashlib
import json
import os
import re

import pytest

from ostree_py import Repo
from ostree_py.container import store
from ostree_py.container.refescape import escape_for_ref, unescape_for_ref

DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")


def _ok(cli, *argv):
    r = cli([str(a) for a in argv])
    assert r.rc == 0, r
    return r


@pytest.fixture
def src(tmp_path, cli):
    """A repository with ``os`` (a small usr tree, version 1.0) and its checksum."""
    tree = tmp_path / "tree"
    for d in ("usr/bin", "usr/lib/app", "usr/etc"):
        os.makedirs(tree / d)
    (tree / "usr/bin/tool").write_text("#!/bin/sh\necho tool\n")
    (tree / "usr/lib/app/data").write_bytes(os.urandom(5000))
    (tree / "usr/etc/app.conf").write_text("x=1\n")
    repo = tmp_path / "src"
    _ok(cli, "init", f"--repo={repo}", "--mode=archive")
    _ok(cli, "commit", f"--repo={repo}", "-b", "os", "-s", "First", f"--tree=dir={tree}",
        "--add-metadata-string=version=1.0", "--timestamp=2024-05-06T07:08:09Z")
    csum = _ok(cli, "rev-parse", f"--repo={repo}", "os").out.strip()
    return str(repo), csum


@pytest.fixture
def dest(tmp_path, cli):
    repo = tmp_path / "dest"
    _ok(cli, "init", f"--repo={repo}", "--mode=bare-user")
    return str(repo)


def _index_manifest(layout):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    return index["manifests"]


def _blob(layout, digest):
    return os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])


def _objects(repo):
    out = set()
    for root, _, files in os.walk(os.path.join(repo, "objects")):
        out |= set(files)
    return out


def test_refescape_is_ostree_exts():
    assert escape_for_ref("localhost:5000/foo:latest") == "localhost_3A_5000/foo_3A_latest"
    assert store.ref_for_image(store.ImageReference.parse("registry:quay.io/coreos/fedora:latest")) \
        == "ostree/container/image/docker_3A__2F__2F_quay_2E_io/coreos/fedora_3A_latest"
    assert store.ref_for_blob("sha256:ab") == "ostree/container/blob/sha256_3A_ab"
    for s in ("/", "blah/", "/foo/", "a_b", "oci-archive:/p/x.ociarchive", "é"):
        assert unescape_for_ref(escape_for_ref(s)) == s


def test_encapsulate_prints_the_manifest_digest_with_labels_and_cmd(src, cli, tmp_path):
    repo, csum = src
    img = tmp_path / "img"
    r = _ok(cli, "container", "encapsulate", f"--repo={repo}", "--label", "a=b", "-l", "c=d=e",
            "--cmd", "/bin/sh", "--cmd", "-c", "os", f"oci:{img}:v1")
    digest = r.out.strip()
    assert DIGEST.match(digest) and r.err == ""
    (desc,) = _index_manifest(img)
    assert desc["digest"] == digest
    with open(_blob(img, digest)) as f:
        manifest = json.load(f)
    with open(_blob(img, manifest["config"]["digest"])) as f:
        config = json.load(f)
    labels = config["config"]["Labels"]
    assert labels["a"] == "b" and labels["c"] == "d=e" and labels["ostree.commit"] == csum
    assert config["config"]["Cmd"] == ["/bin/sh", "-c"]


def test_encapsulate_max_layers_chunks_by_directory(src, cli, tmp_path):
    repo, csum = src
    img = tmp_path / "img"
    digest = _ok(cli, "container", "encapsulate", f"--repo={repo}", "--max-layers=3", "os",
                 f"oci:{img}").out.strip()
    with open(_blob(img, digest)) as f:
        layers = json.load(f)["layers"]
    assert len(layers) == 3
    assert sorted(ly["annotations"]["ostree.components"] for ly in layers[1:]) \
        == ["usr/bin,usr/etc", "usr/lib/app"]


def test_encapsulate_bad_label_and_missing_args(src, cli, tmp_path):
    repo, _ = src
    r = cli(["container", "encapsulate", f"--repo={repo}", "--label", "nolabel", "os", f"oci:{tmp_path}/i"])
    assert (r.rc, r.err) == (1, "error: Missing '=' in label nolabel\n")
    assert not os.path.exists(tmp_path / "i")
    r = cli(["container", "encapsulate", f"--repo={repo}", "os"])
    assert r.rc == 1 and r.err.endswith("error: IMGREF must be specified\n")
    r = cli(["container", "encapsulate", f"--repo={repo}", "os", "nosuchtransport:x"])
    assert (r.rc, r.err) == (1, "error: Invalid transport 'nosuchtransport' in nosuchtransport:x\n")


def test_unencapsulate_output_and_write_ref(src, dest, cli, tmp_path):
    repo, csum = src
    img = tmp_path / "img"
    _ok(cli, "container", "encapsulate", f"--repo={repo}", "os", f"oci-archive:{img}")
    r = _ok(cli, "container", "unencapsulate", f"--repo={dest}", f"ostree-unverified-image:oci-archive:{img}")
    assert r.out == f"Imported: {csum}\n"
    r = _ok(cli, "container", "unencapsulate", f"--repo={dest}", "--write-ref=my/ref", "--quiet",
            f"ostree-unverified-image:oci-archive:{img}")
    assert r.out == f"Imported: my/ref => {csum}\n"
    assert Repo.open(dest).resolve_rev("my/ref") == csum


def test_pull_stores_layers_and_image_then_reports_no_changes(src, dest, cli, tmp_path):
    repo, csum = src
    img = tmp_path / "img"
    digest = _ok(cli, "container", "encapsulate", f"--repo={repo}", "os", f"oci:{img}:v1").out.strip()
    r = _ok(cli, "container", "image", "pull", dest, f"ostree-unverified-image:oci:{img}:v1")
    lines = r.out.splitlines()
    assert re.fullmatch(r"layers already present: 0; layers needed: 1 \(\d+(\.\d)?\xa0kB\)", lines[0])
    m = re.fullmatch(rf"Wrote: ostree-unverified-image:oci:{img}:v1 => ([0-9a-f]{{64}})", lines[1])
    assert m and len(lines) == 2
    merge = m.group(1)
    d = Repo.open(dest)
    refs = d.list_refs("ostree/container")
    with open(_blob(img, digest)) as f:
        manifest = json.load(f)
    layer = manifest["layers"][0]["digest"]
    assert refs == {store.ref_for_blob(layer): csum,
                    "ostree/container/image/" + escape_for_ref(f"oci:{img}:v1"): merge}
    commit = d.load_commit(merge)
    assert commit.parent == csum
    assert commit.root_tree == d.load_commit(csum).root_tree
    assert commit.metadata["ostree.manifest-digest"].value == digest
    assert json.loads(commit.metadata["ostree.manifest"].value) == manifest
    r = _ok(cli, "container", "image", "pull", dest, f"ostree-unverified-image:oci:{img}:v1")
    assert r.out == f"No changes in ostree-unverified-image:oci:{img}:v1 => {merge}\n"
    digestfile = tmp_path / "digest"
    _ok(cli, "container", "image", "pull", f"--ostree-digestfile={digestfile}", dest,
        f"ostree-unverified-image:oci:{img}:v1")
    assert digestfile.read_text() == merge


def test_list_history_metadata_remove_prune(src, dest, cli, tmp_path):
    repo, _ = src
    img = tmp_path / "img"
    digest = _ok(cli, "container", "encapsulate", f"--repo={repo}", "--max-layers=2", "os",
                 f"oci:{img}:v1").out.strip()
    _ok(cli, "container", "image", "pull", dest, f"ostree-unverified-image:oci:{img}:v1")
    assert _ok(cli, "container", "image", "list", f"--repo={dest}").out == f"oci:{img}:v1\n"
    assert json.loads(_ok(cli, "container", "image", "list", f"--repo={dest}", "--json").out) \
        == [f"oci:{img}:v1"]
    with open(_blob(img, digest), "rb") as f:
        manifest = json.load(f)
    out = _ok(cli, "container", "image", "metadata", f"--repo={dest}", f"oci:{img}:v1").out
    assert json.loads(out) == manifest and not out.endswith("\n")
    with open(_blob(img, manifest["config"]["digest"])) as f:
        config = json.load(f)
    out = _ok(cli, "container", "image", "metadata", "--config", f"--repo={dest}", f"oci:{img}:v1").out
    assert json.loads(out) == config
    hist = _ok(cli, "container", "image", "history", f"--repo={dest}", f"oci:{img}:v1").out.splitlines()
    assert hist[0].split() == ["ID", "SIZE", "CRCEATED", "BY"]
    assert [ln.split()[0] for ln in hist[1:]] == [ly["digest"][7:27] for ly in manifest["layers"]]
    assert hist[1].endswith("First")
    hjson = json.loads(_ok(cli, "container", "image", "history", "--json", f"--repo={dest}",
                           f"oci:{img}:v1").out)
    assert [h["digest"] for h in hjson] == [ly["digest"] for ly in manifest["layers"]]
    r = cli(["container", "image", "history", f"--repo={dest}", "oci:/nope"])
    assert (r.rc, r.err) == (1, "error: No such image: oci:/nope\n")
    r = cli(["container", "image", "metadata", f"--repo={dest}", "oci:/nope"])
    assert (r.rc, r.err) == (1, "error: No such image\n")
    r = _ok(cli, "container", "image", "remove", "--skip-gc", f"--repo={dest}", f"oci:{img}:v1")
    assert r.out == "Removed images: 1\n"
    assert _ok(cli, "container", "image", "list", f"--repo={dest}").out == ""
    assert _ok(cli, "container", "image", "prune-layers", f"--repo={dest}").out == "Removed layers: 2\n"
    assert Repo.open(dest).list_refs("ostree/container") == {}
    r = cli(["container", "image", "remove", f"--repo={dest}", f"oci:{img}:v1"])
    assert (r.rc, r.out, r.err) == (1, "", f"error: Missing images: oci:{img}:v1\n")


def test_a_stored_layer_is_never_fetched_again(src, dest, cli, tmp_path):
    """A second image sharing the commit layer pulls without reading that blob at all
    (it is deleted from the layout first), and reports the manifest diff."""
    repo, csum = src
    img = tmp_path / "img"
    d1 = _ok(cli, "container", "encapsulate", f"--repo={repo}", "os", f"oci:{img}:v1").out.strip()
    d2 = _ok(cli, "container", "encapsulate", f"--repo={repo}", "-l", "x=y", "os",
             f"oci:{img}:v2").out.strip()
    assert d1 != d2
    with open(_blob(img, d1)) as f:
        layer = json.load(f)["layers"][0]["digest"]
    _ok(cli, "container", "image", "pull", dest, f"ostree-unverified-image:oci:{img}:v1")
    os.unlink(_blob(img, layer))
    result = store.pull_image(Repo.open(dest), f"ostree-unverified-image:oci:{img}:v2")
    assert result.fetched == [] and not result.already_present
    assert Repo.open(dest).load_commit(result.merge_commit).parent == csum
    # the same image under its old name: an update, printed as ostree-ext prints it
    os.unlink(os.path.join(img, "index.json"))
    d3 = _ok(cli, "container", "encapsulate", f"--repo={repo}", "-l", "x=z", "os",
             f"oci:{img}:v1").out.strip()
    r = _ok(cli, "container", "image", "pull", dest, f"ostree-unverified-image:oci:{img}:v1")
    assert r.out.splitlines()[:3] == [
        "Total new layers: 1     Size: " + r.out.split("Size: ")[1].split("\n")[0],
        "Removed layers:   0     Size: 0 bytes",
        "Added layers:     0     Size: 0 bytes"]
    assert Repo.open(dest).load_commit(
        Repo.open(dest).resolve_rev(store.ref_for_image(store.ImageReference.parse(f"oci:{img}:v1")))
    ).metadata["ostree.manifest-digest"].value == d3


def test_interrupted_pull_resumes_with_what_is_stored(src, dest, cli, tmp_path):
    """A chunked image whose last chunk's blob lies: the pull fails, the chunks before it
    stay stored under their refs, no image ref; with the blob repaired, only the rest
    is fetched."""
    repo, _ = src
    img = tmp_path / "img"
    digest = _ok(cli, "container", "encapsulate", f"--repo={repo}", "--max-layers=3", "os",
                 f"oci:{img}").out.strip()
    with open(_blob(img, digest)) as f:
        layers = [ly["digest"] for ly in json.load(f)["layers"]]
    bad = _blob(img, layers[2])
    good = open(bad, "rb").read()
    with open(bad, "wb") as f:
        f.write(bytes([good[0] ^ 1]) + good[1:])
    r = cli(["container", "image", "pull", dest, f"ostree-unverified-image:oci:{img}"])
    assert r.rc == 1 and r.err.startswith("error: ") and "Traceback" not in r.err
    d = Repo.open(dest)
    assert set(d.list_refs("ostree/container")) == {store.ref_for_blob(layers[1])}
    with open(bad, "wb") as f:
        f.write(good)
    result = store.pull_image(Repo.open(dest), f"ostree-unverified-image:oci:{img}")
    assert result.fetched == [layers[2], layers[0]]


def _single_layer_image(cli, src, tmp_path):
    repo, _ = src
    img = tmp_path / "img"
    digest = _ok(cli, "container", "encapsulate", f"--repo={repo}", "os", f"oci:{img}").out.strip()
    with open(_blob(img, digest)) as f:
        manifest = json.load(f)
    return img, manifest


def _state(dest):
    tmp = os.path.join(dest, "tmp")
    staged = [os.path.join(tmp, n) for n in os.listdir(tmp) if n.startswith("staging-")
              and not n.endswith("-lock")]
    return (_objects(dest), sorted(os.listdir(tmp)), [os.listdir(s) for s in staged])


def _assert_nothing_stored(dest, before):
    assert Repo.open(dest).list_refs() == {}
    objects, tmp, staged = _state(dest)
    assert objects == before[0] and all(not s for s in staged)
    assert [n for n in tmp if not n.startswith("staging-")] == [n for n in before[1]
                                                                 if not n.startswith("staging-")]


def test_manifest_naming_a_missing_blob(src, dest, cli, tmp_path):
    img, manifest = _single_layer_image(cli, src, tmp_path)
    os.unlink(_blob(img, manifest["layers"][0]["digest"]))
    before = _state(dest)
    r = cli(["container", "image", "pull", dest, f"ostree-unverified-image:oci:{img}"])
    assert (r.rc, r.err) == (1, f"error: Blob {manifest['layers'][0]['digest']} is missing from the image\n")
    _assert_nothing_stored(dest, before)


def test_layer_whose_digest_lies(src, dest, cli, tmp_path):
    """The layer's bytes are another valid gzip stream of a tar that adds a file: the
    digest check refuses it at the end, and what it wrote goes with the transaction."""
    img, manifest = _single_layer_image(cli, src, tmp_path)
    p = _blob(img, manifest["layers"][0]["digest"])
    tar = gzip.decompress(open(p, "rb").read())
    evil = gzip.compress(tar, compresslevel=1)
    with open(p, "wb") as f:
        f.write(evil)
    # keep the size the descriptor names, so only the digest can tell
    with open(os.path.join(img, "index.json")) as f:
        index = json.load(f)
    manifest["layers"][0]["size"] = len(evil)
    mdata = json.dumps(manifest).encode()
    mdigest = hashlib.sha256(mdata).hexdigest()
    with open(os.path.join(img, "blobs/sha256", mdigest), "wb") as f:
        f.write(mdata)
    index["manifests"][0].update(digest="sha256:" + mdigest, size=len(mdata))
    with open(os.path.join(img, "index.json"), "w") as f:
        json.dump(index, f)
    before = _state(dest)
    r = cli(["container", "image", "pull", dest, f"ostree-unverified-image:oci:{img}"])
    assert r.rc == 1 and r.err.startswith(f"error: Blob {manifest['layers'][0]['digest']}: digest mismatch")
    _assert_nothing_stored(dest, before)
    r = cli(["container", "unencapsulate", f"--repo={dest}", f"ostree-unverified-image:oci:{img}"])
    assert r.rc == 1 and "digest mismatch" in r.err
    _assert_nothing_stored(dest, before)


def test_truncated_archive(src, dest, cli, tmp_path):
    repo, _ = src
    arch = tmp_path / "img.tar"
    _ok(cli, "container", "encapsulate", f"--repo={repo}", "os", f"oci-archive:{arch}")
    data = arch.read_bytes()
    arch.write_bytes(data[:len(data) // 2])
    before = _state(dest)
    r = cli(["container", "image", "pull", dest, f"ostree-unverified-image:oci-archive:{arch}"])
    assert r.rc == 1 and r.err.startswith("error: ") and "Traceback" not in r.err
    _assert_nothing_stored(dest, before)


def test_pull_errors_are_usage_and_opening_errors(dest, cli, tmp_path):
    r = cli(["container", "image", "pull", dest])
    assert r.rc == 1 and r.err.endswith("error: IMGREF must be specified\n")
    r = cli(["container", "image", "pull", str(tmp_path / "nope"), "ostree-unverified-image:oci:/x"])
    assert r.rc == 1 and r.err.startswith("error: opening repo: ")
    r = cli(["container", "image", "pull", dest, "oci:/x"])
    assert (r.rc, r.err) == (1, "error: Invalid ostree image reference scheme: oci\n")
    r = cli(["container", "image", "pull", dest, f"ostree-unverified-image:oci:{tmp_path}"])
    assert r.rc == 1 and "not an OCI image layout" in r.err


def test_derived_layer_whiteouts_and_paths(src, dest, cli, tmp_path):
    """A plain tar layer over the ostree commit: etc/ moves to usr/etc, tmp's children and
    /opt are dropped, a whiteout deletes the base's file, an opaque directory hides the
    base's directory contents."""
    import io
    import tarfile
    from ostree_py.container.oci import MEDIA_LAYER_TAR, encode_json
    repo, _ = src
    img = tmp_path / "img"
    digest = _ok(cli, "container", "encapsulate", f"--repo={repo}", "os", f"oci:{img}").out.strip()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(name, data=b"", kind=tarfile.REGTYPE):
            ti = tarfile.TarInfo(name)
            ti.type, ti.size, ti.mode = kind, len(data), 0o755 if kind == tarfile.DIRTYPE else 0o644
            t.addfile(ti, io.BytesIO(data))
        add("etc", kind=tarfile.DIRTYPE)
        add("etc/new.conf", b"new\n")
        add("usr/bin/.wh.tool")
        add("usr/lib/app/.wh..wh..opq")
        add("usr/lib/app/fresh", b"f")
        add("tmp/junk", b"j")
        add("opt/x", b"x")
    layer = buf.getvalue()
    ldigest = "sha256:" + hashlib.sha256(layer).hexdigest()
    open(_blob(img, ldigest), "wb").write(layer)
    with open(_blob(img, digest)) as f:
        manifest = json.load(f)
    with open(_blob(img, manifest["config"]["digest"])) as f:
        config = json.load(f)
    config["rootfs"]["diff_ids"].append(ldigest)
    cdata = encode_json(config)
    cdig = "sha256:" + hashlib.sha256(cdata).hexdigest()
    open(_blob(img, cdig), "wb").write(cdata)
    manifest["config"].update(digest=cdig, size=len(cdata))
    manifest["layers"].append({"mediaType": MEDIA_LAYER_TAR, "digest": ldigest, "size": len(layer)})
    mdata = encode_json(manifest)
    mdig = "sha256:" + hashlib.sha256(mdata).hexdigest()
    open(_blob(img, mdig), "wb").write(mdata)
    with open(os.path.join(img, "index.json")) as f:
        index = json.load(f)
    index["manifests"][0].update(digest=mdig, size=len(mdata))
    with open(os.path.join(img, "index.json"), "w") as f:
        json.dump(index, f)
    result = store.pull_image(Repo.open(dest), f"ostree-unverified-image:oci:{img}")
    r = _ok(cli, "ls", f"--repo={dest}", "-R", result.merge_commit)
    paths = {ln.split()[-1] for ln in r.out.splitlines()}
    assert {"/usr/etc/new.conf", "/usr/etc/app.conf", "/usr/lib/app/fresh"} <= paths
    assert not paths & {"/usr/bin/tool", "/usr/lib/app/data", "/tmp/junk", "/opt", "/opt/x"}
    assert not any(".wh." in p for p in paths)


def test_remote_verification_fails_closed_for_a_stored_layer(src, dest, cli, tmp_path):
    """The commit layer is stored by an unverified pull; a pull of the same image that
    asks for the signatures of a remote refuses it all the same (it is not signed)."""
    repo, _ = src
    img = tmp_path / "img"
    _ok(cli, "container", "encapsulate", f"--repo={repo}", "os", f"oci:{img}")
    _ok(cli, "remote", "add", f"--repo={dest}", "--set=gpg-verify=true", "os", "http://127.0.0.1:1/")
    _ok(cli, "container", "image", "pull", dest, f"ostree-unverified-image:oci:{img}")
    _ok(cli, "container", "image", "remove", f"--repo={dest}", "--skip-gc", f"oci:{img}")
    r = cli(["container", "image", "pull", dest, f"ostree-remote-image:os:oci:{img}"])
    assert r.rc == 1 and r.err.startswith("error: ") and "detached metadata" in r.err
    assert "ostree/container/image" not in " ".join(Repo.open(dest).list_refs())
