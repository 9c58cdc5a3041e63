"""ostree_py.remote.pull over HTTP (the in-process trivial-httpd) and file://.

Source repositories are made with ostree-py's own commit command and served
by ostree_py.remote.httpd; tests/interop/test_pull_interop.py checks the same
against the reference binary.
"""

import io
import os

import pytest

from ostree_py.remote import httpd as H
from ostree_py.commands import _cli, main
from ostree_py.errors import OstreeError
from ostree_py.remote.pull import PullResult, fetch_summary, pull
from ostree_py.repo import Repo
from ostree_py.repo.traverse import traverse_commits


def ostree(*argv, check=True):
    """Run ostree-py's CLI in this process; return (rc, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    env = dict(os.environ)
    env.pop("OSTREE_PY_DEBUG", None)
    ctx = _cli.Context(stdout=out, stderr=err, stdin=io.StringIO(), environ=env)
    rc = main([str(a) for a in argv], ctx)
    if check and rc != 0:
        raise AssertionError(f"ostree {argv} -> {rc}: {err.getvalue()}")
    return rc, out.getvalue(), err.getvalue()


def commit(repo, tree, branch="main", subject="c", *extra):
    return ostree(f"--repo={repo}", "commit", "-b", branch, "-s", subject, f"--tree=dir={tree}",
                  *extra)[1].strip()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """An archive repo with three commits on main and one on other, served over HTTP."""
    base = tmp_path_factory.mktemp("pullsrv")
    root = base / "srv"
    root.mkdir()
    repo = root / "repo"
    ostree(f"--repo={repo}", "init", "--mode=archive")
    tree = base / "tree"
    (tree / "baz").mkdir(parents=True)
    (tree / "firstfile").write_text("first\n")
    (tree / "baz" / "cow").write_text("moo\n")
    (tree / "baz" / "saucer").write_text("alien\n")
    c1 = commit(repo, tree, "main", "one")
    (tree / "baz" / "deeper").mkdir()
    (tree / "baz" / "deeper" / "ohyeah").write_text("hi\n")
    c2 = commit(repo, tree, "main", "two")
    (tree / "baz" / "another").mkdir()
    (tree / "baz" / "another" / "y").write_text("x\n")
    (tree / "big").write_bytes(os.urandom(3 << 20))
    c3 = commit(repo, tree, "main", "three")
    other = base / "other"
    other.mkdir()
    (other / "o").write_text("other\n")
    commit(repo, other, "other", "other")
    ostree(f"--repo={repo}", "summary", "-u")
    server = H.TrivialHttpd(str(root))
    server.start()
    url = f"http://127.0.0.1:{server.port}/repo"
    yield {"root": root, "repo": repo, "url": url, "commits": (c1, c2, c3), "server": server, "base": base}
    server.shutdown()
    server.close()


def dest(tmp_path, srv, mode="bare-user", name="dst", url=None, **remote_opts):
    path = tmp_path / name
    ostree(f"--repo={path}", "init", f"--mode={mode}")
    opts = [f"--set={k.replace('_', '-')}={v}" for k, v in remote_opts.items()]
    ostree(f"--repo={path}", "remote", "add", "--no-gpg-verify", *opts, "origin", url or srv["url"])
    return Repo.open(str(path))


def complete(repo, csum, depth=0):
    """Every object reachable from ``csum`` is stored and the commit is not partial."""
    reachable = traverse_commits(repo, [csum], depth)
    from ostree_py.repo.traverse import key_parts
    for key in reachable:
        c, t = key_parts(key)
        assert repo.has_object(t, c), (c, t)
    return not repo.is_commit_partial(csum)


@pytest.mark.parametrize("mode", ["bare-user", "archive", "bare-user-only"])
def test_pull_branch(tmp_path, srv, mode):
    repo = dest(tmp_path, srv, mode)
    res = pull(repo, "origin", ["main"])
    c3 = srv["commits"][2]
    assert repo.resolve_rev("origin:main") == c3
    assert complete(repo, c3)
    assert res.n_fetched_content > 0 and res.bytes_transferred > 3 << 20
    assert res.status().startswith(f"{res.n_fetched_metadata} metadata, {res.n_fetched_content} content "
                                   f"objects fetched; ")
    # the same again: only the detached metadata is looked for (and, where
    # deltas could be used, the delta index the summary announces), as the reference
    res = pull(repo, "origin", ["main"])
    n = 1 if mode == "archive" else 2
    assert (res.n_fetched_metadata, res.n_fetched_content) == (n, 0)
    assert res.status() == f"{n} metadata, 0 content objects fetched; 0 bytes content written"


def test_status_line():
    r = PullResult()
    r.n_fetched_metadata, r.n_fetched_content, r.bytes_transferred, r.seconds = 7, 4, 645, 0
    r.content_bytes_written = 19
    assert r.status() == "7 metadata, 4 content objects fetched; 645 B transferred in 0 seconds; " \
                         "19 bytes content written"
    r.bytes_transferred = 93811700  # 91612.99 KiB
    r.n_imported_metadata, r.n_imported_content = 4, 5
    assert r.status() == "7 metadata, 4 content objects fetched (4 meta, 5 content local); 91612 KiB " \
                         "transferred in 0 seconds; 19 bytes content written"
    r.local = True
    r.bytes_transferred = 0
    assert r.status() == "4 metadata, 5 content objects imported; 19 bytes content written"


def test_depth_and_commit_only(tmp_path, srv):
    c1, c2, c3 = srv["commits"]
    repo = dest(tmp_path, srv)
    pull(repo, "origin", ["main"], commit_metadata_only=True)
    assert repo.is_commit_partial(c3) and not repo.has_object("commit", c2)
    assert not os.path.exists(repo.path + "/objects/" + c3[:2]) or \
        not any(n.endswith(".dirtree") for d in os.listdir(repo.objects_dir)
                for n in os.listdir(os.path.join(repo.objects_dir, d)))
    pull(repo, "origin", ["main"], depth=1)
    assert complete(repo, c3, 1) and not repo.is_commit_partial(c2)
    assert not repo.has_object("commit", c1)
    pull(repo, "origin", ["main"], depth=-1)
    assert complete(repo, c3, -1)
    assert not os.listdir(os.path.join(repo.path, "state"))


def test_subpath_then_full(tmp_path, srv):
    c3 = srv["commits"][2]
    repo = dest(tmp_path, srv)
    pull(repo, "origin", ["main"], subdirs=["/baz/deeper", "/firstfile"])
    assert repo.is_commit_partial(c3)
    rc, _, err = ostree(f"--repo={repo.path}", "cat", "origin:main", "/baz/cow", check=False)
    assert rc == 1 and "Couldn't find file object" in err
    assert ostree(f"--repo={repo.path}", "cat", "origin:main", "/baz/deeper/ohyeah")[1] == "hi\n"
    assert ostree(f"--repo={repo.path}", "cat", "origin:main", "/firstfile")[1] == "first\n"
    pull(repo, "origin", ["main"])
    assert complete(repo, c3)


def test_mirror_all_refs_copies_summary(tmp_path, srv):
    repo = dest(tmp_path, srv, "archive")
    pull(repo, "origin", None, mirror=True)
    assert repo.resolve_rev("main") == srv["commits"][2]
    assert repo.resolve_rev("other")
    with open(os.path.join(repo.path, "summary"), "rb") as a, open(srv["repo"] / "summary", "rb") as b:
        assert a.read() == b.read()


def test_mirror_requires_summary(tmp_path, srv):
    root = srv["base"] / "nosum"
    ostree(f"--repo={root}", "init", "--mode=archive")
    repo = dest(tmp_path, srv, "archive", url=f"file://{root}")
    with pytest.raises(OstreeError) as e:
        pull(repo, "origin", None, mirror=True)
    assert e.value.message == ("Fetching all refs was requested in mirror mode, but remote repository does not "
                               "have a summary")


def test_override_commit_and_checksum(tmp_path, srv):
    c1, c2, c3 = srv["commits"]
    repo = dest(tmp_path, srv)
    pull(repo, "origin", ["main"], override_commit_ids=[c1])
    assert repo.resolve_rev("origin:main") == c1
    pull(repo, "origin", [c2])
    assert complete(repo, c2) and repo.resolve_rev("origin:main") == c1


def test_timestamp_check(tmp_path, srv):
    src = srv["root"] / "dated"
    ostree(f"--repo={src}", "init", "--mode=archive")
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_text("1")
    old = commit(src, tree, "main", "old", "--timestamp=@1000000000")
    (tree / "f").write_text("2")
    new = commit(src, tree, "main", "new", "--timestamp=@1100000000")
    repo = dest(tmp_path, srv, url=srv["url"].rsplit("/", 1)[0] + "/dated")
    pull(repo, "origin", ["main"], timestamp_check=True)
    with pytest.raises(OstreeError) as e:
        pull(repo, "origin", ["main"], override_commit_ids=[old], timestamp_check=True)
    assert e.value.message.startswith(f"Upgrade target revision '{old}' with timestamp "
                                      f"'Sun Sep  9 01:46:40 2001' is chronologically older than current "
                                      f"revision '{new}'")
    assert repo.resolve_rev("origin:main") == new
    with pytest.raises(OstreeError) as e:
        pull(repo, "origin", ["main"], override_commit_ids=[old], timestamp_check_from_rev=new)
    assert "chronologically older" in e.value.message
    pull(repo, "origin", ["main"], override_commit_ids=[old])
    assert repo.resolve_rev("origin:main") == old


def test_compare_timestamps_message():
    from ostree_py.remote.pull import compare_timestamps
    compare_timestamps("a", 10, "b", 10)
    compare_timestamps("a", 10, "b", 11)
    with pytest.raises(OstreeError) as e:
        compare_timestamps("a" * 64, 1420070410, "b" * 64, 1420070400)
    assert e.value.message == (
        f"Upgrade target revision '{'b' * 64}' with timestamp 'Thu Jan  1 00:00:00 2015' is chronologically "
        f"older than current revision '{'a' * 64}' with timestamp 'Thu Jan  1 00:00:10 2015'; use "
        f"--allow-downgrade to permit")


def test_corrupt_object_then_resume(tmp_path, srv):
    """A corrupted object fails the pull; what was fetched stays; the fixed remote completes it."""
    import shutil
    c3 = srv["commits"][2]
    copy = srv["root"] / "corrupt"
    shutil.copytree(srv["repo"], copy, symlinks=True)
    victim = None
    for d in sorted(os.listdir(copy / "objects")):
        for n in sorted(os.listdir(copy / "objects" / d)):
            if n.endswith(".filez"):
                victim = copy / "objects" / d / n
                break
        if victim:
            break
    good = victim.read_bytes()
    import zlib
    hlen = int.from_bytes(good[:4], "big")
    header, body = good[:8 + hlen], zlib.decompress(good[8 + hlen:], -15)
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert body != body[::-1]
    victim.write_bytes(header + z.compress(body[::-1]) + z.flush())
    repo = dest(tmp_path, srv, url=srv["url"].rsplit("/", 1)[0] + "/corrupt")
    with pytest.raises(OstreeError) as e:
        pull(repo, "origin", ["main"])
    csum = victim.parent.name + victim.name[:-len(".filez")]
    assert "Corrupted file object" in e.value.message and csum in e.value.message
    assert repo.resolve_rev("origin:main", True) is None
    assert repo.is_commit_partial(c3) and not repo.has_object("file", csum)
    kept = sum(1 for _c, t in repo.iter_objects() if t == "file")
    victim.write_bytes(good)
    res = pull(repo, "origin", ["main"])
    assert complete(repo, c3)
    assert res.n_fetched_content == 6 - kept  # what the failed pull stored is not fetched again


def test_bareuseronly_files_refuses_setuid(tmp_path, srv):
    tree = tmp_path / "suidtree"
    tree.mkdir()
    (tree / "s").write_text("#!/bin/sh\n")
    os.chmod(tree / "s", 0o4755)
    other = srv["root"] / "suid"
    ostree(f"--repo={other}", "init", "--mode=archive")
    commit(other, tree, "main")
    repo = dest(tmp_path, srv, "archive", url=srv["url"].rsplit("/", 1)[0] + "/suid")
    with pytest.raises(OstreeError) as e:
        pull(repo, "origin", ["main"], bareuseronly_files=True)
    assert "invalid mode" in e.value.message and "with bits 04000" in e.value.message
    pull(repo, "origin", ["main"])


def test_localcache(tmp_path, srv):
    c3 = srv["commits"][2]
    cache = dest(tmp_path, srv, "archive", name="cache")
    pull(cache, "origin", ["main"], override_commit_ids=[srv["commits"][1]])
    repo = dest(tmp_path, srv, "archive")
    res = pull(repo, "origin", ["main"], localcache_repos=[cache.path])
    assert complete(repo, c3)
    assert res.n_imported_metadata > 0 and res.n_imported_content == 4
    assert "content local)" in res.status()


def test_file_remote_imports(tmp_path, srv):
    repo = dest(tmp_path, srv, "archive", url=f"file://{srv['repo']}")
    res = pull(repo, "origin", ["main"])
    c3 = srv["commits"][2]
    assert complete(repo, c3) and res.local
    assert res.status().startswith(f"{res.n_imported_metadata} metadata, {res.n_imported_content} content "
                                   f"objects imported; ")
    # same filesystem, same mode: hardlinks
    obj = repo.object_path("commit", c3)
    assert os.stat(obj).st_ino == os.stat(srv["repo"] / os.path.relpath(obj, repo.path)).st_ino


def test_contenturl_and_mirrorlist(tmp_path, srv):
    import shutil
    meta = srv["root"] / "metaonly"
    shutil.copytree(srv["repo"], meta, symlinks=True)
    for d in os.listdir(meta / "objects"):
        for n in os.listdir(meta / "objects" / d):
            if n.endswith(".filez"):
                os.unlink(meta / "objects" / d / n)
    base = srv["url"].rsplit("/", 1)[0]
    (srv["root"] / "mirrors").write_text(f"# comment\n\n{base}/nosuchrepo\n{base}/repo\n")
    repo = dest(tmp_path, srv, url=f"{base}/metaonly", contenturl=f"mirrorlist={base}/mirrors")
    pull(repo, "origin", ["main"])
    assert complete(repo, srv["commits"][2])


def test_metalink(tmp_path, srv):
    import hashlib
    summary = (srv["repo"] / "summary").read_bytes()
    base = srv["url"].rsplit("/", 1)[0]
    doc = f"""<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/">
  <unknown><deeper>x</deeper></unknown>
  <files>
    <file name="summary">
      <size>{len(summary)}</size>
      <verification><hash type="sha256">{hashlib.sha256(summary).hexdigest()}</hash></verification>
      <resources>
        <url protocol="http" type="http" location="US" preference="100">{base}/repo/nosuch</url>
        <url protocol="http" type="http" location="US" preference="99">{base}/repo/summary</url>
      </resources>
    </file>
  </files>
