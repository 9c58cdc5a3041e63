"""The image store, against tools nobody here wrote: umoci builds a plain OCI image
(a root filesystem, no ostree layer, labelled containers.bootc=1) and a derived image
on top of one of ours; ``ostree-py container image pull`` stores them; the reference
``ostree`` fscks the repository, lists the store's refs, reads the merge commit's
metadata and checks its tree out, which matches what umoci put in."""

import json
import os
import shutil
import subprocess

import pytest

from interop_common import tree_manifest

from ostree_py.container.refescape import escape_for_ref


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (make install installs it)")
    return path


def _run(*argv, **kw):
    p = subprocess.run(list(map(str, argv)), capture_output=True, text=True, **kw)
    assert p.returncode == 0, f"{argv} exited {p.returncode}: {p.stderr}"
    return p.stdout


@pytest.fixture(scope="module")
def umoci_image(tmp_path_factory):
    """(layout, rootfs): a two-layer umoci image of a small root filesystem."""
    base = tmp_path_factory.mktemp("umoci")
    umoci = _tool("umoci")
    layout = base / "layout"
    _run(umoci, "init", "--layout", layout)
    _run(umoci, "new", "--image", f"{layout}:latest")
    bundle = base / "bundle"
    _run(umoci, "unpack", "--rootless", "--image", f"{layout}:latest", bundle)
    root = bundle / "rootfs"
    for d in ("usr/bin", "usr/lib/os", "etc/app", "var/lib/app", "tmp/scratch", "opt/vendor"):
        os.makedirs(root / d, exist_ok=True)
    (root / "usr/bin/hello").write_text("#!/bin/sh\necho hello\n")
    os.chmod(root / "usr/bin/hello", 0o755)
    (root / "usr/lib/os/big").write_bytes(os.urandom(200_000))
    (root / "usr/lib/os/gone").write_text("removed by the second layer\n")
    (root / "etc/app/app.conf").write_text("mode=1\n")
    (root / "etc/hostname").write_text("")
    (root / "var/lib/app/state").write_text("s\n")
    (root / "tmp/scratch/junk").write_text("j\n")
    (root / "opt/vendor/tool").write_text("v\n")
    os.symlink("usr/bin", root / "bin")
    _run(umoci, "repack", "--image", f"{layout}:latest", bundle)
    bundle = base / "bundle2"
    _run(umoci, "unpack", "--rootless", "--image", f"{layout}:latest", bundle)
    root = bundle / "rootfs"
    os.unlink(root / "usr/lib/os/gone")
    (root / "usr/bin/second").write_text("second layer\n")
    _run(umoci, "repack", "--image", f"{layout}:latest", bundle)
    _run(umoci, "config", "--image", f"{layout}:latest", "--config.label", "containers.bootc=1")
    return layout, root


def test_plain_umoci_image_pulled_and_read_by_the_reference(umoci_image, tmp_path, ours, ref):
    layout, root = umoci_image
    repo = tmp_path / "repo"
    ref("init", f"--repo={repo}", "--mode=bare-user")
    imgref = f"oci:{layout}:latest"
    out = ours("container", "image", "pull", repo, f"ostree-unverified-image:{imgref}").stdout
    manifest = json.loads(_run(_tool("skopeo"), "inspect", "--raw", f"oci:{layout}:latest"))
    assert len(manifest["layers"]) == 2
    lines = out.splitlines()
    assert lines[0].startswith("layers already present: 0; layers needed: 2 (")
    merge = lines[1].rsplit(" => ", 1)[1]
    assert lines[1] == f"Wrote: ostree-unverified-image:{imgref} => {merge}"

    ref("fsck", f"--repo={repo}")
    refs = set(ref("refs", f"--repo={repo}").stdout.split())
    image_ref = "ostree/container/image/" + escape_for_ref(imgref)
    assert refs == {image_ref} | {"ostree/container/blob/" + escape_for_ref(ly["digest"])
                                  for ly in manifest["layers"]}
    assert ref("rev-parse", f"--repo={repo}", image_ref).stdout.strip() == merge
    digest = ref("show", f"--repo={repo}", "--print-metadata-key=ostree.manifest-digest", merge).stdout
    assert digest.strip() == "'" + _run(_tool("skopeo"), "inspect", "--format", "{{.Digest}}",
                                        f"oci:{layout}:latest").strip() + "'"
    config = ref("show", f"--repo={repo}", "--print-metadata-key=ostree.container.image-config",
                 merge).stdout
    assert '"containers.bootc":"1"' in config

    co = tmp_path / "co"
    ref("checkout", f"--repo={repo}", "-U", merge, co)
    # what ostree-ext stores of a root filesystem: etc in usr/etc, var in the factory,
    # the contents of tmp dropped, other top-level paths kept (no ostree base)
    expect = tmp_path / "expect"
    shutil.copytree(root, expect, symlinks=True)
    shutil.move(expect / "etc", expect / "usr/etc")
    os.makedirs(expect / "usr/share/factory")
    shutil.move(expect / "var", expect / "usr/share/factory/var")
    shutil.rmtree(expect / "tmp/scratch")
    os.unlink(expect / "usr/etc/hostname")  # empty: runtime-injected, removed
    # (a bare-user checkout hardlinks objects: their user.ostreemeta xattr is not the tree's)
    def without_xattrs(m):
        return {path: entry[:-1] for path, entry in m.items()}
    assert without_xattrs(tree_manifest(co)) == without_xattrs(tree_manifest(expect))


