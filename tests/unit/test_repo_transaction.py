"""Repo transactions stage their objects in tmp/staging-*: a failed transaction
(any exception, KeyboardInterrupt included) leaves no object behind (its empty
staging directory stays for reuse, as the reference's does, except after a
min-free-space refusal) and keeps what was stored before; a successful one
moves its objects into objects/ and removes its staging directory; a staging
directory left by a killed process is taken over by the next transaction of
the same boot and removed when it belongs to another boot."""

import os

import pytest

from ostree_py.core.content import FileInfo
from ostree_py.repo import Repo


def _objects(repo: Repo) -> set:
    return set(repo.iter_objects())


def _staging_dirs(repo: Repo) -> list:
    return sorted(n for n in os.listdir(repo.tmp_dir) if n.startswith("staging-"))


def _staged_files(repo: Repo) -> list:
    return [os.path.join(r, n) for d in _staging_dirs(repo) for r, _, ns in os.walk(os.path.join(repo.tmp_dir, d))
            for n in ns]


def _write_file(repo: Repo, data: bytes) -> str:
    return repo.write_content(FileInfo(0o100644, 0, 0, len(data)), data=data)


@pytest.fixture(params=["bare-user", "archive"])
def repo(tmp_path, request, monkeypatch):
    monkeypatch.setenv("OSTREE_BOOTID", "b" * 32)
    return Repo.create(str(tmp_path / "repo"), mode=request.param)


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt, OSError])
def test_failed_transaction_leaves_nothing(repo, exc):
    with repo.transaction():
        kept = _write_file(repo, b"stored before")
    before = _objects(repo)
    new = []
    with pytest.raises(exc):
        with repo.transaction():
            new.append(_write_file(repo, b"first"))
            new.append(repo.write_metadata("dirmeta", b"\0" * 12 + b"\0\0\x41\xed"))
            # an object already stored is still there for the transaction
            assert repo.has_object("file", kept)
            assert all(repo.has_object(t, c) for t, c in zip(("file", "dirmeta"), new))
            raise exc("boom")
    assert _objects(repo) == before
    assert not any(repo.has_object("file", c) or repo.has_object("dirmeta", c) for c in new)
    assert _staged_files(repo) == []
    # the emptied staging directory is the next transaction's
    assert len(_staging_dirs(repo)) == 1
    with repo.transaction():
        _write_file(repo, b"next")
    assert _staging_dirs(repo) == []
    info, stream = repo.load_file(kept)
    try:
        assert stream.read() == b"stored before"
    finally:
        stream.close()


def test_staged_objects_invisible_until_commit(repo):
    other = Repo.open(repo.path)
    with repo.transaction():
        c = _write_file(repo, b"staged")
        assert repo.has_object("file", c)
        # another transaction (another process) does not rely on them
        assert not other.has_object("file", c)
        assert not os.path.lexists(repo.object_path("file", c))
    assert other.has_object("file", c)
    assert _staging_dirs(repo) == []


def test_ref_written_in_transaction_names_published_objects(repo):
    from ostree_py.ops.commit import write_commit
    with pytest.raises(RuntimeError):
        with repo.transaction():
            meta = repo.write_metadata("dirmeta", b"\0" * 12 + b"\0\0\x41\xed")
            tree = repo.write_metadata("dirtree", b"")
            csum = write_commit(repo, tree, meta, subject="s", timestamp=0)
            repo.set_ref("main", csum)
            raise RuntimeError("after the ref")
    # the ref names a commit whose objects stayed (they were published before it was written)
    assert repo.resolve_rev("main") == csum
    assert repo.has_object("commit", csum) and repo.has_object("dirtree", tree)
    assert os.path.exists(repo.object_path("commit", csum))


def test_killed_transactions_staging_taken_over(repo):
    # a process killed mid-transaction left its staging directory (unlocked)
    d = os.path.join(repo.tmp_dir, f"staging-{'b' * 32}-AAAAAA")
    with repo.transaction():
        c = _write_file(repo, b"left by a killed pull")
        staged = repo._staged(repo.object_path("file", c))
        os.makedirs(os.path.dirname(staged.replace(repo._staging, d)), exist_ok=True)
        os.link(staged, staged.replace(repo._staging, d))
        os.unlink(staged)
        with open(os.path.join(d, "tmpobj-half-written"), "wb") as f:
            f.write(b"x")
    assert not repo.has_object("file", c)
    with repo.transaction():
        assert repo._staging == d
        assert repo.has_object("file", c)  # not written (fetched) again
        assert not os.path.exists(os.path.join(d, "tmpobj-half-written"))
    assert os.path.exists(repo.object_path("file", c))
    assert _staging_dirs(repo) == []


def test_other_boots_staging_removed(repo):
    d = os.path.join(repo.tmp_dir, f"staging-{'a' * 32}-AAAAAA")
    os.makedirs(os.path.join(d, "ab"))
    with open(os.path.join(d, "ab", "cd.file"), "wb") as f:
        f.write(b"x" * 1000)
    with repo.transaction():
        _write_file(repo, b"y")
    assert _staging_dirs(repo) == []


def test_min_free_space_refusal_removes_staging_dir(repo):
    # with the unlocked one of this boot a killed process left
    os.makedirs(os.path.join(repo.tmp_dir, f"staging-{'b' * 32}-AAAAAA", "ab"))
    os.makedirs(os.path.join(repo.tmp_dir, f"staging-{'b' * 32}-BBBBBB", "ab"))
    repo.config.set("core", "min-free-space-size", "1000000TB")
    repo.reload_config()
    with pytest.raises(Exception, match="min-free-space-size 1048576000000MB would be exceeded"):
        with repo.transaction():
            _write_file(repo, b"too much")
    assert _staging_dirs(repo) == [] and _objects(repo) == set()
