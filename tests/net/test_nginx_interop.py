"""HTTP interop against a real web server (nginx) and ostree-py's trivial-httpd.

- The reference pulls over HTTP (nginx) from an archive repository that
  ostree-py committed and summarised.
- ostree-py pulls from an archive repository the reference wrote, served by
  nginx and by ``ostree-py trivial-httpd``; what it stores is exactly what the
  reference's own pull of the same repository stores.
Every result passes both tools' fsck and has the source's refs.
"""

import hashlib
import os
import pathlib
import shutil
import stat

import pytest

from netutil import NGINX, OursHttpd, fsck_both, make_tree, object_names

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make install installs it)")


def store_listing(repo):
    """objects/ as (relative path, file type, permission bits, content digest)."""
    out = []
    for dirpath, _dirs, files in os.walk(os.path.join(repo, "objects")):
        for n in files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            with open(p, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            out.append((os.path.relpath(p, repo), stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), digest))
    return sorted(out)


def commit_two(tool, repo, tree):
    """Two commits of main (the second changes the tree) and one of other/branch, summarised."""
    tree = pathlib.Path(shutil.copytree(tree, f"{repo}.tree", symlinks=True))
    tool(f"--repo={repo}", "init", "--mode=archive")
    tool(f"--repo={repo}", "commit", "-b", "main", "-s", "one", str(tree))
    (tree / "dir01" / "added").write_text("added in two\n")
    os.unlink(tree / "dir02" / "file000.txt")
    tool(f"--repo={repo}", "commit", "-b", "main", "-s", "two", str(tree))
    tool(f"--repo={repo}", "commit", "-b", "other/branch", "-s", "other", str(tree / "dir03"))
    tool(f"--repo={repo}", "summary", "-u")


def refs_of(tool, repo):
    return tool(f"--repo={repo}", "refs", "--list").stdout


def revs(tool, repo, refs):
    return {r: tool(f"--repo={repo}", "rev-parse", r).stdout.strip() for r in refs}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    t = make_tree(tmp_path_factory.mktemp("nettree") / "tree")
    n = sum(len(f) + len(d) for _, d, f in os.walk(t))
    assert n > 300
    return t


def test_reference_pulls_what_ostree_py_wrote_from_nginx(tmp_path, tree, nginx, ref, ours):
    src = os.path.join(nginx.root, "ours")
    commit_two(ours, src, tree)
    dst = tmp_path / "dst"
    ref(f"--repo={dst}", "init", "--mode=archive")
    ref(f"--repo={dst}", "remote", "add", "--no-gpg-verify", "origin", f"{nginx.url}/ours")
    ref(f"--repo={dst}", "pull", "--depth=-1", "origin", "main", "other/branch")
    fsck_both(ref, ours, dst)
    want = revs(ours, src, ["main", "main^", "other/branch"])
    assert revs(ref, dst, ["origin:main", "origin:main^", "origin:other/branch"]) == \
        {"origin:" + k: v for k, v in want.items()}
    # archive to archive: the reference stored every object exactly as we wrote it
    assert object_names(dst) == object_names(src)
    assert store_listing(str(dst)) == store_listing(src)
    # and nginx did serve it
    assert " 200 /ours/objects/" in nginx.access_log()


@pytest.fixture(scope="module")
def ref_written(tree, nginx, ref):
    """An archive repository the reference committed and summarised, under nginx's root,
    and what the reference's own pull of it (over nginx) stored."""
    src = os.path.join(nginx.root, "ref")
    commit_two(ref, src, tree)
    dst = os.path.join(os.path.dirname(nginx.root), "ref-pulled")
    ref(f"--repo={dst}", "init", "--mode=archive")
    ref(f"--repo={dst}", "remote", "add", "--no-gpg-verify", "origin", f"{nginx.url}/ref")
    ref(f"--repo={dst}", "pull", "--depth=-1", "origin", "main", "other/branch")
    return src, dst


def pulled_state(ref, dst):
    return (refs_of(ref, dst), revs(ref, dst, ["origin:main", "origin:main^", "origin:other/branch"]),
            store_listing(str(dst)), sorted(os.listdir(os.path.join(dst, "state"))))


