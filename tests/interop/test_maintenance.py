"""fsck, prune, reset, pull-local and export against the reference, on the same repositories.

Each scenario copies a repository made by the reference, damages or prunes
it with both implementations, and compares what they print and what is left.
"""

import os
import re
import shutil
import subprocess

import pytest

from interop_common import REF_OSTREE, OURS


def run(argv, env_extra=None, **kw):
    env = dict(os.environ, LC_ALL="C.UTF-8", **(env_extra or {}))
    env.pop("OSTREE_REPO", None)
    return subprocess.run(list(map(str, argv)), capture_output=True, env=env, **kw)


def ref(*a, **kw):
    return run([REF_OSTREE, *a], **kw)


def ours(*a, **kw):
    return run([*OURS, *a], env_extra={"OSTREE_PY_PRGNAME": REF_OSTREE}, **kw)


def objects(repo):
    out = []
    for root, _dirs, files in os.walk(os.path.join(repo, "objects")):
        out += [os.path.relpath(os.path.join(root, f), repo) for f in files]
    return sorted(out)


def state(repo):
    d = os.path.join(repo, "state")
    out = {}
    for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        with open(os.path.join(d, f), "rb") as fh:
            out[f] = fh.read()
    return out


@pytest.fixture(scope="module", params=["bare-user", "archive"])
def template(request, tmp_path_factory):
    """A repo with two commits on 'main' (a file, a symlink, a subdirectory)."""
    base = tmp_path_factory.mktemp("maint-" + request.param)
    repo = base / "repo"
    ref(f"--repo={repo}", "init", f"--mode={request.param}", check=True)
    tree = base / "tree"
    (tree / "d").mkdir(parents=True)
    (tree / "d" / "f").write_text("hi\n")
    (tree / "g").write_text("x\n")
    os.symlink("d/f", tree / "l")
    ref(f"--repo={repo}", "commit", "-b", "main", "-s", "one", tree, check=True)
    (tree / "h").write_text("y\n")
    ref(f"--repo={repo}", "commit", "-b", "main", "-s", "two", tree, check=True)
    return repo


def both(template, tmp_path, damage, *args):
    """Run ``args`` with each implementation on its own copy of the template after ``damage``."""
    res = {}
    for name, impl in (("ref", ref), ("ours", ours)):
        repo = tmp_path / name
        shutil.copytree(template, repo, symlinks=True)
        damage(str(repo))
        p = impl(f"--repo={repo}", *args)
        res[name] = (p.returncode, p.stdout, p.stderr, objects(repo), state(repo))
    return res


def first_file(repo, path="d/f"):
    """The object path of the regular file ``path`` of the newest commit."""
    from ostree_py.repo import Repo
    r = Repo.open(str(repo))
    tree = r.load_commit(r.resolve_rev("main")).root_tree
    *dirs, name = path.split("/")
    for d in dirs:
        tree = [t for n, t, m in r.load_dirtree(tree).dirs if n == d][0]
    f = [x for n, x in r.load_dirtree(tree).files if n == name][0]
    return os.path.relpath(r.object_path("file", f), str(repo))


def append_to_file(repo):
    with open(os.path.join(repo, first_file(repo)), "ab") as f:
        f.write(b"corrupt\n")


def remove_file(repo):
    os.unlink(os.path.join(repo, first_file(repo)))


def remove_dirmeta(repo):
    os.unlink(os.path.join(repo, [o for o in objects(repo) if o.endswith(".dirmeta")][0]))


def nothing(repo):
    pass


@pytest.mark.parametrize("damage,flags", [
    (nothing, []), (append_to_file, []), (append_to_file, ["--delete"]), (append_to_file, ["-a", "-q"]),
    (remove_file, []), (remove_dirmeta, ["--delete"]),
])
def test_fsck_like_reference(template, tmp_path, damage, flags):
    r = both(template, tmp_path, damage, "fsck", *flags)
    # progress lines in a pipe are rate-limited by time in both tools, so a loaded
    # machine prints a different number of them: compared without them
    for k, (rc, out, err, objs, st) in r.items():
        out = b"".join(line for line in out.splitlines(True) if not line.startswith(b"fsck objects ("))
        r[k] = (rc, out, err, objs, st)
    assert r["ours"] == r["ref"]


def test_fsck_marks_partial_then_fails_until_repaired(template, tmp_path):
    r = both(template, tmp_path, remove_file, "fsck")
    assert r["ours"][0] == 1 and "Marking commit as partial" in r["ours"][2].decode()
    again = ours(f"--repo={tmp_path / 'ours'}", "fsck")
    assert again.returncode == 1
    assert re.search(r"error: [12] partial commits from fsck-detected corruption\n\Z", again.stderr.decode())
    # pulling the objects back clears the partial state
    p = ours(f"--repo={tmp_path / 'ours'}", "pull-local", "--depth=-1", template)
    assert p.returncode == 0, p.stderr
    assert ours(f"--repo={tmp_path / 'ours'}", "fsck").returncode == 0


@pytest.mark.parametrize("args", [
    ["prune"], ["prune", "--refs-only", "--depth=0"], ["prune", "--no-prune", "--refs-only", "--depth=0"],
    ["prune", "--commit-only", "--refs-only", "--depth=0"], ["prune", "--only-branch=main", "--depth=0"],
    ["prune", "--retain-branch-depth=main=foo"],
])
def test_prune_like_reference(template, tmp_path, args):
    r = both(template, tmp_path, nothing, *args)
    assert r["ours"] == r["ref"]


