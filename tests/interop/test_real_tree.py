"""Interop on a real tree of thousands of files, in every repo mode.

For the same tree, subject, body, branch and timestamp, ostree-py and reference
ostree produce the same commit checksum; the reference fscks our repo and checks
it out identically; we read, fsck and check out the reference's repo.
"""

import pytest

from interop_common import tree_manifest

MODES = ["bare", "bare-user", "bare-user-only", "archive"]
COMMIT_ARGS = ["-b", "os/main", "-s", "A real tree", "-m", "body text", "--timestamp=2024-01-02T03:04:05Z",
               "--add-metadata-string=version=42.1"]


def _commit(run, repo, mode, tree):
    run("init", f"--repo={repo}", f"--mode={mode}")
    return run("commit", f"--repo={repo}", *COMMIT_ARGS, str(tree)).stdout.strip()


@pytest.mark.parametrize("mode", MODES)
def test_same_commit_checksum_and_cross_reading(mode, tmp_path, ours, ref, real_tree):
    ours_repo, ref_repo = tmp_path / "ours", tmp_path / "ref"
    c_ours = _commit(ours, ours_repo, mode, real_tree)
    c_ref = _commit(ref, ref_repo, mode, real_tree)
    assert len(c_ours) == 64
    assert c_ours == c_ref

    # the reference accepts our repo, and we accept its repo
    ref("fsck", f"--repo={ours_repo}")
    ours("fsck", f"--repo={ref_repo}")

    # checkouts are identical whichever tool writes the repo or checks it out
    co_flags = ["-U"] if mode in ("bare-user", "bare-user-only") else []
    outs = {}
    for tool_name, tool in (("ours", ours), ("ref", ref)):
        for repo_name, repo in (("ours", ours_repo), ("ref", ref_repo)):
            dest = tmp_path / f"co-{tool_name}-{repo_name}"
            tool("checkout", f"--repo={repo}", *co_flags, "os/main", str(dest))
            outs[(tool_name, repo_name)] = tree_manifest(dest)
    first = outs[("ref", "ref")]
    assert len(first) > 2000
    for key, manifest in outs.items():
        assert manifest == first, f"checkout {key} differs from the reference's"
