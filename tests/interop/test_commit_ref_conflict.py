"""commit -b REF where REF is a directory of refs: a conflict when it holds refs, replaced when empty
(as the reference does; ostree-py used to delete the refs below)."""

import os
import subprocess
import sys

import pytest

REF_OSTREE = "/usr/bin/ostree"
OURS = [sys.executable, "-m", "ostree_py.commands"]


def _run(prog, *args):
    p = subprocess.run(list(prog) + list(args), capture_output=True, text=True, check=False)
    return p.returncode, p.stderr


@pytest.mark.parametrize("prog", [OURS, [REF_OSTREE]], ids=["ours", "reference"])
def test_commit_onto_a_directory_of_refs(tmp_path, prog):
    if prog[0] == REF_OSTREE and not os.path.exists(REF_OSTREE):
        pytest.fail("reference ostree missing: make install")
    repo, tree = tmp_path / "repo", tmp_path / "tree"
    tree.mkdir()
    (tree / "f").write_text("x")
    r = f"--repo={repo}"
    assert _run(prog, r, "init", "--mode=archive")[0] == 0
    assert _run(prog, r, "commit", "-b", "q/b/zz", f"--tree=dir={tree}")[0] == 0
    csum = (repo / "refs/heads/q/b/zz").read_text().strip()
    for name in ("mm", "aa", "c/d"):
        assert _run(prog, r, "refs", f"--create=q/b/{name}", csum)[0] == 0
    assert _run(prog, r, "commit", "-b", "q/b", f"--tree=dir={tree}") == (
        1, "error: Conflict: aa exists under q/b when attempting write\n")
    assert (repo / "refs/heads/q/b/c/d").read_text().strip() == csum  # nothing was removed
    for name in ("mm", "aa", "c/d", "zz"):
        assert _run(prog, r, "refs", "--delete", f"q/b/{name}")[0] == 0
    assert _run(prog, r, "commit", "-b", "q/b", f"--tree=dir={tree}")[0] == 0
    assert (repo / "refs/heads/q/b").is_file()
