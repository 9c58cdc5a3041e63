"""Static delta application is bounded in memory, whatever the delta holds.

Hostile deltas made by ``deltacraft``: a small xz part whose payload
expands to 512 MiB of zeros, declared honestly (a 512 MiB file) or not
(the header claims a few KiB), and parts that repeat ``write`` over the
same 64 KiB thousands of times. Each is applied by ``static-delta
apply-offline`` and pulled over HTTP (delta parts are not signed: a mirror
can serve anything). The command runs in a fresh wrapper process, so its
peak RSS (``RUSAGE_CHILDREN``) is that command's alone; it must stay under
``RSS_BOUND`` and end as the reference ``ostree`` does (except where the
declared size is a lie: ostree-py refuses such a part, the reference
applies it).
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import time

import pytest

import deltacraft as D
import reliability_harness as H
from ostree_py.core.content import FileInfo
from ostree_py.deltas import format as fmt

MiB = 1 << 20
RSS_BOUND = 150 * MiB
BOMB = 512 * MiB
BLOCK = 64 * 1024
REPEATS = 2000

_WRAPPER = r"""
import json, resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True)
print(json.dumps({"rc": p.returncode, "out": p.stdout.decode("utf-8", "replace"),
                  "err": p.stderr.decode("utf-8", "replace"),
                  "maxrss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
"""


class Measured(H.Run):
    def __init__(self, rc, out, err, maxrss):
        super().__init__(rc, out, err)
        self.maxrss = maxrss

    def __repr__(self):
        return f"Measured(rc={self.rc}, maxrss={self.maxrss >> 20} MiB, err={self.err[-600:]!r})"


def measured(argv, timeout=600) -> Measured:
    """Run ``argv`` under a fresh wrapper process; its result and peak RSS in bytes."""
    p = subprocess.run([sys.executable, "-c", _WRAPPER, *argv], capture_output=True, env=H._env(),
                       timeout=timeout, check=True)
    r = json.loads(p.stdout)
    return Measured(r["rc"], r["out"], r["err"], r["maxrss"])


def ours(*args) -> list:
    return H.ostree_py_argv() + list(args)


def init_repo(path, mode="bare-user"):
    r = H.run(["init", f"--repo={path}", f"--mode={mode}"])
    assert r.rc == 0, r
    return path


# ---------------------------------------------------------------- the deltas

@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """name -> (delta directory, crafted delta); made once for the module."""
    root = tmp_path_factory.mktemp("hostile")
    out = {}

    # 512 MiB of zeros from a ~80 KB part: one file, declared honestly
    info = FileInfo(stat.S_IFREG | 0o644, 0, 0, BOMB)
    bomb = D.OneFileDelta(info, D.file_checksum(info, D.zeros(BOMB)))

    def write_all(ops, base):
        ops.op(fmt.OP_OPEN, 0, 0, BOMB).op(fmt.OP_WRITE, BOMB, base).op(fmt.OP_CLOSE)
    d = bomb.write(str(root / "bomb"), D.zeros(BOMB), BOMB, write_all)
    out["bomb"] = (d, bomb)
    # the same part, its header claiming 4 KiB: the reference applies it anyway
    lie = str(root / "bomb-lie" / os.path.relpath(d, str(root / "bomb")))
    os.makedirs(lie)
    shutil.copy(os.path.join(d, "0"), os.path.join(lie, "0"))
    with open(os.path.join(d, "superblock"), "rb") as f:
        sb = fmt.parse_superblock(f.read())
    v, csum, size, _usize, objects = sb.parts[0]
    data = fmt.build_superblock(sb.metadata, sb.timestamp, None, sb.to_checksum, fmt.commit_bytes(sb),
                                [(v, csum, size, 4096, objects)], [], fmt.HOST_ENDIAN)
    with open(os.path.join(lie, "superblock"), "wb") as f:
        f.write(data)
    out["bomb-lie"] = (lie, bomb)

    # one 64 KiB block written 2,000 times into a 125 MiB file
    block = os.urandom(BLOCK)
    info = FileInfo(stat.S_IFREG | 0o644, 0, 0, BLOCK * REPEATS)
    rep = D.OneFileDelta(info, D.file_checksum(info, D.repeat(block, REPEATS)))

    def repeated(declared):
        def file_ops(ops, base):
            ops.op(fmt.OP_OPEN, 0, 0, declared)
            for _ in range(REPEATS):
                ops.op(fmt.OP_WRITE, BLOCK, base)
            ops.op(fmt.OP_CLOSE)
        return file_ops
    out["repeat"] = (rep.write(str(root / "repeat"), [block], BLOCK, repeated(info.size)), rep)
    # the same writes into a file that ``open`` declares 10 blocks long: the size is not part
    # of the checksum, and the reference takes the object all the same
    out["repeat-over"] = (rep.write(str(root / "repeat-over"), [block], BLOCK, repeated(10 * BLOCK)), rep)
    # the same writes for an object of another checksum: refused at close
    wrong = D.OneFileDelta(info, D.file_checksum(info, D.repeat(block, REPEATS - 1)))
    out["repeat-wrong"] = (wrong.write(str(root / "repeat-wrong"), [block], BLOCK, repeated(info.size)), wrong)
    return out


def _objects(repo) -> set:
    found = set()
    for d, _dirs, files in os.walk(os.path.join(repo, "objects")):
        found.update(os.path.basename(d) + f for f in files)
    return found


def _assert_clean(repo):
    """Nothing left in tmp/ but (empty) staging directories and the cache."""
    for name in os.listdir(os.path.join(repo, "tmp")):
        p = os.path.join(repo, "tmp", name)
        if name == "cache" or name.endswith("-lock"):
            continue
        assert name.startswith("staging-") and not os.listdir(p), f"left behind in tmp/: {name}"


# ---------------------------------------------------------------- apply-offline

EXPECT = {
    # case: (ostree-py succeeds, the reference succeeds)
    "bomb": (True, True),
    "bomb-lie": (False, True),
    "repeat": (True, True),
    "repeat-over": (True, True),
    "repeat-wrong": (False, False),
}


@pytest.mark.parametrize("case", sorted(EXPECT))
def test_apply_offline_memory_is_bounded(cases, tmp_path, case):
    d, delta = cases[case]
    repo = init_repo(str(tmp_path / "repo"))
    r = measured(ours("static-delta", "apply-offline", f"--repo={repo}", d))
    assert r.maxrss < RSS_BOUND, r
    ok, _ref_ok = EXPECT[case]
    if ok:
        assert r.rc == 0, r
        assert H.run(["fsck", f"--repo={repo}"]).rc == 0
        assert delta.file_csum + ".file" in _objects(repo)
    else:
        assert r.rc == 1 and r.err.startswith("error: ") and "Traceback" not in r.err, r
        # the refused part wrote no file object and left no temporary file
        assert delta.file_csum + ".file" not in _objects(repo)
        _assert_clean(repo)
    if case == "bomb-lie":
        assert "declared uncompressed size" in r.err, r
    if case == "repeat-wrong":
        assert "opcode close: Corrupted file object; checksum expected=" in r.err, r


@pytest.mark.skipif(not os.path.exists(H.REFERENCE), reason="reference ostree not installed")
@pytest.mark.parametrize("case", ["repeat", "repeat-over", "repeat-wrong"])
def test_reference_ends_the_same(cases, tmp_path, case):
    """What the expectations above rest on, for the cases that run quickly."""
    d, _delta = cases[case]
    repo = str(tmp_path / "repo")
    subprocess.run([H.REFERENCE, "init", f"--repo={repo}", "--mode=bare-user"], check=True)
    p = subprocess.run([H.REFERENCE, "static-delta", "apply-offline", f"--repo={repo}", d],
                       capture_output=True, text=True, timeout=600)
    assert (p.returncode == 0) == EXPECT[case][1], p.stderr
    if p.returncode:
        assert "opcode close: Corrupted file object; checksum expected=" in p.stderr


def test_legitimate_large_delta(tmp_path):
    """A real 64 MiB file, through generate and apply-offline (a MiB of random bytes,
    repeated with a counter: quick to compress, nothing to gain for the applier)."""
    src = init_repo(str(tmp_path / "src"), "archive")
    tree = tmp_path / "tree"
    tree.mkdir()
    block = os.urandom(MiB - 8)
    with open(tree / "big", "wb") as f:
        for i in range(64):
            f.write(i.to_bytes(8, "little") + block)
    (tree / "small").write_text("small\n")
    assert H.run(["commit", f"--repo={src}", "-b", "main", f"--tree=dir={tree}", "-s", "big"]).rc == 0
    g = H.run(["static-delta", "generate", f"--repo={src}", "--empty", "--to=main", "--min-fallback-size=0",
               "--disable-bsdiff"], timeout=600)
    assert g.rc == 0, g
    to = H.run(["rev-parse", f"--repo={src}", "main"]).out.strip()
    d = os.path.join(src, fmt.delta_dir(None, to))
    repo = init_repo(str(tmp_path / "repo"))
    r = measured(ours("static-delta", "apply-offline", f"--repo={repo}", d))
    assert r.rc == 0 and r.maxrss < RSS_BOUND, r
    assert H.run(["fsck", f"--repo={repo}"]).rc == 0
    co = tmp_path / "co"
    assert H.run(["checkout", f"--repo={repo}", "-U", to, str(co)]).rc == 0
    assert (co / "big").read_bytes() == (tree / "big").read_bytes()


# ---------------------------------------------------------------- pull over HTTP

def _serve(root):
    """``ostree-py trivial-httpd`` on ``root``; (process, url)."""
    portfile = os.path.join(root, ".port")
    proc = subprocess.Popen(ours("trivial-httpd", "-p", portfile, root), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=H._env())
    end = time.monotonic() + 20
    while time.monotonic() < end:
        try:
            with open(portfile) as f:
                text = f.read()
            if text.endswith("\n"):
                return proc, f"http://127.0.0.1:{int(text)}"
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    pytest.fail("trivial-httpd did not start")


@pytest.mark.parametrize("case", ["bomb", "bomb-lie", "repeat"])
def test_pull_memory_is_bounded(cases, tmp_path, case):
    """A mirror serving the hostile delta: the pull stays bounded, and ends as apply-offline does.

    The server holds the commit and its trees but not the file, so the pull can only get the
    file from the delta. (The reference scans the commit while a part is still being applied,
    so with a part this big it asks for the file as a loose object too, and fails here.)
    """
    from ostree_py.repo import Repo
    d, delta = cases[case]
    srv = str(tmp_path / "srv")
    delta.write_server_objects(Repo.create(srv, "archive"))
    shutil.copytree(d, os.path.join(srv, fmt.delta_dir(None, delta.to)))
    assert H.run(["summary", "-u", f"--repo={srv}"]).rc == 0
    repo = init_repo(str(tmp_path / "repo"))
    proc, url = _serve(srv)
    try:
        assert H.run(["remote", "add", f"--repo={repo}", "--no-gpg-verify", "origin", url]).rc == 0
        r = measured(ours("pull", f"--repo={repo}", "origin", "main"))
    finally:
        proc.kill()
        proc.wait()
    assert r.maxrss < RSS_BOUND, r
    if EXPECT[case][0]:
        assert r.rc == 0 and "1 delta parts" in r.out, r
        assert H.run(["fsck", f"--repo={repo}"]).rc == 0
    else:
        assert r.rc == 1 and r.err.startswith("error: ") and "declared uncompressed size" in r.err, r
        assert delta.file_csum + ".file" not in _objects(repo)
        _assert_clean(repo)
