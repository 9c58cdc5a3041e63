"""A large commit writes the dirtrees of the directories it has finished walking and
keeps only their checksums (CommitBuilder._compact). With the threshold lowered to a
few files, so that every commit here compacts many times, commits must come out
exactly as without compaction and as the reference's, including overlays of several
trees onto directories already compacted, and --tree=ref on top."""

import os
import subprocess

import pytest

import ostree_py.ops.commit as commit_mod

REF = "/usr/bin/ostree"


def _tree(root, seed):
    for d in range(6):
        for sub in ("", "a", "a/b", "c"):
            p = root / f"d{d}" / sub
            p.mkdir(parents=True, exist_ok=True)
            for i in range(5):
                (p / f"f{i}").write_text(f"{seed} {d} {sub} {i}\n")
            os.chmod(p / "f0", 0o755)
    (root / "empty").mkdir(exist_ok=True)
    os.symlink("d0/f1", root / f"link{seed}")
    return root


def _commit(cli, repo, *trees, extra=()):
    r = cli([f"--repo={repo}", "commit", "--orphan", "--timestamp=@1", "--no-bindings",
             *[f"--tree={t}" for t in trees], *extra])
    assert r.rc == 0, r
    return r.out.strip()


@pytest.mark.parametrize("every", [1, 3, 7])
def test_compaction_changes_nothing(cli, tmp_path, monkeypatch, every):
    one = _tree(tmp_path / "one", 1)
    two = _tree(tmp_path / "two", 2)
    (two / "d1" / "a" / "new").write_text("only in two\n")
    repo = tmp_path / "repo"
    assert cli([f"--repo={repo}", "init", "--mode=bare-user"]).rc == 0

    monkeypatch.setattr(commit_mod, "_COMPACT_EVERY", 10 ** 9)
    plain = _commit(cli, repo, f"dir={one}", f"dir={two}")
    monkeypatch.setattr(commit_mod, "_COMPACT_EVERY", every)
    compacted = _commit(cli, repo, f"dir={one}", f"dir={two}")
    assert compacted == plain

    # the overlay onto trees compacted by the first walk, then a ref on top
    again = _commit(cli, repo, f"dir={two}", f"dir={one}", f"ref={plain}")
    monkeypatch.setattr(commit_mod, "_COMPACT_EVERY", 10 ** 9)
    assert _commit(cli, repo, f"dir={two}", f"dir={one}", f"ref={plain}") == again

    if os.path.exists(REF):
        rrepo = tmp_path / "rrepo"
        subprocess.run([REF, "init", f"--repo={rrepo}", "--mode=bare-user"], check=True)
        out = subprocess.run([REF, f"--repo={rrepo}", "commit", "--timestamp=@1",
                              "--orphan", "--no-bindings", f"--tree=dir={one}", f"--tree=dir={two}"],
                             check=True, capture_output=True, text=True).stdout.strip()
        assert out == plain
        assert subprocess.run([REF, f"--repo={repo}", "fsck"], capture_output=True).returncode == 0


def test_compaction_with_a_skipped_directory(cli, tmp_path, monkeypatch):
    """A directory the skip list drops leaves its parent uncompacted, and the result is
    the same as without compaction."""
    one = _tree(tmp_path / "one", 1)
    skip = tmp_path / "skip"
    skip.write_text("/d2/a\n/d4\n")
    repo = tmp_path / "repo"
    assert cli([f"--repo={repo}", "init", "--mode=archive"]).rc == 0
    monkeypatch.setattr(commit_mod, "_COMPACT_EVERY", 10 ** 9)
    plain = _commit(cli, repo, f"dir={one}", extra=[f"--skip-list={skip}"])
    monkeypatch.setattr(commit_mod, "_COMPACT_EVERY", 2)
    assert _commit(cli, repo, f"dir={one}", extra=[f"--skip-list={skip}"]) == plain