@pytest.mark.parametrize("server", ["nginx", "trivial-httpd"])
def test_ostree_py_pulls_what_the_reference_wrote(tmp_path, ref_written, nginx, ref, ours, server):
    src, ref_dst = ref_written
    httpd = None
    if server == "nginx":
        url = f"{nginx.url}/ref"
    else:
        httpd = OursHttpd(nginx.root).start()
        url = f"{httpd.url}/ref"
    dst = tmp_path / "ours"
    try:
        ref(f"--repo={dst}", "init", "--mode=archive")
        ref(f"--repo={dst}", "remote", "add", "--no-gpg-verify", "origin", url)
        log_start = len(nginx.access_log())
        ours(f"--repo={dst}", "pull", "--depth=-1", "origin", "main", "other/branch")
    finally:
        if httpd is not None:
            httpd.stop()
    if server == "nginx":
        # kept-alive connections, at most 8 requests at once: a few connections carry all the
        # requests (the pulling process's threads and its worker processes each keep their own)
        from ostree_py.remote.pull import MAX_OUTSTANDING_FETCHES, PULL_PROCESSES
        lines = [ln.split() for ln in nginx.access_log()[log_start:].splitlines()]
        assert lines and all(status == "200" or (status == "404" and uri.endswith((".sig", ".commitmeta")))
                             for _c, _n, status, uri, *_ in lines)
        conns = {c for c, *_ in lines}
        assert len(conns) <= MAX_OUTSTANDING_FETCHES + PULL_PROCESSES + 1 and len(lines) > 10 * len(conns), \
            (len(conns), len(lines))
    fsck_both(ref, ours, dst)
    fsck_both(ref, ours, ref_dst)
    # exactly what the reference's pull stored: same refs, objects (bytes and modes), state
    assert pulled_state(ref, dst) == pulled_state(ref, ref_dst)
    assert revs(ref, dst, ["origin:main"])["origin:main"] == ref(f"--repo={src}", "rev-parse", "main").stdout.strip()
    assert object_names(dst) == object_names(src)


def test_ostree_py_pull_into_bare_user_from_nginx_reproduces_the_tree(tmp_path, ref_written, nginx, ref, ours):
    """Not only archive: a bare-user pull from nginx holds the same tree, and checks out."""
    src, _ = ref_written
    dst = tmp_path / "dst"
    ours(f"--repo={dst}", "init", "--mode=bare-user")
    ours(f"--repo={dst}", "remote", "add", "--no-gpg-verify", "origin", f"{nginx.url}/ref")
    ours(f"--repo={dst}", "pull", "origin", "main")
    fsck_both(ref, ours, dst)
    assert ref(f"--repo={dst}", "ls", "-R", "origin:main").stdout == ref(f"--repo={src}", "ls", "-R", "main").stdout
    out = tmp_path / "co"
    ref(f"--repo={dst}", "checkout", "-U", "origin:main", str(out))
    assert (out / "dir00" / "nested" / "link-rel").is_symlink()
    assert (out / "dir01" / "added").read_text() == "added in two\n"


def test_worker_processes_store_what_threads_store(tmp_path, ref_written, nginx, ref, ours):
    """Content fetched by forked worker processes (the default) or by threads alone
    (OSTREE_PY_PULL_PROCESSES=0): the same objects, refs and report, and a clean fsck."""
    states, reports = [], []
    for n in ("0", "4"):
        dst = tmp_path / f"procs{n}"
        ours(f"--repo={dst}", "init", "--mode=bare-user")
        ours(f"--repo={dst}", "remote", "add", "--no-gpg-verify", "origin", f"{nginx.url}/ref")
        r = ours(f"--repo={dst}", "pull", "--depth=-1", "origin", "main", "other/branch",
                 env={"OSTREE_PY_PULL_PROCESSES": n})
        reports.append(r.stdout.strip().splitlines()[-1])
        fsck_both(ref, ours, dst)
        states.append(pulled_state(ref, dst))
    assert states[0] == states[1]
    assert reports[0].split("objects fetched")[0] == reports[1].split("objects fetched")[0], reports
    assert "content objects fetched" in reports[0], reports
