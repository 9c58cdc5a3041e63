"""SIGKILL during repository writes (commit, pull over HTTP, pull-local,
static-delta apply, prune): after each kill the reference's fsck passes,
every ref names a complete commit, and rerunning the command completes.

Kill points are the fault-injection checkpoints (after each object write,
ref write, object delete), sampled (OSTREE_PY_RELIABILITY_EXHAUSTIVE=1 for
all of them), plus kills after random delays.
"""

import os
import random
import shutil

import pytest

import reliability_harness as H


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("trees")
    H.make_plain_tree(str(base / "t1"), 1)
    H.make_plain_tree(str(base / "t2"), 2)
    return base


@pytest.fixture(scope="module")
def source(tmp_path_factory, trees):
    """An archive repo with main at t1 then t2 (v1 -> v2), a static delta v1 -> v2 and a summary."""
    base = tmp_path_factory.mktemp("source")
    repo = str(base / "repo")
    H.ok(["init", f"--repo={repo}", "--mode=archive"])
    H.ok(["commit", f"--repo={repo}", "-b", "main", "-s", "v1", f"--tree=dir={trees / 't1'}"])
    v1 = H.ok(["rev-parse", f"--repo={repo}", "main"]).out.strip()
    H.ok(["commit", f"--repo={repo}", "-b", "main", "-s", "v2", f"--tree=dir={trees / 't2'}"])
    v2 = H.ok(["rev-parse", f"--repo={repo}", "main"]).out.strip()
    H.ok(["static-delta", "generate", f"--repo={repo}", "--from", v1, "--to", v2])
    H.ok(["summary", "-u", f"--repo={repo}"])
    return {"repo": repo, "v1": v1, "v2": v2, "base": base}


def _fresh(tmp_path, name, mode="bare-user", template=None):
    repo = str(tmp_path / name)
    if template:
        H.copy_tree(template, repo)
    else:
        H.ok(["init", f"--repo={repo}", f"--mode={mode}"])
    return repo


def _crash_cycle(tmp_path, make_repo, args_for, expect, kinds=None, seed=0, delays=(0.15,)):
    """For each sampled checkpoint: fresh repo, kill there, check, rerun, check the result."""
    probe = make_repo("probe")
    counts = H.count_checkpoints(args_for(probe), tmp_path)
    assert counts, "the command passed no checkpoint"
    points = H.kill_points(counts, kinds, seed)
    for i, (name, n) in enumerate(points):
        repo = make_repo(f"k{i}")
        H.run_killed_at(args_for(repo), name, n)
        H.check_repo(repo)
        H.ok(args_for(repo))
        expect(repo)
        H.check_repo(repo)
        shutil.rmtree(repo)
    rnd = random.Random(seed)
    for j, d in enumerate(delays):
        repo = make_repo(f"d{j}")
        H.run_killed_after(args_for(repo), d * (0.5 + rnd.random()))
        H.check_repo(repo)
        H.ok(args_for(repo))
        expect(repo)
        H.check_repo(repo)
    return points


@pytest.mark.parametrize("mode", ["bare-user"] + (["archive", "bare"] if H.EXHAUSTIVE else []))
def test_commit_killed(tmp_path, trees, mode):
    H.ok(["init", f"--repo={tmp_path / 'tpl'}", f"--mode={mode}"])
    H.ok(["commit", f"--repo={tmp_path / 'tpl'}", "-b", "main", f"--tree=dir={trees / 't1'}"])

    def make(name):
        return _fresh(tmp_path, name, template=str(tmp_path / "tpl"))

    def args(repo):
        return ["commit", f"--repo={repo}", "-b", "main", "-s", "second", f"--tree=dir={trees / 't2'}",
                "--timestamp=2020-01-01T00:00:00Z"]

    def expect(repo):
        log = H.ok(["log", f"--repo={repo}", "main"]).out
        assert "second" in log
        ls = H.ref_run(["ls", f"--repo={repo}", "-R", "main"])
        assert ls.rc == 0 and "/d0/s0/f0" in ls.out, ls

    points = _crash_cycle(tmp_path, make, args, expect)
    assert any(p[0] == "ref" for p in points) and any(p[0] == "object" for p in points)


