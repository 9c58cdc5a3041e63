"""ostree-py pulls through network faults (tests/net/faultserver.py) and from
flaky or corrupted servers.

Whatever happens, a pull either completes with a repository both fscks pass,
or fails with one clear ``error: ...`` line (no traceback) and a non-zero exit,
leaving a repository both fscks pass and no wrong object stored. Every pull
runs under a timeout: a hang fails the test.
"""

import collections
import os
import random
import re
import shutil
import time

import pytest

from faultserver import FaultServer
from netutil import NGINX, OURS, REF_OSTREE, Nginx, OursHttpd, RefHttpd, fsck_both, make_tree, object_names, run

# A stalled or too slow transfer ends after this many seconds (the default is 30).
FAST_TIMEOUT_ENV = {"OSTREE_PY_LOW_SPEED_TIME": "1"}


@pytest.fixture(scope="module")
def src(tmp_path_factory, ref):
    """An archive repository (written by the reference) with one commit of a
    few dozen files, summarised; and its commit and object names."""
    base = tmp_path_factory.mktemp("faults")
    tree = make_tree(base / "tree", n_dirs=4, n_files=15, seed=11)
    repo = base / "www" / "repo"
    repo.parent.mkdir()
    ref(f"--repo={repo}", "init", "--mode=archive")
    ref(f"--repo={repo}", "commit", "-b", "main", "-s", "s", str(tree))
    ref(f"--repo={repo}", "summary", "-u")
    rev = ref(f"--repo={repo}", "rev-parse", "main").stdout.strip()
    return repo, rev, object_names(repo)


def objpath(name):
    return "/repo/objects/" + name


def content_objects(names):
    return sorted(n for n in names if n.endswith(".filez"))


def biggest(repo, names, k=1):
    return sorted(names, key=lambda n: -os.path.getsize(os.path.join(repo, "objects", n)))[:k]


def pull(tmp_path, url, *args, tool=None, env=None, timeout=60, name="dst"):
    dst = tmp_path / name
    if not dst.exists():
        run([REF_OSTREE, f"--repo={dst}", "init", "--mode=archive"])
        run([REF_OSTREE, f"--repo={dst}", "remote", "add", "--no-gpg-verify", "origin", f"{url}/repo"])
    t0 = time.monotonic()
    p = run([*(tool or OURS), f"--repo={dst}", "pull", *args, "origin", "main"], check=False, env=env,
            timeout=timeout)
    return dst, p, time.monotonic() - t0


def assert_clean_failure(p):
    assert p.returncode != 0, p.stdout
    assert "Traceback" not in p.stderr, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr


def assert_complete(ref, ours, p, dst, rev):
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    fsck_both(ref, ours, dst)
    assert ref(f"--repo={dst}", "rev-parse", "origin:main").stdout.strip() == rev


def assert_nothing_wrong_stored(ref, ours, dst, src_names, bad=()):
    """The failed pull left a repository both fscks pass (fsck verifies every
    stored object's checksum), holding only objects of the source, not ``bad``."""
    fsck_both(ref, ours, dst)
    stored = object_names(dst)
    assert stored <= src_names | {n.replace(".commit", ".commitpartial") for n in src_names}
    for b in bad:
        assert b not in stored


# ------------------------------------------------------------------ transient faults

TRANSIENT = ["500", "408", "drop", "truncate", "reset"]


def test_a_fault_on_each_first_request_is_retried(tmp_path, src, ref, ours):
    """Each object's first request fails in one of the transient ways (taken in
    turn; two stall and one trickles, so the test stays short): the pull completes
    with its default retries, and a cut-short download resumes where it stopped."""
    repo, rev, names = src
    slow = biggest(repo, content_objects(names), 3)
    kinds = {objpath(n): "stall" if n in slow[:2] else "trickle" for n in slow}
    for i, n in enumerate(sorted(set(names) - set(slow))):
        kinds[objpath(n)] = TRANSIENT[i % len(TRANSIENT)]

    def plan(path, n):
        return kinds.get(path) if n == 0 else None
    with FaultServer(repo.parent, plan) as srv:
        dst, p, secs = pull(tmp_path, srv.url, env=FAST_TIMEOUT_ENV)
        faults = srv.faults()
        requests = list(srv.requests)
    assert_complete(ref, ours, p, dst, rev)
    assert sorted(faults) == sorted(kinds.items())
    assert object_names(dst) == names
    resumed = [r for path, n, _f, r in requests if n == 1 and kinds.get(path) in ("drop", "stall", "trickle")]
    assert resumed and all(r and r.startswith("bytes=") and r != "bytes=0-" for r in resumed), resumed
    assert secs < 30