def test_prune_delete_commit_leaves_tombstone(template, tmp_path):
    parent = ref(f"--repo={template}", "rev-parse", "main^", text=True).stdout.strip()
    head = ref(f"--repo={template}", "rev-parse", "main", text=True).stdout.strip()
    r = both(template, tmp_path, nothing, "prune", f"--delete-commit={parent}")
    assert r["ours"] == r["ref"]
    assert any(o.endswith(".tombstone-commit") for o in r["ours"][3])
    r = both(template, tmp_path / "x", nothing, "prune", f"--delete-commit={head}")
    assert r["ours"] == r["ref"] and r["ours"][0] == 1


@pytest.mark.parametrize("args", [["reset", "main", "main^"], ["reset", "nosuch", "main"], ["reset", "main"]])
def test_reset_like_reference(template, tmp_path, args):
    r = {}
    for name, impl in (("ref", ref), ("ours", ours)):
        repo = tmp_path / name
        shutil.copytree(template, repo, symlinks=True)
        p = impl(f"--repo={repo}", *args)
        r[name] = (p.returncode, p.stdout, p.stderr, (repo / "refs/heads/main").read_text())
    assert r["ours"] == r["ref"]


@pytest.mark.parametrize("mode,flags", [
    ("archive", []), ("bare-user", ["--untrusted"]), ("bare-user-only", ["--depth=-1"]),
    ("archive", ["--commit-metadata-only", "--depth=1"]), ("bare-user", ["--depth=1"]),
])
def test_pull_local_like_reference(template, tmp_path, mode, flags):
    res = {}
    for name, impl in (("ref", ref), ("ours", ours)):
        repo = tmp_path / name
        ref(f"--repo={repo}", "init", f"--mode={mode}", check=True)
        p = impl(f"--repo={repo}", "pull-local", *flags, template, "main")
        res[name] = (p.returncode, p.stdout, p.stderr, objects(repo), state(repo),
                     (repo / "refs/heads/main").read_text())
    assert res["ours"] == res["ref"]
    assert ref(f"--repo={tmp_path / 'ours'}", "fsck").returncode == 0


def test_pull_local_hardlinks_same_mode(template, tmp_path):
    mode = "archive" if "archive" in (template / "config").read_text() else "bare-user"
    dst = tmp_path / "dst"
    ref(f"--repo={dst}", "init", f"--mode={mode}", check=True)
    assert ours(f"--repo={dst}", "pull-local", template).returncode == 0
    pulled = objects(dst)
    assert pulled and set(pulled) <= set(objects(template))
    for o in pulled:
        assert os.path.samestat(os.lstat(template / o), os.lstat(dst / o)), o


def test_pull_local_untrusted_detects_corruption(template, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(template, src, symlinks=True)
    victim = src / first_file(str(src))
    donor = src / first_file(str(src), "g")
    # a well-formed object with the wrong content (and no hardlink shared with the template)
    shutil.copy2(donor, str(victim) + ".tmp")
    os.rename(str(victim) + ".tmp", victim)
    for mode in ("bare-user", "archive"):
        dst = tmp_path / ("dst-" + mode)
        ref(f"--repo={dst}", "init", f"--mode={mode}", check=True)
        p = ours(f"--repo={dst}", "pull-local", "--untrusted", src, "main", text=True)
        assert p.returncode == 1 and "Corrupted file object" in p.stderr, p.stderr


def test_pull_local_bareuseronly_refuses_setuid(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    ref(f"--repo={src}", "init", "--mode=archive", check=True)
    ref(f"--repo={dst}", "init", "--mode=bare-user-only", check=True)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "suid").write_text("x\n")
    (tmp_path / "so.txt").write_text("2048 /suid\n")
    ref(f"--repo={src}", "commit", "-b", "b", f"--statoverride={tmp_path / 'so.txt'}",
        f"--tree=dir={tmp_path / 'files'}", check=True)
    r = ref(f"--repo={dst}", "pull-local", src, text=True)
    o = ours(f"--repo={dst}", "pull-local", src, text=True)
    assert (o.returncode, o.stderr) == (r.returncode, r.stderr)
    assert "invalid mode 0104644 with bits 04000" in o.stderr


@pytest.mark.parametrize("args", [[], ["--subpath=d", "--prefix=x/"]])
def test_export_is_byte_identical(template, tmp_path, args):
    a, b = tmp_path / "ref.tar", tmp_path / "ours.tar"
    ref(f"--repo={template}", "export", "main", "-o", a, *args, check=True)
    p = ours(f"--repo={template}", "export", "main", "-o", b, *args)
    assert p.returncode == 0, p.stderr
    assert a.read_bytes() == b.read_bytes()
    # on stdout the archive is padded to whole records, as libarchive does
    assert ours(f"--repo={template}", "export", "main", *args).stdout == \
        ref(f"--repo={template}", "export", "main", *args).stdout


def test_export_long_names(tmp_path):
    repo, tree = tmp_path / "repo", tmp_path / "tree"
    ref(f"--repo={repo}", "init", "--mode=bare-user", check=True)
    long_dir = tree / ("q" * 110)
    long_dir.mkdir(parents=True)
    os.symlink("u" * 130, long_dir / ("v" * 20))
    (tree / ("n" * 100)).write_text("exactly 100\n")
    (tree / ("d" * 99)).mkdir()
    ref(f"--repo={repo}", "commit", "-b", "m", tree, check=True)
    assert ours(f"--repo={repo}", "export", "m").stdout == ref(f"--repo={repo}", "export", "m").stdout
