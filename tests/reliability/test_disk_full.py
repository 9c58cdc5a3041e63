"""Disk full: commit and pull into a repo on a small tmpfs fail cleanly
(``error: ...``, no traceback, no hang), leave a consistent repo (the
reference's fsck passes, no ref names a missing or partial commit) and the
filesystem as free as they found it (what a failed transaction wrote goes,
what was stored before stays), and succeed once space is freed;
core.min-free-space-* refuse content with the reference's messages; an admin
upgrade whose kernel does not fit in /boot leaves the boot configuration as
it was. Needs root (mount); skipped otherwise.
"""

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

import reliability_harness as H
from test_crash_sysroot import OS, REF, _entry_commits, world  # noqa: F401 (fixture)


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)],
                       capture_output=True, check=False)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory):
    base = tmp_path_factory.mktemp("bigtree")
    # ~4 MB of incompressible data in 30 files
    H.make_plain_tree(str(base / "tree"), 5, nfiles=30, size=300000)
    return base / "tree"


def _fill(mnt, nbytes):
    with open(mnt / "filler", "wb") as f:
        f.write(os.urandom(nbytes))


def _assert_clean_failure(r):
    assert r.rc == 1, r
    assert r.err.startswith("error: ") or "\nerror: " in r.err, r
    assert "Traceback" not in r.err, r


def _assert_consistent(repo):
    refs = H.check_repo(repo)
    # no leftover temporary files outside tmp/ (objects, refs, config)
    for root, dirs, files in os.walk(repo):
        if os.path.relpath(root, repo).split(os.sep)[0] == "tmp":
            continue
        for n in files:
            assert ".tmp" not in n, os.path.join(root, n)
    return refs


@pytest.mark.parametrize("mode", ["bare-user", "archive"])
def test_commit_disk_full(small_fs, big_tree, mode):
    repo = str(small_fs / "repo")
    H.ok(["init", f"--repo={repo}", f"--mode={mode}"])
    H.ok(["commit", f"--repo={repo}", "-b", "small", f"--tree=dir={big_tree / 'd0' / 's0'}"])
    _fill(small_fs, 5 * 1024 * 1024)
    r = H.run(["commit", f"--repo={repo}", "-b", "main", f"--tree=dir={big_tree}"], timeout=120)
    _assert_clean_failure(r)
    refs = _assert_consistent(repo)
    assert "main" not in refs and "small" in refs
    os.unlink(small_fs / "filler")
    c = H.ok(["commit", f"--repo={repo}", "-b", "main", f"--tree=dir={big_tree}"]).out.strip()
    refs = _assert_consistent(repo)
    assert refs["main"] == c


def test_pull_disk_full(tmp_path, small_fs, big_tree):
    (tmp_path / "srv").mkdir()
    server = str(tmp_path / "srv" / "repo")
    H.ok(["init", f"--repo={server}", "--mode=archive"])
    H.ok(["commit", f"--repo={server}", "-b", "main", f"--tree=dir={big_tree}"])
    want = H.ok(["rev-parse", f"--repo={server}", "main"]).out.strip()
    httpd = H.Httpd(str(tmp_path / "srv"), str(tmp_path))
    try:
        for how in ("http", "local"):
            repo = str(small_fs / f"repo-{how}")
            H.ok(["init", f"--repo={repo}", "--mode=bare-user"])
            H.ok(["remote", "add", f"--repo={repo}", "--no-gpg-verify", "origin", f"{httpd.url}/repo"])
            _fill(small_fs, 5 * 1024 * 1024)
            args = (["pull", f"--repo={repo}", "origin", "main"] if how == "http"
                    else ["pull-local", f"--repo={repo}", "--remote=origin", server, "main"])
            r = H.run(args, timeout=120)
            _assert_clean_failure(r)
            refs = _assert_consistent(repo)
            assert "origin:main" not in refs
            os.unlink(small_fs / "filler")
            H.ok(args)
            refs = _assert_consistent(repo)
            assert refs["origin:main"] == want
            # the next case starts from a nearly empty filesystem again
            H.ok(["refs", f"--repo={repo}", "--delete", "origin:main"])
            H.ok(["prune", f"--repo={repo}", "--refs-only"])
    finally:
        httpd.stop()