def test_random_500s_and_408s(tmp_path, src, ref, ours):
    """20% of all requests get a 500 and 10% a 408 (ostree-py's trivial-httpd):
    the pull completes, as the upstream tests expect of `--network-retries`."""
    repo, rev, names = src
    httpd = OursHttpd(repo.parent, "--random-500s=20", "--random-500s-max=100000",
                      "--random-408s=10", "--random-408s-max=100000", "--log-file",
                      str(tmp_path / "httpd.log")).start()
    try:
        dst, p, _secs = pull(tmp_path, httpd.url, "--network-retries=12")
    finally:
        httpd.stop()
    assert_complete(ref, ours, p, dst, rev)
    log = (tmp_path / "httpd.log").read_text()
    assert log.count("(500)\n") > 5 and log.count("(408)\n") > 0  # (about 25 and 12 expected)


def test_random_mixed_faults(tmp_path, src, ref, ours):
    """A quarter of all first and second requests (summary and config too) fail in
    any transient way: with enough retries, the pull completes."""
    repo, rev, _names = src
    rnd = random.Random(3)
    kinds = ["500", "408", "drop", "truncate", "reset"]

    def plan(path, n):
        if n < 2 and rnd.random() < 0.25:
            return rnd.choice(kinds)
        return None
    with FaultServer(repo.parent, plan) as srv:
        dst, p, _secs = pull(tmp_path, srv.url, "--network-retries=8", env=FAST_TIMEOUT_ENV)
        assert srv.faults()
    assert_complete(ref, ours, p, dst, rev)


# ------------------------------------------------------------------ faults that end a pull

def test_random_404s_fail_cleanly_then_a_pull_completes(tmp_path, src, ref, ours):
    """A 404 is not retried: the pull fails with the reference's message; the next
    pull (the objects are there now) completes, reusing what the first one stored."""
    repo, rev, names = src
    rnd = random.Random(5)
    contents = set(map(objpath, content_objects(names)))
    first = [True]

    def plan(path, n):
        return "404" if first[0] and path in contents and rnd.random() < 0.2 else None
    with FaultServer(repo.parent, plan) as srv:
        dst, p, _ = pull(tmp_path, srv.url)
        assert srv.faults()
        first[0] = False
        assert_clean_failure(p)
        assert p.stderr == "error: Server returned HTTP 404\n"
        assert_nothing_wrong_stored(ref, ours, dst, names)
        dst, p, _ = pull(tmp_path, srv.url)
    assert_complete(ref, ours, p, dst, rev)


@pytest.mark.parametrize("fault", ["stall", "trickle"])
def test_a_stalled_server_ends_the_pull_by_the_low_speed_timeout(tmp_path, src, ref, ours, fault):
    """One object never arrives (or at 5 bytes/s): the pull gives up after the
    low-speed timeout and its retries, with a clear error, instead of hanging."""
    repo, _rev, names = src
    target = objpath(biggest(repo, content_objects(names))[0])

    def plan(path, n):
        return fault if path == target else None
    # the timeout from the environment, or from the (hidden) options of later ostree versions
    args, env = (["--low-speed-time-seconds=1", "--low-speed-limit-bytes=1000"], None) if fault == "trickle" \
        else ([], FAST_TIMEOUT_ENV)
    with FaultServer(repo.parent, plan) as srv:
        dst, p, secs = pull(tmp_path, srv.url, "--network-retries=1", *args, env=env, timeout=60)
        n_target = srv.counts[target]
    assert_clean_failure(p)
    assert re.fullmatch(r"error: While fetching http://127\.0\.0\.1:\d+/repo/objects/\S+\.filez: "
                        r"\[28\] Timeout was reached\n", p.stderr), p.stderr
    assert 1 <= n_target <= 2  # the request and its one retry (another object may fail first)
    assert secs < 20
    assert_nothing_wrong_stored(ref, ours, dst, names, bad=[target.rsplit("/objects/", 1)[1]])


