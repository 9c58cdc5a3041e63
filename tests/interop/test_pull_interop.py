"""pull against the reference: each side pulls over HTTP from what the other wrote.

The reference pulls from a repository ostree-py committed and served, and
ostree-py pulls from one the reference committed; both results must pass the
reference's fsck, and ostree-py's pull must store exactly the objects (same
files, modes, contents) and print the same closing line as the reference's.
"""

import hashlib
import os
import re
import stat

import pytest

from ostree_py.remote import httpd as H


def make_tree(root):
    (root / "baz" / "deeper").mkdir(parents=True)
    (root / "firstfile").write_text("first\n")
    (root / "baz" / "cow").write_text("moo\n")
    (root / "baz" / "deeper" / "ohyeah").write_text("hi\n")
    (root / "empty").write_bytes(b"")
    (root / "link").symlink_to("baz/cow")
    (root / "big").write_bytes(os.urandom(1 << 20) * 2)
    (root / "exec").write_text("#!/bin/sh\n")
    os.chmod(root / "exec", 0o755)
    return root


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("pullinterop")
    server = H.TrivialHttpd(str(root))
    server.start()
    yield root, f"http://127.0.0.1:{server.port}"
    server.shutdown()
    server.close()


def store_listing(repo):
    """objects/ as (relative path, file type, permission bits, content digest)."""
    out = []
    for dirpath, _dirs, files in os.walk(os.path.join(repo, "objects")):
        for n in files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                digest = os.readlink(p)
            else:
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            out.append((os.path.relpath(p, repo), stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), digest))
    return sorted(out)


def status(text):
    return re.sub(r"in \d+ seconds", "in N seconds", text)


def commit_two(tool, repo, tree):
    tool(f"--repo={repo}", "init", "--mode=archive")
    tool(f"--repo={repo}", "commit", "-b", "main", "-s", "one", "--add-metadata-string=version=1", str(tree))
    (tree / "baz" / "new").write_text("new\n")
    tool(f"--repo={repo}", "commit", "-b", "main", "-s", "two", str(tree))
    tool(f"--repo={repo}", "summary", "-u")


@pytest.mark.parametrize("mode", ["bare-user", "archive"])
def test_reference_pulls_what_we_serve(tmp_path, served, ref, ours, mode):
    root, base = served
    src = root / f"ours-{mode}"
    commit_two(ours, src, make_tree(tmp_path / "tree"))
    dst = tmp_path / "dst"
    ref(f"--repo={dst}", "init", f"--mode={mode}")
    ref(f"--repo={dst}", "remote", "add", "--no-gpg-verify", "origin", f"{base}/{src.name}")
    ref(f"--repo={dst}", "pull", "--depth=-1", "origin", "main")
    ref(f"--repo={dst}", "fsck")
    head = ours(f"--repo={src}", "rev-parse", "main").stdout.strip()
    assert ref(f"--repo={dst}", "rev-parse", "origin:main").stdout.strip() == head
    assert ref(f"--repo={dst}", "cat", "origin:main", "/baz/new").stdout == "new\n"


@pytest.mark.parametrize("mode", ["bare-user", "archive", "bare"])
def test_we_pull_what_the_reference_serves(tmp_path, served, ref, ours, mode):
    root, base = served
    src = root / f"ref-{mode}"
    commit_two(ref, src, make_tree(tmp_path / "tree"))
    results = {}
    for name, tool in (("ref", ref), ("ours", ours)):
        dst = tmp_path / name
        ref(f"--repo={dst}", "init", f"--mode={mode}")
        ref(f"--repo={dst}", "remote", "add", "--no-gpg-verify", "origin", f"{base}/{src.name}")
        first = tool(f"--repo={dst}", "pull", "origin", "main").stdout
        again = tool(f"--repo={dst}", "pull", "--depth=-1", "origin", "main").stdout
        ref(f"--repo={dst}", "fsck")
        results[name] = (status(first), status(again), store_listing(str(dst)),
                         ref(f"--repo={dst}", "refs").stdout, os.listdir(dst / "state"))
    assert results["ours"] == results["ref"]


def test_mirror_and_subpath_match_the_reference(tmp_path, served, ref, ours):
    root, base = served
    src = root / "ref-mirror"
    commit_two(ref, src, make_tree(tmp_path / "tree"))
    results = {}
    for name, tool in (("ref", ref), ("ours", ours)):
        mirror = tmp_path / f"{name}-mirror"
        ref(f"--repo={mirror}", "init", "--mode=archive")
        ref(f"--repo={mirror}", "remote", "add", "--no-gpg-verify", "origin", f"{base}/{src.name}")
        out = tool(f"--repo={mirror}", "pull", "--mirror", "origin").stdout
        part = tmp_path / f"{name}-part"
        ref(f"--repo={part}", "init", "--mode=bare-user")
        ref(f"--repo={part}", "remote", "add", "--no-gpg-verify", "origin", f"{base}/{src.name}")
        out2 = tool(f"--repo={part}", "pull", "--subpath=/baz", "origin", "main").stdout
        ref(f"--repo={mirror}", "fsck")
        fsck = ref(f"--repo={part}", "fsck").stdout
        with open(mirror / "summary", "rb") as f:
            summary = f.read()
        results[name] = (status(out), status(out2), store_listing(str(mirror)), store_listing(str(part)),
                         ref(f"--repo={mirror}", "refs").stdout, summary, fsck)
    assert results["ours"] == results["ref"]


def test_errors_match_the_reference(tmp_path, served, ref, ours):
    root, base = served
    dst = tmp_path / "dst"
    ref(f"--repo={dst}", "init", "--mode=bare-user")
    ref(f"--repo={dst}", "remote", "add", "--no-gpg-verify", "origin", f"{base}/nosuchrepo")
    ref(f"--repo={dst}", "remote", "add", "--no-gpg-verify", "bad", "badscheme://x")
    for argv in (["pull", "origin", "main"], ["pull", "bad", "main"], ["pull", "nosuch", "main"],
                 ["pull", "origin"], ["pull", "origin", "main@abc"]):
        r = ref(f"--repo={dst}", *argv, check=False)
        o = ours(f"--repo={dst}", *argv, check=False)
        assert (o.returncode, o.stdout, o.stderr) == (r.returncode, r.stdout, r.stderr), argv