def test_admin_upgrade_boot_full(tmp_path, world):  # noqa: F811
    """/boot (its own small filesystem) cannot take the new kernel: admin upgrade
    fails with error:, the boot configuration and deployments stay as they were,
    and the upgrade succeeds once /boot has room."""
    sr = str(tmp_path / "sr")
    H.copy_tree(world["tpl_v1"], sr)
    before = _entry_commits(sr)
    boot = os.path.join(sr, "boot")
    saved = str(tmp_path / "boot-saved")
    os.rename(boot, saved)
    os.mkdir(boot)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", boot], capture_output=True, check=False)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.decode().strip()}")
    try:
        subprocess.run(["cp", "-a", saved + "/.", boot], check=True)
        tree = tmp_path / "t3"
        H.make_os_tree(str(tree), 3)
        with open(tree / f"usr/lib/modules/{H.KVER}/vmlinuz", "wb") as f:
            f.write(os.urandom(2_500_000))
        server = str(tmp_path / "server")
        H.copy_tree(world["server"], server)
        H.ok(["commit", f"--repo={server}", "-b", REF, f"--tree=dir={tree}"])
        v3 = H.ok(["rev-parse", f"--repo={server}", REF]).out.strip()
        repo = os.path.join(sr, "ostree/repo")
        H.ok(["remote", "delete", f"--repo={repo}", "origin"])
        H.ok(["remote", "add", f"--repo={repo}", "--no-gpg-verify", "origin", f"file://{server}", REF])
        _fill(Path(boot), 2_500_000)
        args = ["admin", "upgrade", f"--sysroot={sr}", f"--os={OS}"]
        r = H.run(args)
        _assert_clean_failure(r)
        H.check_sysroot(sr)
        assert _entry_commits(sr) == before
        os.unlink(os.path.join(boot, "filler"))
        H.ok(args)
        H.check_sysroot(sr)
        assert _entry_commits(sr) == [v3] + before
    finally:
        subprocess.run(["umount", "-l", boot], check=False)


@pytest.mark.parametrize("extra", ["", "min-free-space-size=1MB", "min-free-space-size=0MB",
                                   "min-free-space-percent=0", "min-free-space-percent=50",
                                   "min-free-space-percent=-1", "min-free-space-size=5mb"])
def test_min_free_space_as_reference(small_fs, tmp_path, extra):
    """core.min-free-space-percent (default 3%) and -size: content objects that would
    eat into the reservation are refused with the reference's message; metadata-only
    commits still pass; bad values are refused when the repo is opened."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a").write_bytes(os.urandom(10000))
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    # leave less than 3% of the 8 MB free
    _fill(small_fs, 8_200_000)
    results = []
    for tool in ("ref", "ours"):
        repo = small_fs / f"repo-{tool}"
        H.ref_run(["init", f"--repo={repo}", "--mode=bare-user"])
        with open(repo / "config", "a") as f:
            f.write(extra + "\n")
        runner = H.ref_run if tool == "ref" else H.run
        out = []
        for t in (empty, tree):
            r = runner(["commit", f"--repo={repo}", "-b", "b", f"--tree=dir={t}"])
            out.append((r.rc, r.err))
        results.append(out)
    assert results[0] == results[1]


def test_delta_needs_free_space(tmp_path, small_fs, big_tree):
    """A pull through a static delta whose parts would not fit is refused up front, with the
    reference's message, by both tools; nothing of it is stored."""
    src = str(tmp_path / "src")
    H.ok(["init", f"--repo={src}", "--mode=archive"])
    c = H.ok(["commit", f"--repo={src}", "-b", "main", f"--tree=dir={big_tree}"]).out.strip()
    H.ok(["static-delta", "generate", f"--repo={src}", "--empty", f"--to={c}"])
    H.ok(["summary", f"--repo={src}", "-u"])
    _fill(small_fs, 5 * 1024 * 1024)
    msgs = []
    for tool, name in ((H.run, "ours"), (H.ref_run, "ref")):
        repo = str(small_fs / f"repo-{name}")
        H.ok(["init", f"--repo={repo}", "--mode=bare-user"])
        args = ["pull-local", f"--repo={repo}", "--require-static-deltas", src, "main"]
        r = tool(args) if tool is H.ref_run else tool(args, timeout=120)
        _assert_clean_failure(r)
        msgs.append(r.err.strip())
        assert "main" not in _assert_consistent(repo)
    assert msgs[0] == msgs[1], msgs
    assert "Delta requires" in msgs[0] and "free space, but only" in msgs[0]


