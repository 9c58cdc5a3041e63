"""Library behaviour of the inspection commands that the reference cannot show us
(it crashes or loops): corrupted commits, history cycles; plus ref name grammar
against GLib's own regex engine and RepoFile path rules."""

import hashlib
import io
import json
import os
import random
import subprocess

import pytest

from ostree_py.commands import _cli, main
from ostree_py.errors import OstreeError
from ostree_py.ops.log import iter_log
from ostree_py.core.objects import Commit, DirMeta, DirTree
from ostree_py.core.objects import is_valid_collection_id, parse_refspec
from ostree_py.repo import Repo
from ostree_py.repo.repofile import RepoFile


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    ctx = _cli.Context(stdout=out, stderr=err, stdin=io.StringIO(), environ=dict(os.environ), prog="ostree")
    return main(list(argv), ctx), out.getvalue(), err.getvalue()


@pytest.fixture
def repo(tmp_path):
    r = Repo.create(str(tmp_path / "repo"), "archive")
    meta = r.write_metadata("dirmeta", DirMeta(0, 0, 0o40755).to_bytes())
    sub = r.write_metadata("dirtree", DirTree().to_bytes())
    from ostree_py.core.content import FileInfo
    f = r.write_content(FileInfo(0o100644, 0, 0, 6), data=b"hello\n")
    link = r.write_content(FileInfo(0o120777, 0, 0, 0, "/f"))
    up = r.write_content(FileInfo(0o120777, 0, 0, 0, "../f"))
    loop = r.write_content(FileInfo(0o120777, 0, 0, 0, "loop"))
    root = r.write_metadata("dirtree", DirTree([("f", f), ("loop", loop)],
                                               [("d", sub, meta), ("e", _tree_with(r, [("l", link), ("up", up)]), meta)]).to_bytes())
    r.root = (root, meta)
    return r


def _tree_with(r, files):
    return r.write_metadata("dirtree", DirTree(files, []).to_bytes())


def _plant_commit(repo, checksum, commit: Commit):
    """Store a commit object under a name that is not its checksum (a corrupted repo)."""
    p = repo.object_path("commit", checksum)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(commit.to_bytes())


def test_log_stops_at_a_history_cycle(repo):
    a, b = "aa" * 32, "bb" * 32
    root, meta = repo.root
    _plant_commit(repo, a, Commit(parent=b, subject="A", root_tree=root, root_meta=meta))
    _plant_commit(repo, b, Commit(parent=a, subject="B", root_tree=root, root_meta=meta))
    gen = iter_log(repo, a)
    assert "    A\n" in next(gen) and "    B\n" in next(gen)
    with pytest.raises(OstreeError, match="loops back"):
        next(gen)
    rc, out, err = run(["--repo=" + repo.path, "log", a])
    assert rc == 1 and out.count("commit ") == 2 and err.startswith("error: ")


