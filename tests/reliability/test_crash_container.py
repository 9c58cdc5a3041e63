"""SIGKILL during ``container image pull``: after each kill the reference's fsck
passes and every ref names a complete commit; rerunning the pull completes, fetching
only the layers not stored yet, and ends at the same merge commit as a pull never
interrupted."""

import json
import os

import pytest

import reliability_harness as H


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """A chunked image (4 layers) of a plain tree, and the merge commit of a clean pull."""
    base = tmp_path_factory.mktemp("cimage")
    H.make_plain_tree(str(base / "tree/usr/lib"), 1)
    H.make_plain_tree(str(base / "tree/usr/share"), 2)
    src = str(base / "src")
    H.ok(["init", f"--repo={src}", "--mode=archive"])
    H.ok(["commit", f"--repo={src}", "-b", "os", "-s", "v1", f"--tree=dir={base / 'tree'}",
          "--timestamp=2024-01-01T00:00:00Z"])
    layout = str(base / "layout")
    H.ok(["container", "encapsulate", f"--repo={src}", "--max-layers=4", "os", f"oci:{layout}"])
    clean = str(base / "clean")
    H.ok(["init", f"--repo={clean}", "--mode=bare-user"])
    out = H.ok(["container", "image", "pull", clean, f"ostree-unverified-image:oci:{layout}"]).out
    with open(os.path.join(layout, "index.json")) as f:
        mdigest = json.load(f)["manifests"][0]["digest"]
    with open(os.path.join(layout, "blobs/sha256", mdigest.split(":")[1])) as f:
        nlayers = len(json.load(f)["layers"])
    return {"layout": layout, "merge": out.split(" => ")[-1].strip(), "nlayers": nlayers,
            "base": base}


def test_pull_killed_anywhere_resumes(image, tmp_path):
    imgref = f"ostree-unverified-image:oci:{image['layout']}"
    H.ok(["init", f"--repo={tmp_path / 'probe'}", "--mode=bare-user"])
    counts = H.count_checkpoints(["container", "image", "pull", str(tmp_path / "probe"), imgref],
                                 tmp_path)
    assert counts.get("ref", 0) >= image["nlayers"] + 1
    for name, n in H.kill_points(counts, kinds=("object", "ref"), every=("ref",)):
        repo = str(tmp_path / f"r-{name}-{n}")
        H.ok(["init", f"--repo={repo}", "--mode=bare-user"])
        H.run_killed_at(["container", "image", "pull", repo, imgref], name, n)
        refs = H.check_repo(repo)
        stored = [r for r in refs if r.startswith("ostree/container/blob/")]
        out = H.ok(["container", "image", "pull", repo, imgref]).out
        if any(r.startswith("ostree/container/image/") for r in refs):
            assert out.startswith("No changes in ")
        else:
            needed = image["nlayers"] - len(stored)
            if not needed:  # killed while writing the merge commit: nothing to fetch
                assert out.startswith("Wrote: "), (name, n, out)
            else:
                assert out.startswith(f"layers already present: {len(stored)}; "
                                      f"layers needed: {needed} ("), (name, n, out)
        assert out.split(" => ")[-1].strip() == image["merge"], (name, n, out)
        H.check_repo(repo)