def _free(mnt) -> int:
    st = os.statvfs(mnt)
    return st.f_bfree * st.f_frsize


def _assert_nothing_left(repo, mnt, free_before):
    """A failed transaction leaves the filesystem as free as it found it (within a
    few KiB: directories it may have created) and nothing in a staging directory."""
    left = free_before - _free(mnt)
    assert left <= 32 * 1024, f"{left} bytes still used after the failed transaction"
    tmp = os.path.join(repo, "tmp")
    for n in os.listdir(tmp):
        if n.startswith("staging-") and not n.endswith("-lock"):
            assert os.listdir(os.path.join(tmp, n)) == [], n


# min-free-space-percent=0: nothing refuses the objects, the disk fills up (ENOSPC)
@pytest.mark.parametrize("config", ["", "min-free-space-percent=0"])
@pytest.mark.parametrize("mode,source", [("bare-user", "dir"), ("archive", "dir"), ("bare-user", "tar")])
def test_failed_commit_leaves_disk_as_free(tmp_path, small_fs, big_tree, mode, source, config):
    repo = str(small_fs / "repo")
    H.ok(["init", f"--repo={repo}", f"--mode={mode}"])
    if config:
        with open(os.path.join(repo, "config"), "a") as f:
            f.write(config + "\n")
    H.ok(["commit", f"--repo={repo}", "-b", "small", f"--tree=dir={big_tree / 'd0' / 's0'}"])
    objects_before = sorted(os.listdir(os.path.join(repo, "objects")))
    _fill(small_fs, 5 * 1024 * 1024)
    spec = f"dir={big_tree}"
    if source == "tar":
        subprocess.run(["tar", "-C", str(big_tree), "-cf", str(tmp_path / "tree.tar"), "."], check=True)
        spec = f"tar={tmp_path / 'tree.tar'}"
    before = _free(small_fs)
    r = H.run(["commit", f"--repo={repo}", "-b", "main", f"--tree={spec}"], timeout=120)
    _assert_clean_failure(r)
    assert ("would be exceeded" in r.err) == (not config), r
    _assert_nothing_left(repo, small_fs, before)
    refs = _assert_consistent(repo)
    assert "main" not in refs
    # what was there before stays: the earlier commit still checks out
    assert sorted(os.listdir(os.path.join(repo, "objects"))) == objects_before
    H.ok(["checkout", f"--repo={repo}", "small", str(small_fs / "co")])


@pytest.mark.parametrize("how", ["http", "local", "delta"])
def test_failed_pull_leaves_disk_as_free(tmp_path, small_fs, big_tree, how):
    (tmp_path / "srv").mkdir()
    server = str(tmp_path / "srv" / "repo")
    H.ok(["init", f"--repo={server}", "--mode=archive"])
    c = H.ok(["commit", f"--repo={server}", "-b", "main", f"--tree=dir={big_tree}"]).out.strip()
    repo = str(small_fs / "repo")
    H.ok(["init", f"--repo={repo}", "--mode=bare-user"])
    # a commit already stored (sharing no object with the pull) stays intact
    H.ok(["commit", f"--repo={repo}", "-b", "small", f"--tree=dir={big_tree / 'd0' / 's0'}"])
    httpd = None
    if how == "http":
        httpd = H.Httpd(str(tmp_path / "srv"), str(tmp_path))
        H.ok(["remote", "add", f"--repo={repo}", "--no-gpg-verify", "origin", f"{httpd.url}/repo"])
        args = ["pull", f"--repo={repo}", "--disable-static-deltas", "origin", "main"]
    elif how == "local":
        args = ["pull-local", f"--repo={repo}", server, "main"]
    else:
        H.ok(["static-delta", "generate", f"--repo={server}", "--empty", f"--to={c}",
              f"--filename={tmp_path / 'delta'}"])
        args = ["static-delta", "apply-offline", f"--repo={repo}", str(tmp_path / "delta")]
    try:
        _fill(small_fs, 5 * 1024 * 1024)
        before = _free(small_fs)
        r = H.run(args, timeout=120)
        _assert_clean_failure(r)
        _assert_nothing_left(repo, small_fs, before)
        refs = _assert_consistent(repo)
        assert "origin:main" not in refs and "main" not in refs and "small" in refs
        os.unlink(small_fs / "filler")
        H.ok(args)
        _assert_consistent(repo)
        H.ok(["ls", f"--repo={repo}", c, "/"])
    finally:
        if httpd is not None:
            httpd.stop()


