"""fsck of a repository big enough for worker processes (2,000 objects and more) reports
the same problems, with the same exit status, as fsck on threads alone
(OSTREE_PY_FSCK_PROCESSES=0), and --delete repairs as the reference's does."""

import os
import subprocess
import sys

import pytest

OURS = os.path.join(os.path.dirname(sys.executable), "ostree-py")
REF = "/usr/bin/ostree"

pytestmark = pytest.mark.skipif(not os.path.exists(REF), reason="reference ostree is not installed")


def _run(argv, procs=None):
    env = dict(os.environ)
    if procs is not None:
        env["OSTREE_PY_FSCK_PROCESSES"] = str(procs)
    return subprocess.run(argv, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    t = tmp_path_factory.mktemp("fsckbig") / "t"
    for d in range(30):
        sub = t / f"d{d:02d}"
        sub.mkdir(parents=True)
        for i in range(75):
            (sub / f"f{i}").write_text(f"file {d} {i}\n" * (i % 7 + 1))
    os.symlink("d00/f1", t / "link")
    return t


def _corrupt(repo, mode):
    """Break three content objects: one rewritten, one truncated, one removed."""
    objs = sorted(os.path.join(dp, f) for dp, _d, fs in os.walk(os.path.join(repo, "objects"))
                  for f in fs if f.endswith(".file" if mode == "bare-user" else ".filez"))
    assert len(objs) > 2000
    a, b, c = objs[100], objs[900], objs[1700]
    os.chmod(a, 0o644)
    if mode == "bare-user":
        with open(a, "r+b") as f:
            f.write(b"X")
    else:
        with open(a, "r+b") as f:
            f.seek(os.path.getsize(a) - 2)
            f.write(b"\xff\xff")
    os.chmod(b, 0o644)
    os.truncate(b, 0)
    os.unlink(c)
    return {os.path.basename(os.path.dirname(p)) + os.path.basename(p).split(".")[0] for p in (a, b, c)}


@pytest.mark.parametrize("mode", ["bare-user", "archive"])
def test_processes_report_what_threads_report(tmp_path, tree, mode):
    repo = str(tmp_path / "repo")
    assert _run([REF, "init", f"--repo={repo}", f"--mode={mode}"]).returncode == 0
    assert _run([REF, f"--repo={repo}", "commit", "-b", "main", f"--tree=dir={tree}"]).returncode == 0
    clean = [_run([OURS, f"--repo={repo}", "fsck"], procs=p) for p in (0, 2)]
    assert [r.returncode for r in clean] == [0, 0]
    assert clean[0].stdout == clean[1].stdout
    broken = _corrupt(repo, mode)

    # each on a copy: a missing object marks the commit partial, and the next fsck skips it
    copies = {}
    for name in ("threads", "procs", "ref", "first", "delete"):
        copies[name] = str(tmp_path / name)
        subprocess.run(["cp", "-a", repo, copies[name]], check=True)
    results = [_run([OURS, f"--repo={copies[n]}", "fsck", "--all"], procs=p)
               for n, p in (("threads", 0), ("procs", 2))]
    refr = _run([REF, f"--repo={copies['ref']}", "fsck", "--all"])
    assert [r.returncode for r in results] == [1, 1] and refr.returncode == 1
    for r in results:
        assert "Repository corruption encountered" in r.stderr
        named = {c for c in broken if c in r.stdout + r.stderr}
        assert named == broken, (broken - named, r.stdout, r.stderr)
    # the same lines, whichever order the objects were checked in
    assert sorted(results[0].stdout.splitlines()) == sorted(results[1].stdout.splitlines())
    assert sorted(results[0].stderr.splitlines()) == sorted(results[1].stderr.splitlines())

    # without --all the first corrupt object stops it (a missing one met before is only
    # reported: the order of the objects varies from run to run)
    first = _run([OURS, f"--repo={copies['first']}", "fsck"], procs=2)
    last = first.stderr.rstrip("\n").splitlines()[-1]
    assert first.returncode == 1 and last.startswith("error: ") and "fsck content object" in last, first.stderr

    # --delete: both mark the commit partial; the reference then agrees nothing is corrupt
    d = _run([OURS, f"--repo={copies['delete']}", "fsck", "--delete"], procs=2)
    assert d.returncode == 1 and "Marking commit as partial" in d.stdout + d.stderr
    again = _run([REF, f"--repo={copies['delete']}", "fsck"])
    assert again.returncode == 1 and "partial commits from fsck-detected corruption" in again.stderr