def test_the_low_speed_timeout_defaults_to_30_seconds(monkeypatch):
    """What the fetcher uses without OSTREE_PY_LOW_SPEED_*: 1000 B/s over 30 s (the
    reference's later low-speed-limit-bytes / low-speed-time-seconds defaults)."""
    from ostree_py.remote import fetcher
    monkeypatch.delenv("OSTREE_PY_LOW_SPEED_TIME", raising=False)
    monkeypatch.delenv("OSTREE_PY_LOW_SPEED_LIMIT", raising=False)
    f = fetcher.Fetcher()
    assert (f.low_speed_limit, f.low_speed_time) == (1000, 30.0)
    monkeypatch.setenv("OSTREE_PY_LOW_SPEED_TIME", "2.5")
    monkeypatch.setenv("OSTREE_PY_LOW_SPEED_LIMIT", "10")
    f = fetcher.Fetcher()
    assert (f.low_speed_limit, f.low_speed_time) == (10, 2.5)
    monkeypatch.setenv("OSTREE_PY_LOW_SPEED_TIME", "soon")  # not a number: the default, no traceback
    monkeypatch.setenv("OSTREE_PY_LOW_SPEED_LIMIT", "-5")
    f = fetcher.Fetcher()
    assert (f.low_speed_limit, f.low_speed_time) == (1000, 30.0)


@pytest.mark.parametrize("kind", ["filez", "dirtree", "commit"])
def test_wrong_bytes_are_refused_and_never_stored(tmp_path, src, ref, ours, kind):
    """The server sends an object with one byte changed: the pull fails (with the
    reference's message) and the object is not stored."""
    repo, _rev, names = src
    bad = biggest(repo, [n for n in names if n.endswith("." + kind)])[0]

    def plan(path, n):
        return "wrong" if path == objpath(bad) else None
    errors = {}
    with FaultServer(repo.parent, plan) as srv:
        for name, tool in (("ours", OURS), ("ref", [REF_OSTREE])):
            dst, p, _ = pull(tmp_path, srv.url, tool=tool, name=name)
            assert_clean_failure(p)
            assert_nothing_wrong_stored(ref, ours, dst, names, bad=[bad])
            errors[name] = p.stderr
    assert errors["ours"] == errors["ref"]


@pytest.mark.parametrize("route", ["direct", "proxy"])
@pytest.mark.parametrize("fault", ["drop", "truncate", "reset", "stall", "trickle", "silent", "500", "408"])
def test_the_fetcher_gets_the_file_through_a_fault(src, route, fault):
    """In process, directly and through a proxy (the fault server serves
    absolute-URI requests as a proxy would): the first request
    of the file fails, and ``fetch`` returns exactly the file's bytes, in memory and
    to a file, within a few seconds."""
    import io

    from ostree_py.remote.fetcher import URI, Fetcher
    repo, _rev, names = src
    name = biggest(repo, content_objects(names))[0]
    want = (repo / "objects" / name).read_bytes()

    def plan(path, n):
        return fault if path == objpath(name) and n in (0, 2) else None
    with FaultServer(repo.parent, plan) as srv:
        base = "http://ostree.invalid" if route == "proxy" else srv.url
        with Fetcher(proxy=srv.url if route == "proxy" else None, low_speed_time=1) as f:
            t0 = time.monotonic()
            res = f.fetch([URI(f"{base}/repo")], f"objects/{name}", retries=1)
            out = io.BytesIO()
            f.fetch([URI(f"{base}/repo")], f"objects/{name}", retries=1, out=out)
            secs = time.monotonic() - t0
        assert srv.counts[objpath(name)] == (6 if fault == "truncate" else 4)  # truncate: a 416 and a restart each
    assert res.data == want
    assert out.getvalue() == want
    assert secs < 15


# ------------------------------------------------------------------ corrupted objects on the server

