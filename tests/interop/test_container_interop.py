"""Our OCI images of ostree commits, read by tools nobody here wrote.

The commit is made by the reference ostree from a real tree (plus a usr/etc);
skopeo reads our labels and digests and copies the image around (another oci
directory, an oci-archive) and what comes back still unencapsulates to the
same commit; umoci unpacks the image, and the reference ostree fscks and
lists the repository inside it, whose tree is the commit's.
"""

import json
import os
import shutil
import subprocess

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