def test_pull_http_killed(tmp_path, source):
    httpd = H.Httpd(os.path.dirname(source["repo"]), str(tmp_path))
    try:
        url = f"{httpd.url}/repo"

        def make(name):
            repo = _fresh(tmp_path, name, mode="archive")
            H.ok(["remote", "add", f"--repo={repo}", "--no-gpg-verify", "origin", url])
            return repo

        def args(repo):
            # --disable-static-deltas: the object-by-object path (the delta path is below)
            return ["pull", f"--repo={repo}", "--disable-static-deltas", "origin", "main"]

        def expect(repo):
            assert H.ok(["rev-parse", f"--repo={repo}", "origin:main"]).out.strip() == source["v2"]

        _crash_cycle(tmp_path, make, args, expect, delays=(0.2,))
    finally:
        httpd.stop()


def test_pull_http_resume_does_not_refetch(tmp_path, source):
    """Issue 3: a pull killed with SIGKILL resumes without refetching what it stored."""
    httpd = H.Httpd(os.path.dirname(source["repo"]), str(tmp_path))
    try:
        repo = _fresh(tmp_path, "client", mode="archive")
        H.ok(["remote", "add", f"--repo={repo}", "--no-gpg-verify", "origin", f"{httpd.url}/repo"])
        args = ["pull", f"--repo={repo}", "--disable-static-deltas", "origin", "main"]
        # kill after 40 objects are stored
        H.run_killed_at(args, "object", 40)
        H.check_repo(repo)
        # stored: in objects/, or in the staging directory the killed transaction
        # left (tmp/staging-*/XX/), which the next one takes over
        stored = set()
        tmp = os.path.join(repo, "tmp")
        for top in [os.path.join(repo, "objects")] + [os.path.join(tmp, n) for n in os.listdir(tmp)
                                                       if n.startswith("staging-") and not n.endswith("-lock")]:
            for pre in os.listdir(top):
                if len(pre) == 2 and os.path.isdir(os.path.join(top, pre)):
                    for n in os.listdir(os.path.join(top, pre)):
                        stored.add(f"/repo/objects/{pre}/{n}")
        assert len(stored) >= 40
        before = len(httpd.requests())
        H.ok(args)
        second = httpd.requests()[before:]
        refetched = [p for p in second if p in stored]
        assert not refetched, f"the resumed pull refetched {len(refetched)} stored objects: {refetched[:5]}"
        objs = [p for p in second if "/objects/" in p]
        assert objs, "the resumed pull fetched nothing"
        assert H.ok(["rev-parse", f"--repo={repo}", "origin:main"]).out.strip() == source["v2"]
        H.check_repo(repo)
    finally:
        httpd.stop()


def test_pull_http_delta_killed(tmp_path, source):
    """A pull through the static delta v1 -> v2, killed while it applies the delta."""
    httpd = H.Httpd(os.path.dirname(source["repo"]), str(tmp_path))
    try:
        url = f"{httpd.url}/repo"
        tpl = _fresh(tmp_path, "tpl", mode="bare-user")
        H.ok(["remote", "add", f"--repo={tpl}", "--no-gpg-verify", "origin", url])
        H.ok(["pull", f"--repo={tpl}", "origin", source["v1"]])
        H.ok(["refs", f"--repo={tpl}", "--create=origin:main", source["v1"]])

        def make(name):
            return _fresh(tmp_path, name, template=tpl)

        def args(repo):
            return ["pull", f"--repo={repo}", "--require-static-deltas", "origin", "main"]

        def expect(repo):
            assert H.ok(["rev-parse", f"--repo={repo}", "origin:main"]).out.strip() == source["v2"]

        _crash_cycle(tmp_path, make, args, expect, seed=3)
    finally:
        httpd.stop()