@pytest.fixture(scope="module")
def corrupt_src(tmp_path_factory, src):
    """A copy of the source repository with a content object and a dirtree corrupted on disk."""
    repo, rev, names = src
    base = tmp_path_factory.mktemp("corrupt")
    copies = {}
    for kind in ("filez", "dirtree"):
        dst = base / "www" / kind / "repo"
        shutil.copytree(repo, dst, symlinks=True)
        victim = biggest(repo, [n for n in names if n.endswith("." + kind)])[0]
        path = dst / "objects" / victim
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        copies[kind] = (dst, victim)
    return base / "www", copies


@pytest.mark.parametrize("kind", ["filez", "dirtree"])
def test_a_corrupted_object_on_the_server_is_refused(tmp_path, corrupt_src, src, ref, ours, kind):
    """Served by nginx (or ostree-py's trivial-httpd when nginx is missing): both
    tools refuse the object with the same error; ostree-py stores nothing wrong,
    and a second pull fails the same way (no retry hides it)."""
    _repo, _rev, names = src
    www, copies = corrupt_src
    served, victim = copies[kind]
    if NGINX is not None:
        server = Nginx(www, tmp_path / "nginx").start()
    else:
        server = OursHttpd(www).start()
    try:
        url = f"{server.url}/{kind}"
        out = {}
        for name, tool in (("ours", OURS), ("ref", [REF_OSTREE])):
            dst, p, _ = pull(tmp_path, url, tool=tool, name=name)
            assert_clean_failure(p)
            out[name] = p.stderr
            assert_nothing_wrong_stored(ref, ours, dst, names, bad=[victim])
        dst, p, _ = pull(tmp_path, url, name="ours")
        assert p.stderr == out["ours"]
    finally:
        server.stop()
    assert out["ours"] == out["ref"]
    assert "Corrupted" in out["ours"] or "checksum" in out["ours"].lower()


# ------------------------------------------------------------------ concurrency

def test_requests_are_made_concurrently(tmp_path, src, ref, ours, record_property):
    """With every answer held back 30 ms, the server sees several requests of one
    pull at once (ostree-py's limit is 8, as the reference's)."""
    repo, rev, _names = src
    with FaultServer(repo.parent, delay=0.03) as srv:
        dst, p, _ = pull(tmp_path, srv.url)
        ours_max = srv.max_in_flight
    assert p.returncode == 0, p.stderr
    ref(f"--repo={dst}", "fsck")
    with FaultServer(repo.parent, delay=0.03) as srv:
        _dst, p, _ = pull(tmp_path, srv.url, tool=[REF_OSTREE], name="ref")
        ref_max = srv.max_in_flight
    assert p.returncode == 0, p.stderr
    record_property("max_in_flight", {"ours": ours_max, "ref": ref_max})
    print(f"max requests in flight: ostree-py {ours_max}, reference {ref_max}")
    assert 4 <= ours_max <= 8  # 8 when the machine is not too loaded


@pytest.fixture(scope="module")
def many(tmp_path_factory, ref):
    """An archive repository (written by the reference) of one commit of ~3,000 small
    files in 30 directories: a pull makes some 3,000 requests."""
    base = tmp_path_factory.mktemp("many")
    rnd = random.Random(17)
    tree = base / "tree"
    for d in range(30):
        (tree / f"d{d:02d}").mkdir(parents=True)
        for i in range(100):
            (tree / f"d{d:02d}" / f"f{i:03d}").write_bytes(rnd.randbytes(100 + rnd.randrange(200)))
    repo = base / "www" / "repo"
    repo.parent.mkdir()
    ref(f"--repo={repo}", "init", "--mode=archive")
    ref(f"--repo={repo}", "commit", "-b", "main", "-s", "s", str(tree))
    rev = ref(f"--repo={repo}", "rev-parse", "main").stdout.strip()
    return repo, rev, object_names(repo)


# The flags of the issue: 20% 500s (at most 400) and 10% 408s (at most 200).
RANDOM_ERRORS = ("--random-500s=20", "--random-408s=10", "--random-500s-max=400", "--random-408s-max=200")


