"""OCI images of commits: encapsulate, unencapsulate, labels, and what reading refuses.

A refused image leaves the repository as it was (no object, none staged, no ref).
"""

import hashlib
import json
import os

import pytest

from ostree_py import Repo, commit
from ostree_py.container.encapsulate import encapsulate, unencapsulate
from ostree_py.container.imgref import ImageReference, OstreeImageReference
from ostree_py.container.oci import encode_json, pack_archive
from ostree_py.container.tarcodec import REGULAR, TarWriter
from ostree_py.errors import ContainerError, OstreeError

from test_container_tar import make_tree, stored_files


@pytest.fixture
def source(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    make_tree(tree)
    repo = Repo.create(str(tmp_path / "src"), mode="bare-user")
    res = commit(repo, str(tree), branch="main", subject="OS 1.0", timestamp="2024-01-02T03:04:05Z",
                 add_metadata_string=["version=1.0", "ostree.linux=6.1.0", "vendor=acme"],
                 add_metadata=["ostree.bootable=true", "ostree.container-cmd=['/bin/bash', '-l']"])
    return repo, res.checksum


@pytest.fixture
def dest(tmp_path):
    return Repo.create(str(tmp_path / "dest"), mode="bare-user")


def _index(path):
    with open(os.path.join(path, "index.json")) as f:
        return json.load(f)


def _blob(path, digest):
    with open(os.path.join(path, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
        return f.read()


def _manifest_and_config(path, i=0):
    m = json.loads(_blob(path, _index(path)["manifests"][i]["digest"]))
    return m, json.loads(_blob(path, m["config"]["digest"]))


def test_round_trip_and_labels(source, dest, tmp_path):
    repo, csum = source
    img = str(tmp_path / "img")
    digest = encapsulate(repo, "main", f"oci:{img}:v1", copymeta=["vendor"])
    manifest, config = _manifest_and_config(img)
    assert _index(img)["manifests"][0]["digest"] == digest
    assert _index(img)["manifests"][0]["annotations"] == {"org.opencontainers.image.ref.name": "v1"}
    labels = config["config"]["Labels"]
    assert labels == {
        "ostree.commit": csum,
        "org.opencontainers.image.version": "1.0",
        "ostree.bootable": "true",
        "containers.bootc": "1",
        "ostree.linux": "6.1.0",
        "vendor": "acme",
        "ostree.final-diffid": config["rootfs"]["diff_ids"][0],
    }
    assert manifest["annotations"] == labels
    assert config["config"]["Cmd"] == ["/bin/bash", "-l"]
    assert config["created"] == "2024-01-02T03:04:05Z"
    assert config["history"] == [{"created": "2024-01-02T03:04:05Z", "created_by": "OS 1.0"}]
    assert config["os"] == "linux" and config["architecture"]
    layer = manifest["layers"][0]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert hashlib.sha256(_blob(img, layer["digest"])).hexdigest() == layer["digest"][7:]
    res = unencapsulate(dest, f"ostree-unverified-image:oci:{img}:v1", write_ref="imported")
    assert res.commit == csum and res.manifest_digest == digest
    assert dest.resolve_rev("imported") == csum


def test_options_override_and_legacy_label(source, tmp_path):
    repo, csum = source
    img = str(tmp_path / "img")
    encapsulate(repo, "main", f"oci:{img}", labels={"ostree.linux": "mine", "x": "y"},
                cmd=["/usr/bin/true"], legacy_version_label=True, copymeta_opt=["absent", "vendor"])
    _, config = _manifest_and_config(img)
    assert config["config"]["Labels"]["ostree.linux"] == "mine"
    assert config["config"]["Labels"]["x"] == "y"
    assert config["config"]["Labels"]["version"] == "1.0"
    assert config["config"]["Labels"]["vendor"] == "acme"
    assert "absent" not in config["config"]["Labels"]
    assert config["config"]["Cmd"] == ["/usr/bin/true"]
    with pytest.raises(ContainerError, match="Could not find commit metadata key: absent"):
        encapsulate(repo, "main", f"oci:{img}:x", copymeta=["absent"])


def test_tags_share_a_layout_and_archives_round_trip(source, dest, tmp_path):
    repo, csum = source
    img = str(tmp_path / "img")
    d1 = encapsulate(repo, "main", f"oci:{img}:a")
    d2 = encapsulate(repo, "main", f"oci:{img}:b", labels={"tag": "b"})
    assert {m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"]
            for m in _index(img)["manifests"]} == {"a": d1, "b": d2}
    with pytest.raises(ContainerError, match="holds 2 images"):
        unencapsulate(dest, f"ostree-unverified-image:oci:{img}")
    with pytest.raises(ContainerError, match="No image tagged 'c'"):
        unencapsulate(dest, f"ostree-unverified-image:oci:{img}:c")
    archive = str(tmp_path / "img.ociarchive")
    encapsulate(repo, "main", f"oci-archive:{archive}")
    assert unencapsulate(dest, f"ostree-unverified-image:oci-archive:{archive}").commit == csum
    assert [n for n in os.listdir(tmp_path) if n.startswith(".oci-")] == []


def _refused(dest, imgref, match):
    before = stored_files(dest)
    with pytest.raises(OstreeError, match=match):
        unencapsulate(dest, imgref)
    assert stored_files(dest) == before


def _rewrite(img, change_manifest=None, change_config=None):
    """Re-point index.json at a manifest changed by the callbacks (blobs re-hashed)."""
    manifest, config = _manifest_and_config(img)
    if change_config:
        change_config(config)
        data = encode_json(config)
        with open(os.path.join(img, "blobs/sha256", hashlib.sha256(data).hexdigest()), "wb") as f:
            f.write(data)
        manifest["config"] = dict(manifest["config"], digest="sha256:" + hashlib.sha256(data).hexdigest(),
                                  size=len(data))
    if change_manifest:
        change_manifest(manifest)
    data = encode_json(manifest)
    with open(os.path.join(img, "blobs/sha256", hashlib.sha256(data).hexdigest()), "wb") as f:
        f.write(data)
    index = _index(img)
    index["manifests"][0].update(digest="sha256:" + hashlib.sha256(data).hexdigest(), size=len(data))
    with open(os.path.join(img, "index.json"), "wb") as f:
        f.write(encode_json(index))


@pytest.fixture
def image(source, tmp_path):
    repo, _ = source
    img = str(tmp_path / "img")
    encapsulate(repo, "main", f"oci:{img}")
    return img


def test_tampered_layer_is_refused(image, dest):
    manifest, _ = _manifest_and_config(image)
    p = os.path.join(image, "blobs/sha256", manifest["layers"][0]["digest"][7:])
    data = bytearray(open(p, "rb").read())
    data[len(data) // 2] ^= 0x01
    open(p, "wb").write(data)
    _refused(dest, f"ostree-unverified-image:oci:{image}", "digest|Corrupted|CRC|checksum|Invalid")


def test_truncated_layer_is_refused(image, dest):
    manifest, _ = _manifest_and_config(image)
    p = os.path.join(image, "blobs/sha256", manifest["layers"][0]["digest"][7:])
    os.truncate(p, os.path.getsize(p) // 2)
    _refused(dest, f"ostree-unverified-image:oci:{image}", "expected .* bytes")


def test_tampered_manifest_and_config_are_refused(image, dest):
    index = _index(image)
    p = os.path.join(image, "blobs/sha256", index["manifests"][0]["digest"][7:])
    original = open(p, "rb").read()
    open(p, "wb").write(original.replace(b'"schemaVersion":2', b'"schemaVersion":3'))
    _refused(dest, f"ostree-unverified-image:oci:{image}", "digest or size mismatch")
    open(p, "wb").write(original)

    def other_diff_id(c):
        c["rootfs"]["diff_ids"][0] = c["config"]["Labels"]["ostree.final-diffid"] = "sha256:" + "0" * 64
    _rewrite(image, change_config=other_diff_id)
    _refused(dest, f"ostree-unverified-image:oci:{image}", "diff_id mismatch")


def test_label_naming_another_commit_is_refused(image, dest):
    def relabel(c):
        c["config"]["Labels"]["ostree.commit"] = "ab" * 32
    _rewrite(image, change_config=relabel)
    _refused(dest, f"ostree-unverified-image:oci:{image}", "does not match its commit")


def test_hostile_descriptors_are_refused_before_reading(image, dest):
    _rewrite(image, change_manifest=lambda m: m["layers"][0].update(digest="sha256:../../../etc/passwd"))
    _refused(dest, f"ostree-unverified-image:oci:{image}", "Invalid or unsupported digest")
    index = _index(image)
    index["manifests"][0]["size"] = 1 << 40
    with open(os.path.join(image, "index.json"), "wb") as f:
        f.write(encode_json(index))
    _refused(dest, f"ostree-unverified-image:oci:{image}", "expected .* bytes|exceeds")


def test_derived_layers_are_refused_by_unencapsulate(image, dest):
    def add_layer(m):
        m["layers"].append(dict(m["layers"][0]))
    _rewrite(image, change_manifest=add_layer,
             change_config=lambda c: c["rootfs"]["diff_ids"].append(c["rootfs"]["diff_ids"][0] + ""))
    # the final-diffid label names the first layer: the second is a derived one
    _refused(dest, f"ostree-unverified-image:oci:{image}", "1 non-ostree layers")


def test_archive_with_foreign_entries_is_refused(image, dest, tmp_path):
    archive = str(tmp_path / "evil.tar")
    pack_archive(image, archive)
    data = open(archive, "rb").read()[:-1024]
    import io
    buf = io.BytesIO()
    w = TarWriter(buf)
    w.add(b"../escape", REGULAR, size=1, data=b"x")
    w.finish()
    open(archive, "wb").write(data + buf.getvalue())
    _refused(dest, f"ostree-unverified-image:oci-archive:{archive}", "Unexpected entry")
    assert not os.path.exists(tmp_path / "escape")


def test_signature_policies_fail_closed(image, dest):
    # a remote that asks for GPG signatures: the unsigned commit is refused
    dest.config.set("remote \"os\"", "url", "http://127.0.0.1:1/")
    dest.config.set("remote \"os\"", "gpg-verify", "true")
    dest.save_config()
    _refused(dest, f"ostree-remote-image:os:oci:{image}", "verification|detached metadata|signature")
    _refused(dest, f"ostree-image-signed:oci:{image}", "not supported")


@pytest.mark.parametrize("text,transport,name", [
    ("oci:somedir", "oci", "somedir"),
    ("dir:/some/dir/blah", "dir", "/some/dir/blah"),
    ("oci-archive:/path/to/foo.ociarchive", "oci-archive", "/path/to/foo.ociarchive"),
    ("containers-storage:localhost/someimage:blah", "containers-storage", "localhost/someimage:blah"),
    ("docker://quay.io/exampleos/blah:sometag", "registry", "quay.io/exampleos/blah:sometag"),
    ("registry:quay.io/exampleos/blah", "registry", "quay.io/exampleos/blah"),
])
def test_image_references(text, transport, name):
    ref = ImageReference.parse(text)
    assert (ref.transport, ref.name) == (transport, name)


@pytest.mark.parametrize("text", ["", "foo://", "docker:blah", "registry:", "foo:bar"])
def test_invalid_image_references(text):
    with pytest.raises(ContainerError):
        ImageReference.parse(text)


def test_ostree_image_references():
    for text in ("ostree-remote-image:myremote:registry:quay.io/exampleos/blah",
                 "ostree-remote-registry:myremote:quay.io/exampleos/blah"):
        ref = OstreeImageReference.parse(text)
        assert (ref.sigverify, ref.remote, ref.imgref) == (
            "ostree-remote-image", "myremote", ImageReference("registry", "quay.io/exampleos/blah"))
        assert str(ref) == "ostree-remote-image:myremote:docker://quay.io/exampleos/blah"
    ref = OstreeImageReference.parse("ostree-unverified-image:docker://quay.io/exampleos/blah")
    assert str(ref) == "ostree-unverified-registry:quay.io/exampleos/blah"
    assert OstreeImageReference.parse("ostree-unverified-registry:quay.io/exampleos/blah") == ref
    ref = OstreeImageReference.parse("ostree-image-signed:docker://quay.io/exampleos/blah")
    assert str(ref) == "ostree-image-signed:docker://quay.io/exampleos/blah"
    for bad in ("oci:dir", "ostree-remote-image:only", "ostree-foo:oci:x"):
        with pytest.raises(ContainerError):
            OstreeImageReference.parse(bad)
    assert ImageReference.parse("oci:/d:tag").path_and_tag() == ("/d", "tag")
    assert ImageReference.parse("oci:/d").path_and_tag() == ("/d", None)


def _copy_tar(src: bytes, keep) -> bytes:
    """The entries of tar ``src`` for which ``keep(entry)`` holds, rewritten."""
    import io
    from ostree_py.container.tarcodec import TarReader
    out = io.BytesIO()
    w = TarWriter(out)
    for e in TarReader(io.BytesIO(src)):
        if keep(e):
            w.pax([("SCHILY.xattr." + k.decode(), v) for k, v in e.xattrs])
            data = e.read()
            w.add(e.path, e.typeflag, e.mode, e.uid, e.gid, size=len(data), linkname=e.linkname,
                  data=data)
    w.finish()
    return out.getvalue()


def test_chunked_image_objects_come_from_their_layer(source, dest, tmp_path):
    """A chunked image (ostree layer, then an object-set layer up to ostree.final-diffid):
    an object only the chunk holds lands; a chunk with a metadata object is refused."""
    import io
    from ostree_py.container.oci import OciWriter
    from ostree_py.container.tar_export import export_commit_tar, object_tar_path
    repo, csum = source
    full = io.BytesIO()
    export_commit_tar(repo, csum, full)
    full = full.getvalue()
    big = [e for e in __import__("tarfile").open(fileobj=io.BytesIO(full)).getmembers()
           if e.isreg() and e.size == 200_000][0].name.encode()
    prefix = big[:-len(b".file")]
    in_chunk = {big, prefix + b".file-xattrs-link"}
    # as ostree-ext splits them: the chunk has the objects and the tree paths linked to them
    def chunked(e):
        return e.path in in_chunk or (e.typeflag == b"1" and e.linkname == big)
    commit_layer = _copy_tar(full, lambda e: not chunked(e))
    chunk_layer = _copy_tar(full, lambda e: chunked(e) or e.typeflag == b"5")
    img = str(tmp_path / "img")

    def build(chunk: bytes):
        shutil_rm(img)
        w = OciWriter(img)
        layers = []
        for data in (commit_layer, chunk):
            lw = w.layer()
            lw.write(data)
            layers.append(lw.finish())
        config = {"architecture": "amd64", "os": "linux",
                  "config": {"Labels": {"ostree.commit": csum,
                                        "ostree.final-diffid": layers[-1].diff_id}},
                  "rootfs": {"type": "layers", "diff_ids": [la.diff_id for la in layers]}}
        cdesc = w.write_blob(encode_json(config), "application/vnd.oci.image.config.v1+json")
        w.add_manifest({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": cdesc, "layers": [la.descriptor() for la in layers]},
                       {"architecture": "amd64", "os": "linux"}, None)

    # without the chunk, the commit layer alone is incomplete
    build(_copy_tar(full, lambda e: e.typeflag == b"5"))
    _refused(dest, f"ostree-unverified-image:oci:{img}", "incomplete")
    build(chunk_layer)
    assert unencapsulate(dest, f"ostree-unverified-image:oci:{img}").commit == csum
    other = Repo.create(str(tmp_path / "other"), mode="bare-user")
    build(_copy_tar(full, lambda e: e.path in in_chunk or e.path.endswith(b".dirmeta")))
    _refused(other, f"ostree-unverified-image:oci:{img}", "metadata object .* in a chunk layer")
    assert object_tar_path(csum, "commit").startswith(b"sysroot/ostree/repo/objects/")


def shutil_rm(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def components_by_directory(repo, csum):
    """{content checksum: the name of its file's directory}: a stand-in for packages."""
    from ostree_py.container.tar_export import content_paths
    everything = {}
    stack = [("", repo.load_commit(csum).root_tree)]
    while stack:
        path, tree = stack.pop()
        t = repo.load_dirtree(tree)
        for _, fcsum in t.files:
            everything.setdefault(fcsum, path.strip("/").replace("/", "-") or "root")
        stack += [(f"{path}/{n}", tc) for n, tc, _ in t.dirs]
    assert set(content_paths(repo, csum, everything)) == set(everything)
    return everything


def test_chunked_encapsulate(source, dest, tmp_path):
    import io
    import tarfile
    from ostree_py.container.encapsulate import pack_components
    repo, csum = source
    components = components_by_directory(repo, csum)
    img = str(tmp_path / "img")
    encapsulate(repo, "main", f"oci:{img}", components=components, max_layers=3)
    manifest, config = _manifest_and_config(img)
    assert len(manifest["layers"]) == 3
    assert config["config"]["Labels"]["ostree.final-diffid"] == config["rootfs"]["diff_ids"][-1]
    names = [layer["annotations"]["ostree.components"] for layer in manifest["layers"][1:]]
    assert "annotations" not in manifest["layers"][0]
    assert sorted(",".join(names).split(",")) == sorted(set(components.values()))
    # a chunk's history entry names its components (in packing order)
    assert [sorted(h["created_by"].split(" and ")) for h in config["history"]][1:] == [
        n.split(",") for n in names]
    layer_names = []
    for desc in manifest["layers"]:
        t = tarfile.open(fileobj=io.BytesIO(_blob(img, desc["digest"])))
        layer_names.append([m.name for m in t.getmembers()])
    # the chunks: the skeleton, objects and links, no metadata object; the commit layer
    # has no chunked object
    for names_ in layer_names[1:]:
        assert names_[0] == "sysroot" and "sysroot/ostree/repo/config" in names_
        assert not [n for n in names_ if n.endswith((".dirtree", ".dirmeta", ".commit"))]
        objs = [n for n in names_ if n.endswith(".file")]
        assert objs and objs == sorted(objs)
        assert not set(objs) & set(layer_names[0])
    assert unencapsulate(dest, f"ostree-unverified-image:oci:{img}").commit == csum
    # one component per layer when there are enough layers; at most max_layers - 1 chunks
    assert pack_components({"a": 5, "b": 3, "c": 3, "d": 1}, 2) == [["a", "d"], ["b", "c"]]
    assert pack_components({"a": 1}, 4) == [["a"]]
    with pytest.raises(ContainerError, match="at least 2"):
        encapsulate(repo, "main", f"oci:{img}:x", components=components, max_layers=1)