def test_pull_local_killed(tmp_path, source):
    def make(name):
        return _fresh(tmp_path, name, mode="bare-user")

    def args(repo):
        return ["pull-local", f"--repo={repo}", source["repo"], "main"]

    def expect(repo):
        assert H.ok(["rev-parse", f"--repo={repo}", "main"]).out.strip() == source["v2"]

    _crash_cycle(tmp_path, make, args, expect, seed=1)


def test_static_delta_apply_offline_killed(tmp_path, source):
    tpl = _fresh(tmp_path, "tpl", mode="bare-user")
    H.ok(["pull-local", f"--repo={tpl}", source["repo"], source["v1"]])
    deltas = os.path.join(source["repo"], "deltas")
    sb_dirs = [os.path.join(r) for r, _d, f in os.walk(deltas) if "superblock" in f]
    assert len(sb_dirs) == 1

    def make(name):
        return _fresh(tmp_path, name, template=tpl)

    def args(repo):
        return ["static-delta", "apply-offline", f"--repo={repo}", sb_dirs[0]]

    def expect(repo):
        ls = H.ref_run(["ls", f"--repo={repo}", "-R", source["v2"]])
        assert ls.rc == 0, ls
        assert not os.path.exists(os.path.join(repo, "state", source["v2"] + ".commitpartial"))

    _crash_cycle(tmp_path, make, args, expect, seed=2)


def test_static_delta_apply_offline_killed_while_publishing(tmp_path, source):
    """A kill while the transaction moves its objects into objects/ leaves the
    commit marked partial until all of them are there (it once lost the marker
    first, and a kill then left a commit without its dirtree: fsck failed)."""
    tpl = _fresh(tmp_path, "tpl", mode="bare-user")
    H.ok(["pull-local", f"--repo={tpl}", source["repo"], source["v1"]])
    sb_dir = next(r for r, _d, f in os.walk(os.path.join(source["repo"], "deltas")) if "superblock" in f)

    def args(repo):
        return ["static-delta", "apply-offline", f"--repo={repo}", sb_dir]

    probe = _fresh(tmp_path, "probe", template=tpl)
    n = H.count_checkpoints(args(probe), tmp_path).get("publish", 0)
    assert n > 2
    for i, k in enumerate(sorted({1, n // 2, n - 1, n})):
        repo = _fresh(tmp_path, f"p{i}", template=tpl)
        H.run_killed_at(args(repo), "publish", k)
        H.check_repo(repo)
        H.ok(args(repo))
        assert H.ref_run(["ls", f"--repo={repo}", "-R", source["v2"]]).rc == 0
        assert not os.path.exists(os.path.join(repo, "state", source["v2"] + ".commitpartial"))
        H.check_repo(repo)
        shutil.rmtree(repo)


def test_prune_killed(tmp_path, source, trees):
    """prune --refs-only --depth=0 removes v1 (the parent) and its objects."""
    tpl = _fresh(tmp_path, "tpl", mode="bare-user")
    H.ok(["pull-local", f"--repo={tpl}", source["repo"], "main"])
    H.ok(["commit", f"--repo={tpl}", "-b", "other", f"--tree=dir={trees / 't1'}", "-s", "other"])
    H.ok(["refs", f"--repo={tpl}", "--delete", "other"])

    def make(name):
        return _fresh(tmp_path, name, template=tpl)

    def args(repo):
        return ["prune", f"--repo={repo}", "--refs-only", "--depth=0"]

    def expect(repo):
        assert not os.path.exists(os.path.join(repo, "objects", source["v1"][:2], source["v1"][2:] + ".commit"))
        assert "No unreachable objects" in H.ok(args(repo)).out

    points = _crash_cycle(tmp_path, make, args, expect, kinds=("object-delete",), seed=4)
    assert points
