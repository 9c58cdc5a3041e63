"""Concurrent writers (the scenarios of upstream test-concurrency.py and more):
two commits at once, two pulls at once, a prune during a pull, two admin
deploys at once. Repo and sysroot locks must keep every result consistent:
the reference's fsck passes, every commit made is present, refs name complete
commits, deployments are consistent.
"""

import os
import subprocess

import pytest

import reliability_harness as H
from test_crash_sysroot import OS, REF, _entry_commits, world  # noqa: F401 (fixture)


def _start(args, env=None):
    return subprocess.Popen(H.ostree_py_argv() + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=H._env(env))


def _wait_ok(p, what):
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, (what, p.returncode, err.decode()[-2000:])
    assert b"Traceback" not in err
    return out.decode()


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("ctrees")
    for i in range(4):
        H.make_plain_tree(str(base / f"t{i}"), 100 + i, nfiles=150, size=6000)
    return base


@pytest.mark.parametrize("mode", ["bare-user", "archive"])
def test_two_commits_at_once(tmp_path, trees, mode):
    repo = str(tmp_path / "repo")
    H.ok(["init", f"--repo={repo}", f"--mode={mode}"])
    for rnd in range(2):
        # two different branches and two commits to the same branch, all at once
        procs = [_start(["commit", f"--repo={repo}", "-b", f"b{i}", "-s", f"r{rnd}",
                         f"--tree=dir={trees / f't{(i + rnd) % 4}'}"]) for i in range(2)]
        procs += [_start(["commit", f"--repo={repo}", "-b", "same", "-s", f"same{rnd}-{i}",
                          f"--tree=dir={trees / f't{i + 2}'}"]) for i in range(2)]
        made = [_wait_ok(p, "commit").strip() for p in procs]
        refs = H.check_repo(repo)
        assert refs[f"b0"] == made[0] and refs["b1"] == made[1]
        assert refs["same"] in made[2:]
        for c in made:
            # both commits to "same" are stored, complete
            r = H.ref_run(["ls", f"--repo={repo}", "-R", c])
            assert r.rc == 0, r


def test_two_pulls_and_a_prune(tmp_path, trees):
    server = str(tmp_path / "server")
    H.ok(["init", f"--repo={server}", "--mode=archive"])
    for i in range(3):
        H.ok(["commit", f"--repo={server}", "-b", f"r{i}", f"--tree=dir={trees / f't{i}'}"])
    httpd = H.Httpd(str(tmp_path), str(tmp_path))
    try:
        repo = str(tmp_path / "client")
        H.ok(["init", f"--repo={repo}", "--mode=bare-user"])
        H.ok(["remote", "add", f"--repo={repo}", "--no-gpg-verify", "origin", f"{httpd.url}/server"])
        # something for the prune to remove
        H.ok(["commit", f"--repo={repo}", "-b", "junk", f"--tree=dir={trees / 't3'}"])
        H.ok(["refs", f"--repo={repo}", "--delete", "junk"])
        pulls = [_start(["pull", f"--repo={repo}", "origin", "r0", "r1"]),
                 _start(["pull", f"--repo={repo}", "origin", "r1", "r2"])]
        prunes = [_start(["prune", f"--repo={repo}", "--refs-only"]) for _ in range(2)]
        for p in pulls:
            _wait_ok(p, "pull")
        for p in prunes:
            _wait_ok(p, "prune")
        refs = H.check_repo(repo)
        want = {f"origin:r{i}": H.ok(["rev-parse", f"--repo={server}", f"r{i}"]).out.strip() for i in range(3)}
        assert {k: refs.get(k) for k in want} == want
        for c in want.values():
            assert H.ref_run(["ls", f"--repo={repo}", "-R", c]).rc == 0
        # a prune after everything: nothing the refs reach goes
        H.ok(["prune", f"--repo={repo}", "--refs-only"])
        H.check_repo(repo)
    finally:
        httpd.stop()


def test_pull_local_during_prune_loop(tmp_path, trees):
    """Prunes running back to back while two pull-locals write: nothing they pull is lost."""
    src = str(tmp_path / "src")
    H.ok(["init", f"--repo={src}", "--mode=archive"])
    for i in range(4):
        H.ok(["commit", f"--repo={src}", "-b", f"r{i}", f"--tree=dir={trees / f't{i}'}"])
    repo = str(tmp_path / "dst")
    H.ok(["init", f"--repo={repo}", "--mode=bare-user"])
    pulls = [_start(["pull-local", f"--repo={repo}", src, "r0", "r1"]),
             _start(["pull-local", f"--repo={repo}", src, "r2", "r3"])]
    prunes = []
    while any(p.poll() is None for p in pulls) and len(prunes) < 20:
        prunes.append(_start(["prune", f"--repo={repo}", "--refs-only"]))
        prunes[-1].wait(timeout=60)
    for p in pulls:
        _wait_ok(p, "pull-local")
    for p in prunes:
        _wait_ok(p, "prune")
    refs = H.check_repo(repo)
    assert sorted(refs) == ["r0", "r1", "r2", "r3"]


def test_two_admin_deploys_at_once(tmp_path, world):  # noqa: F811
    sr = str(tmp_path / "sr")
    H.copy_tree(world["tpl_v2"], sr)
    procs = [_start(["admin", "deploy", f"--sysroot={sr}", f"--os={OS}", "--retain", f"origin:{REF}"]),
             _start(["admin", "deploy", f"--sysroot={sr}", f"--os={OS}", "--retain", world["v1"]])]
    for p in procs:
        _wait_ok(p, "admin deploy")
    H.check_sysroot(sr)
    commits = _entry_commits(sr)
    # both deploys happened, one after the other, and the first deployment was retained
    assert len(commits) == 3, commits
    assert sorted(commits[:2]) == sorted([world["v1"], world["v2"]]), commits
    assert commits[2] == world["v1"], commits
    deploy_dir = os.path.join(sr, "ostree/deploy", OS, "deploy")
    dirs = sorted(n for n in os.listdir(deploy_dir) if not n.endswith(".origin"))
    assert len(dirs) == 3, dirs
