"""Reachability walks (traverse.py) on repositories made by the reference ostree."""

import os
import shutil
import subprocess

import pytest

from ostree_py.errors import InvalidObjectError, ObjectNotFoundError
from ostree_py.core.objects import COMMIT_TYPE
from ostree_py.core import gvariant
from ostree_py.repo import Repo
from ostree_py.repo.traverse import Parents, key_parts, object_key, traverse_commit, traverse_commits

OSTREE = shutil.which("ostree", path="/usr/bin:/bin") or "/usr/bin/ostree"


def ost(repo, *args):
    return subprocess.run([OSTREE, f"--repo={repo}", *map(str, args)], check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def _history_template(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("history")
    repo = tmp_path / "repo"
    ost(repo, "init", "--mode=bare-user")
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "a").write_text("a\n")
    (tree / "sub" / "b").write_text("b\n")
    commits = []
    for i in range(3):
        (tree / "sub" / "deeper" / f"n{i}").write_text(f"{i}\n")
        commits.append(ost(repo, "commit", "-b", "main", "-s", f"c{i}", tree))
    return repo, commits


@pytest.fixture
def history(_history_template, tmp_path):
    """A bare-user repo with three commits on 'main'; returns (path, [oldest..newest])."""
    src, commits = _history_template
    dst = tmp_path / "repo"
    shutil.copytree(src, dst, symlinks=True)
    return dst, commits


def all_objects(repo_path):
    out = set()
    for d in os.listdir(repo_path / "objects"):
        for n in os.listdir(repo_path / "objects" / d):
            base, ext = n.split(".", 1)
            out.add((d + base, {"file": "file"}.get(ext, ext)))
    return out


def test_whole_history_reaches_every_object(history):
    path, commits = history
    repo = Repo.open(str(path))
    reach = traverse_commits(repo, [commits[-1]], maxdepth=-1)
    assert {key_parts(k) for k in reach} == all_objects(path)


def test_depth_limits_parents(history):
    path, commits = history
    repo = Repo.open(str(path))
    reach = set()
    traverse_commit(repo, commits[-1], 1, reach)
    got = {c for c, t in map(key_parts, reach) if t == "commit"}
    assert got == set(commits[1:])
    # depth 0: the commit alone, but its whole tree
    reach0 = set()
    traverse_commit(repo, commits[0], 0, reach0)
    assert object_key(commits[0], "commit") in reach0
    assert len(reach0) == 1 + 3 + 1 + 3  # commit, 3 files, 1 dirmeta, 3 dirtrees


def test_missing_parent_ends_the_chain(history):
    path, commits = history
    os.unlink(path / "objects" / commits[1][:2] / (commits[1][2:] + ".commit"))
    repo = Repo.open(str(path))
    reach = traverse_commits(repo, [commits[2]], maxdepth=-1)
    got = {c for c, t in map(key_parts, reach) if t == "commit"}
    assert got == {commits[2]}


def test_missing_dirtree_is_an_error_unless_partial(history):
    path, commits = history
    repo = Repo.open(str(path))
    c = repo.load_commit(commits[2])
    sub = [t for n, t, m in repo.load_dirtree(c.root_tree).dirs if n == "sub"][0]
    os.unlink(repo.object_path("dirtree", sub))
    with pytest.raises(ObjectNotFoundError, match=f"No such metadata object {sub}.dirtree"):
        traverse_commit(repo, commits[2], 0, set())
    repo.mark_commit_partial(commits[2])
    reach = set()
    traverse_commit(repo, commits[2], 0, reach)
    # the root's file is there, nothing below the missing dirtree
    assert object_key(c.root_tree, "dirtree") in reach
    assert not any(key_parts(k)[1] == "file" and k != object_key(repo.load_dirtree(c.root_tree).files[0][1], "file")
                   for k in reach)


def test_commit_only(history):
    path, commits = history
    repo = Repo.open(str(path))
    reach = traverse_commits(repo, [commits[-1]], maxdepth=-1, commit_only=True)
    assert {key_parts(k) for k in reach} == {(c, "commit") for c in commits}


class FakeRepo:
    """Commits whose parents form a loop (not possible with real hashes, but data can lie)."""

    def __init__(self, commits):
        self.commits = commits

    def load_metadata_bytes(self, objtype, checksum):
        if objtype != "commit" or checksum not in self.commits:
            raise ObjectNotFoundError(f"No such metadata object {checksum}.{objtype}")
        return self.commits[checksum]

    def is_commit_partial(self, checksum):
        return True

    def has_object(self, objtype, checksum):
        return False


def _commit_bytes(parent: str, tree: bytes = b"\x01" * 32) -> bytes:
    return gvariant.serialize(COMMIT_TYPE, ({}, bytes.fromhex(parent), [], "", "", 0, tree, b"\x02" * 32))


def test_parent_cycle_terminates():
    a, b = "aa" * 32, "bb" * 32
    repo = FakeRepo({a: _commit_bytes(b), b: _commit_bytes(a)})
    reach = set()
    traverse_commit(repo, a, -1, reach, commit_only=True)
    assert {key_parts(k)[0] for k in reach} == {a, b}


def test_bad_checksum_length_is_reported():
    a = "aa" * 32
    repo = FakeRepo({a: _commit_bytes("", tree=b"\x01" * 5)})
    with pytest.raises(InvalidObjectError, match="Invalid checksum of length 5 expected 32"):
        traverse_commit(repo, a, 0, set())


def test_parents_resolve_to_commits(history):
    path, commits = history
    repo = Repo.open(str(path))
    parents = Parents()
    traverse_commits(repo, commits, 0, parents=parents)
    c0 = repo.load_commit(commits[0])
    # the file 'a' is in all three commits; n2 only in the last
    a_csum = [f for n, f in repo.load_dirtree(c0.root_tree).files if n == "a"][0]
    assert sorted(parents.commits(object_key(a_csum, "file"))) == sorted(commits)
    assert parents.commits(object_key(commits[1], "commit")) == [commits[1]]