def test_derived_umoci_layer_over_our_image(tmp_path, ours, ref):
    """umoci adds a layer to an image we encapsulated (a file removed, one added, one in
    /opt): pulled, the reference checks out the base commit's tree with the change laid
    over it (and /opt dropped, as over an ostree base); the base commit is the merge's
    parent and a second image sharing the base fetches only its new layer."""
    tree = tmp_path / "tree"
    os.makedirs(tree / "usr/bin")
    os.makedirs(tree / "usr/etc")
    (tree / "usr/bin/a").write_text("a\n")
    (tree / "usr/bin/b").write_text("b\n")
    (tree / "usr/etc/os").write_text("os\n")
    src = tmp_path / "src"
    ref("init", f"--repo={src}", "--mode=archive")
    base = ref("commit", f"--repo={src}", "-b", "os", f"--tree=dir={tree}").stdout.strip()
    layout = tmp_path / "layout"
    ours("container", "encapsulate", f"--repo={src}", "os", f"oci:{layout}:base")
    umoci = _tool("umoci")
    bundle = tmp_path / "bundle"
    _run(umoci, "unpack", "--rootless", "--image", f"{layout}:base", bundle)
    os.unlink(bundle / "rootfs/usr/bin/a")
    (bundle / "rootfs/usr/bin/c").write_text("c\n")
    os.makedirs(bundle / "rootfs/opt")
    (bundle / "rootfs/opt/x").write_text("x\n")
    _run(umoci, "repack", "--image", f"{layout}:derived", bundle)

    repo = tmp_path / "repo"
    ref("init", f"--repo={repo}", "--mode=bare-user")
    ours("container", "image", "pull", repo, f"ostree-unverified-image:oci:{layout}:base")
    out = ours("container", "image", "pull", repo, f"ostree-unverified-image:oci:{layout}:derived").stdout
    assert out.splitlines()[0].startswith("layers already present: 1; layers needed: 1 (")
    merge = out.splitlines()[-1].rsplit(" => ", 1)[1]
    ref("fsck", f"--repo={repo}")
    log = ref("log", f"--repo={repo}", merge).stdout
    assert f"commit {base}" in log
    co = tmp_path / "co"
    ref("checkout", f"--repo={repo}", "-U", merge, co)
    assert sorted(os.listdir(co / "usr/bin")) == ["b", "c"]
    assert not os.path.exists(co / "opt")
    assert (co / "usr/etc/os").read_text() == "os\n"
    # both images listed; removing the derived one drops only its own layer
    listed = ours("container", "image", "list", f"--repo={repo}").stdout.split()
    assert listed == sorted([f"oci:{layout}:base", f"oci:{layout}:derived"],
                            key=lambda s: escape_for_ref(s))
    assert ours("container", "image", "remove", f"--repo={repo}", f"oci:{layout}:derived").stdout \
        == "Removed images: 1 layers: 1\n"
    ref("prune", f"--repo={repo}", "--refs-only")
    ref("fsck", f"--repo={repo}")