@pytest.mark.skipif(not os.path.exists(RefHttpd.argv[0]), reason="the reference's trivial-httpd is not installed")
def test_reference_httpd_random_errors_pull_completes(tmp_path, many, ref, ours):
    """Thousands of objects from the reference's trivial-httpd answering 500 and 408 at
    random: every object is retried on its own (each request that fails is tried again
    up to --network-retries times), so the pull completes and both fscks pass.

    With the default 5 retries, one of the ~1,500 objects requested before the server
    reaches its maxima fails 6 times in a row (0.28^6 each) about half of the time, for
    the reference as for ostree-py (measured: the reference failed 10 of 12 runs, with
    the same error); 12 retries make that about 1e-4."""
    repo, rev, names = many
    log = tmp_path / "httpd.log"
    httpd = RefHttpd(repo.parent, *RANDOM_ERRORS, f"--log-file={log}").start()
    try:
        dst, p, _secs = pull(tmp_path, httpd.url, "--network-retries=12", timeout=300)
    finally:
        httpd.stop()
    assert_complete(ref, ours, p, dst, rev)
    assert object_names(dst) == names
    text = log.read_text()
    assert text.count("(500)\n") > 100 and text.count("(408)\n") > 50


@pytest.mark.skipif(not os.path.exists(RefHttpd.argv[0]), reason="the reference's trivial-httpd is not installed")
def test_reference_httpd_random_errors_no_retries(tmp_path, many, ref, ours):
    """The reference's trivial-httpd answering 500 or 408 to 3% of requests, and
    --network-retries=0: the first such answer ends the pull with the reference's
    one-line error, and the repository keeps nothing of the pull (no object, no ref,
    nothing in a staging directory) although it had stored objects by then, and passes both
    fscks. Repeated (fresh repositories) until a pull got past 20 answered requests
    before failing (about 3 in 4 do); then a pull with retries completes."""
    repo, rev, names = many
    log = tmp_path / "httpd.log"
    httpd = RefHttpd(repo.parent, "--random-500s=2", "--random-408s=1", "--random-500s-max=400",
                     "--random-408s-max=200", f"--log-file={log}").start()
    try:
        for attempt in range(10):
            served = log.read_text().count("(200)\n")
            dst, p, _secs = pull(tmp_path, httpd.url, "--network-retries=0", timeout=300, name=f"dst{attempt}")
            assert_clean_failure(p)
            assert re.fullmatch(r"error: Server returned HTTP (500|408)\n", p.stderr), p.stderr
            fsck_both(ref, ours, dst)
            assert object_names(dst) == set()
            assert not [n for n in os.listdir(dst / "tmp") if n.startswith("staging-") and os.listdir(dst / "tmp" / n)]
            assert ref(f"--repo={dst}", "refs", check=False).stdout == ""
            if log.read_text().count("(200)\n") - served > 20:
                break
        else:
            pytest.fail("no pull got past 20 requests before an error")
        dst, p, _secs = pull(tmp_path, httpd.url, "--network-retries=12", timeout=300, name=f"dst{attempt}")
    finally:
        httpd.stop()
    assert_complete(ref, ours, p, dst, rev)


@pytest.mark.parametrize("how", ["500", "408"])
def test_object_retries_are_per_object(tmp_path, src, ref, ours, how):
    """Every object answers 500 (or 408) to its first two requests: with
    --network-retries=2 the pull completes (each object has its own retries; a
    request the server asked to repeat goes back in the queue, as in the reference),
    with 1 it fails with the reference's error and stores nothing."""
    repo, rev, names = src

    def plan(path, n):
        return how if "/objects/" in path and n < 2 else None
    with FaultServer(repo.parent, plan) as srv:
        dst, p, _secs = pull(tmp_path, srv.url, "--network-retries=1", name="one")
        assert_clean_failure(p)
        assert p.stderr == f"error: Server returned HTTP {how}\n"
        assert object_names(dst) == set()
    with FaultServer(repo.parent, plan) as srv:
        dst, p, _secs = pull(tmp_path, srv.url, "--network-retries=2", name="two")
        tries = collections.Counter(path for path, _n, _f, _r in srv.requests if "/objects/" in path)
    assert_complete(ref, ours, p, dst, rev)
    assert object_names(dst) == names
    assert set(tries.values()) == {3}