def _leave_budget(mnt, kib):
    """Fill ``mnt`` so that min-free-space-percent=3 leaves ``kib`` KiB for content."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(mnt / "filler")
    st = os.statvfs(mnt)
    reserve = int(st.f_blocks * st.f_frsize * 0.03) // st.f_bsize * st.f_bsize
    _fill(mnt, st.f_bfree * st.f_frsize - reserve - kib * 1024)


@pytest.mark.parametrize("mode", ["bare-user", "archive"])
@pytest.mark.parametrize("op", ["commit", "commit-stored", "pull-local", "pull-http", "delta"])
def test_min_free_space_charges_as_reference(tmp_path, small_fs, mode, op):
    """Both tools, each on its own repo of the same filesystem with 60 KiB left above
    the 3% reservation, refuse a 100 kB file that compresses to almost nothing, with
    the same message: content is charged at its uncompressed size before it is
    written, in a commit even when the object is stored already, and a static delta
    names the exact size of a regular file written into a non-archive repo."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "zeros").write_bytes(bytes(100_000))
    src = str(tmp_path / "src")
    H.ref_run(["init", f"--repo={src}", "--mode=archive"])
    c = H.ref_run(["commit", f"--repo={src}", "-b", "main", f"--tree=dir={tree}"]).out.strip()
    H.ref_run(["static-delta", "generate", f"--repo={src}", "--empty", f"--to={c}",
               f"--filename={tmp_path / 'delta'}"])
    httpd = H.Httpd(str(tmp_path), str(tmp_path)) if op == "pull-http" else None
    try:
        errs = []
        for tool in (H.ref_run, H.run):
            repo = str(small_fs / f"repo{len(errs)}")
            H.ref_run(["init", f"--repo={repo}", f"--mode={mode}"])
            if op == "commit-stored":
                H.ref_run(["commit", f"--repo={repo}", "-b", "first", f"--tree=dir={tree}"])
            args = {"commit": ["commit", "-b", "b", f"--tree=dir={tree}"],
                    "commit-stored": ["commit", "-b", "b", f"--tree=dir={tree}"],
                    "pull-local": ["pull-local", src, "main"],
                    "pull-http": ["pull", "--disable-static-deltas", "origin", "main"],
                    "delta": ["static-delta", "apply-offline", str(tmp_path / "delta")]}[op]
            if op == "pull-http":
                H.ref_run(["remote", "add", f"--repo={repo}", "--no-gpg-verify", "origin", f"{httpd.url}/src"])
            _leave_budget(small_fs, 60)
            r = tool([args[0], f"--repo={repo}"] + args[1:])
            if op == "pull-local" and mode == "archive":
                # objects copied as they are stored are not charged (neither by the reference)
                assert r.rc == 0, r
            else:
                _assert_clean_failure(r)
            errs.append(r.err)
            os.unlink(small_fs / "filler")
            H.check_repo(repo)
        assert errs[0] == errs[1]
        if not (op == "pull-local" and mode == "archive"):
            assert "min-free-space-percent '3%' would be exceeded, at least 10" in errs[0]
    finally:
        if httpd is not None:
            httpd.stop()