</metalink>
"""
    (srv["root"] / "metalink.xml").write_text(doc)
    repo = dest(tmp_path, srv, name="m1")
    ostree(f"--repo={repo.path}", "config", "set", 'remote "origin".url', f"{base}/nosuch")
    ostree(f"--repo={repo.path}", "config", "set", 'remote "origin".metalink', f"{base}/metalink.xml")
    repo = Repo.open(repo.path)
    pull(repo, "origin", ["main"])
    assert complete(repo, srv["commits"][2])
    (srv["root"] / "metalink.xml").write_text(doc.replace(hashlib.sha256(summary).hexdigest(), "bacon"))
    with pytest.raises(OstreeError) as e:
        pull(repo, "origin", ["main"])
    assert e.value.message == "Invalid hash digest for sha256"
    (srv["root"] / "metalink.xml").write_text("bacon")
    with pytest.raises(OstreeError) as e:
        pull(repo, "origin", ["main"])
    assert "Document must begin with an element" in e.value.message


@pytest.mark.parametrize("setup,message", [
    (lambda r: None, 'Remote "nosuch" not found'),
])
def test_unknown_remote(tmp_path, srv, setup, message):
    repo = dest(tmp_path, srv)
    with pytest.raises(OstreeError) as e:
        pull(repo, "nosuch", ["main"])
    assert e.value.message == message


@pytest.mark.parametrize("opts,refs,message", [
    ({}, None, "No configured branches for remote origin"),
    ({"unconfigured_state": "Pay up"}, ["main"], "remote unconfigured-state: Pay up"),
    ({"custom_backend": "ostree-rs-ext"}, ["main"],
     "Cannot fetch via libostree - remote 'origin' uses custom backend 'ostree-rs-ext'"),
])
def test_remote_config_errors(tmp_path, srv, opts, refs, message):
    repo = dest(tmp_path, srv, **opts)
    with pytest.raises(OstreeError) as e:
        pull(repo, "origin", refs)
    assert e.value.message == message


def test_http_errors(tmp_path, srv):
    repo = dest(tmp_path, srv, url=srv["url"] + "-missing")
    with pytest.raises(OstreeError) as e:
        pull(repo, "origin", ["main"])
    assert e.value.message == "Server returned HTTP 404"
    repo = dest(tmp_path, srv, name="d2")
    with pytest.raises(OstreeError) as e:
        pull(repo, "origin", ["nosuch"])
    assert e.value.message == "No such branch 'nosuch' in repository summary"
    repo = dest(tmp_path, srv, "archive", name="d3")
    with pytest.raises(OstreeError) as e:
        pull(repo, "origin", ["main"], require_static_deltas=True)
    assert e.value.message == "Can't use static deltas in an archive repo"


def test_basic_auth_cookies_headers(tmp_path, srv):
    server = H.TrivialHttpd(str(srv["root"]), options=H.HttpdOptions(
        require_basic_auth=True, expected_cookies=["foo=bar"], expected_headers=["X-Key=v"]))
    server.start()
    try:
        good = f"http://foouser:barpw@127.0.0.1:{server.port}/repo"
        repo = dest(tmp_path, srv, url=good)
        with open(os.path.join(repo.path, "origin.cookies.txt"), "w") as f:
            f.write("127.0.0.1\tFALSE\t/\tFALSE\t0\tfoo\tbar\n")
        with pytest.raises(OstreeError) as e:
            pull(repo, "origin", ["main"])
        assert "HTTP 4" in e.value.message
        pull(repo, "origin", ["main"], http_headers=[("X-Key", "v")])
        bad = dest(tmp_path, srv, url=good.replace("barpw", "wrong"), name="bad")
        with pytest.raises(OstreeError) as e:
            pull(bad, "origin", ["main"], http_headers=[("X-Key", "v")])
        assert e.value.message == "Server returned HTTP 401"
    finally:
        server.shutdown()
        server.close()


def test_retries_on_server_errors(tmp_path, srv):
    server = H.TrivialHttpd(str(srv["root"]), options=H.HttpdOptions(random_500s=50, random_500s_max=30))
    server.start()
    try:
        repo = dest(tmp_path, srv, url=f"http://127.0.0.1:{server.port}/repo")
        pull(repo, "origin", ["main"], n_network_retries=40)
        assert complete(repo, srv["commits"][2])
    finally:
        server.shutdown()
        server.close()


def test_resume_with_ranges(tmp_path, srv):
    server = H.TrivialHttpd(str(srv["root"]), options=H.HttpdOptions(force_ranges=True))
    server.start()
    try:
        repo = dest(tmp_path, srv, url=f"http://127.0.0.1:{server.port}/repo")
        pull(repo, "origin", ["main"], n_network_retries=0)
        assert complete(repo, srv["commits"][2])
    finally:
        server.shutdown()
        server.close()


def test_summary_cache(tmp_path, srv):
    """A summary with a signature is cached with its ETag and not downloaded again."""
    import shutil
    signed = srv["root"] / "signed"
    shutil.copytree(srv["repo"], signed, symlinks=True)
    (signed / "summary.sig").write_bytes(b"not checked without GPG support")
    repo = dest(tmp_path, srv, url=srv["url"].rsplit("/", 1)[0] + "/signed")
    env = os.environ.pop("OSTREE_SKIP_CACHE", None)
    try:
        pull(repo, "origin", ["main"])
        cached = os.path.join(repo.path, "tmp/cache/summaries/origin")
        st = os.stat(cached)
        assert os.getxattr(cached, "user.etag").startswith(b'"')
        assert os.path.exists(cached + ".sig")
        pull(repo, "origin", ["main"])
        assert os.stat(cached).st_ino == st.st_ino
        s, sig = fetch_summary(repo, "origin")
        assert s == (signed / "summary").read_bytes() and sig == (signed / "summary.sig").read_bytes()
        assert os.stat(cached).st_ino == st.st_ino
    finally:
        if env is not None:
            os.environ["OSTREE_SKIP_CACHE"] = env


def test_cli_output_and_usage(tmp_path, srv):
    repo = dest(tmp_path, srv)
    rc, out, err = ostree(f"--repo={repo.path}", "pull", "origin", "main")
    assert rc == 0 and out.startswith("8 metadata, 6 content objects fetched; 3") and out.endswith(
        "content written\n")
    rc, out, err = ostree(f"--repo={repo.path}", "pull", "origin:main")
    assert out == "2 metadata, 0 content objects fetched; 0 bytes content written\n"
    rc, out, err = ostree(f"--repo={repo.path}", "pull", check=False)
    assert rc == 1 and err.endswith("\nerror: REMOTE must be specified\n") and "Usage:" in err
    rc, out, err = ostree(f"--repo={repo.path}", "pull", "origin", "main@abc", check=False)
    assert (rc, err) == (1, "error: Invalid rev abc\n")
    rc, out, err = ostree(f"--repo={repo.path}", "pull", "--http-header=x", "origin", "main", check=False)
    assert (rc, err) == (1, "error: Missing '=' in --http-header\n")
    rc, out, err = ostree(f"--repo={repo.path}", "pull", "--dry-run", "origin", "main", check=False)
    assert (rc, err) == (1, "error: --dry-run requires --require-static-deltas\n")