def test_log_and_show_report_a_truncated_commit(repo):
    root, meta = repo.root
    data = Commit(subject="s", root_tree=root, root_meta=meta).to_bytes()
    csum = hashlib.sha256(data).hexdigest()
    p = repo.object_path("commit", csum)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data[:len(data) // 2])
    for cmd in ("log", "show"):
        rc, out, err = run(["--repo=" + repo.path, cmd, csum])
        assert rc == 1 and err.startswith("error: ") and "Traceback" not in err, (cmd, err)


def test_log_of_a_missing_parent_says_history_not_fetched(repo):
    root, meta = repo.root
    c = repo.write_metadata("commit", Commit(parent="cc" * 32, subject="only", root_tree=root,
                                             root_meta=meta).to_bytes())
    text = "".join(iter_log(repo, c))
    assert text.endswith("<< History beyond this commit not fetched >>\n")
    with pytest.raises(OstreeError, match="No such metadata object"):
        list(iter_log(repo, "cc" * 32))


def test_repofile_paths_follow_ostree_rules(repo):
    root = RepoFile.for_tree(repo, *repo.root)
    assert root.resolve_path("/").path == "/"
    assert root.resolve_path("d").path == "/d"
    assert root.resolve_path("d/e").path == "/d/e"
    assert root.resolve_path("/d/").path == "/d/"     # "d/" names d, then "" names a child named ""
    for path, msg in (("/nope", "No such file or directory: /nope"), ("/f/x", "Not a directory"),
                      ("/d/./x", "No such file or directory: /d/."), ("//d", "No such file or directory: /"),
                      ("d/", "No such file or directory: /d/"), ("/d/../f", "No such file or directory: /d/..")):
        with pytest.raises(OstreeError, match=msg):
            root.resolve_path(path).info()
    assert root.resolve_path("/e/l").open().read() == b"hello\n"      # symlinks followed in the tree
    with pytest.raises(OstreeError, match="No such file or directory: /e/.."):
        root.resolve_path("/e/up").open()                                # but ".." is a name, as in ostree
    with pytest.raises(OstreeError, match="Can't open directory"):
        root.resolve_path("/d").open()
    with pytest.raises(OstreeError, match="Too many levels of symbolic links"):
        root.resolve_path("/loop").open()
    assert [c.path for c, _ in root.children()] == ["/f", "/loop", "/d", "/e"]


_REGEX_ORACLE = r"""
import sys, json
from gi.repository import GLib
frag = r"[\w\d][-._\w\d]*"
pattern = "^(" + frag + ":)?((?:" + frag + "/)*" + frag + ")$"
json.dump([GLib.Regex.match_simple(pattern, s, 0, 0) for s in json.load(sys.stdin)], sys.stdout)
"""


def test_refspec_grammar_matches_gregex():
    rnd = random.Random(3)
    pieces = ["a", "Z", "0", "_", "-", ".", "/", ":", "é", "ß", "1a", "x.y", " ", "\n", "", "٣", "Ⅸ"]
    samples = ["main", "origin:main", "a/b/c", "origin:", ":x", "-x", ".x", "x/", "/x", "a//b", "r:a:b",
               "main\n", "é", "a.b-c_d"]
    samples += ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 6))) for _ in range(400)]
    p = subprocess.run(["/usr/bin/python3", "-c", _REGEX_ORACLE], input=json.dumps(samples),
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    expected = json.loads(p.stdout)
    for s, exp in zip(samples, expected):
        try:
            remote, ref = parse_refspec(s)
        except OstreeError:
            assert not exp, repr(s)
            continue
        assert exp, repr(s)
        # a ref has no colon, so a match splits at the colon, if any ($ may leave a final newline out)
        head, colon, tail = s.partition(":")
        assert (remote, ref) == ((head, tail) if colon else (None, s)) or s.endswith("\n"), repr(s)


def test_collection_ids_are_dbus_interface_names():
    assert is_valid_collection_id("org.example.Os") and is_valid_collection_id("a._1")
    for bad in ("org", "org.", ".org.x", "org.1x", "org.a-b", "org..x", "", None, "a." + "b" * 254):
        assert not is_valid_collection_id(bad), bad


def test_auto_update_summary_follows_ref_changes(repo):
    root, meta = repo.root
    c = repo.write_metadata("commit", Commit(subject="s", root_tree=root, root_meta=meta).to_bytes())
    summary = os.path.join(repo.path, "summary")
    repo.set_ref("off", c)
    assert not os.path.exists(summary)
    repo.config.set("core", "auto-update-summary", "true")
    repo.set_ref("now", c)                      # outside a transaction: at once
    assert b"now" in open(summary, "rb").read()
    with repo.transaction():
        repo.set_ref("later", c)                # inside one: when it ends
        assert b"later" not in open(summary, "rb").read()
    assert b"later" in open(summary, "rb").read()
    repo.delete_ref("now")
    assert b"now" not in open(summary, "rb").read()


def test_a_timestamp_beyond_year_9999_fails_after_the_commit_line(repo):
    root, meta = repo.root
    c = repo.write_metadata("commit", Commit(subject="s", root_tree=root, root_meta=meta,
                                             timestamp=253402300800).to_bytes())
    for cmd in ("log", "show"):
        rc, out, err = run(["--repo=" + repo.path, cmd, c])
        assert (rc, out, err) == (1, f"commit {c}\n", "error: Failed to read commit: Invalid timestamp: 253402300800\n")


def test_diff_stats_of_a_partial_commit_count_what_is_there(repo):
    from ostree_py.ops.diff import reachable_objects
    root, meta = repo.root
    c = repo.write_metadata("commit", Commit(subject="s", root_tree="dd" * 32, root_meta=meta).to_bytes())
    repo.mark_commit_partial(c)
    assert reachable_objects(repo, c) == {(c, "commit")}       # root dirtree missing: nothing below
    full = repo.write_metadata("commit", Commit(subject="t", root_tree=root, root_meta=meta).to_bytes())
    objs = reachable_objects(repo, full)
    assert (root, "dirtree") in objs and (meta, "dirmeta") in objs and len([o for o in objs if o[1] == "file"]) == 4
