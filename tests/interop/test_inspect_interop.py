"""The repository inspection commands against the reference, on repos the reference wrote.

init, log, show, cat, ls, refs, rev-parse, config, checksum, diff and summary:
the same command line gives the same exit code, stdout and stderr (``refs``
listings compared as sets: the reference prints them in hash-table order, we
sort). Commands that write (init, config, refs, summary) run on twin copies of
a repo and the results on disk are compared; the summary file byte for byte
(its last-modified time aside).
"""

import io
import os
import shutil
import subprocess

import pytest

from ostree_py.core import gvariant
from ostree_py.commands import _cli, main
from ostree_py.core.objects import SUMMARY_TYPE

REF = "/usr/bin/ostree"
SRC_DATE = "1234567890"


def ours(argv, cwd=None):
    """ostree-py in this process (fast); returns (rc, stdout, stderr)."""
    env = dict(os.environ, SOURCE_DATE_EPOCH=SRC_DATE)
    env.pop("OSTREE_REPO", None)
    out, err = io.StringIO(), io.StringIO()
    ctx = _cli.Context(stdout=out, stderr=err, stdin=io.StringIO(), environ=env, prog="ostree")
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    old_sde = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = SRC_DATE
    try:
        rc = main(list(argv), ctx)
    finally:
        os.chdir(old)
        if old_sde is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old_sde
    return rc, out.getvalue(), err.getvalue()


def ref(argv, cwd=None):
    env = dict(os.environ, SOURCE_DATE_EPOCH=SRC_DATE)
    env.pop("OSTREE_REPO", None)
    p = subprocess.run(["ostree", *argv], executable=REF, capture_output=True, env=env, cwd=cwd)
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape"), p.stderr.decode("utf-8", "surrogateescape")


def sh(*argv, cwd=None):
    p = subprocess.run([REF, *argv], capture_output=True, text=True, cwd=cwd,
                       env=dict(os.environ, SOURCE_DATE_EPOCH=SRC_DATE))
    assert p.returncode == 0, (argv, p.stderr)
    return p.stdout.strip()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Repos written by the reference: archive (history, metadata, refs of every kind),
    bare (xattrs), bare-user, a shallow copy; and a directory tree to diff against."""
    base = tmp_path_factory.mktemp("inspect")
    t = base / "tree"
    (t / "a" / "b").mkdir(parents=True)
    (t / "empty-dir").mkdir()
    (t / "a" / "file").write_text("hello\n")
    (t / "a" / "link").symlink_to("file")
    (t / "a" / "dirlink").symlink_to("b")
    (t / "top").write_text("x\n")
    os.chmod(t / "top", 0o755)
    (t / "big").write_bytes(bytes(range(256)) * 40)
    (t / "name with spaces ü").write_text("odd\n")
    os.setxattr(t / "a" / "file", "user.foo", b"bar")
    os.setxattr(t / "a", "user.bin", b"\x00\x01\x02")
    arch = str(base / "arch")
    sh("--repo=" + arch, "init", "--mode=archive")
    r = "--repo=" + arch
    sh(r, "commit", "-b", "main", "-s", "First commit", "-m", "Body line 1\n\npara 2\n",
       "--add-metadata-string=version=1.0", "--timestamp=2009-02-13 23:31:30 +0000", str(t))
    (t / "a" / "b" / "c").write_text("more\n")
    sh(r, "commit", "-b", "main", "-s", "Second\nsubject line two", "--add-detached-metadata-string=SIG=abc",
       "--add-metadata=NUM=uint64 42", str(t))
    sh(r, "commit", "-b", "main", "-s", "", "--generate-sizes", str(t))
    sh(r, "commit", "-b", "other/branch", "-s", "x", "--orphan", str(t))
    sh(r, "commit", "-b", "other/branch", "-s", "y", str(t / "a"))
    sh(r, "refs", "main", "--create=origin:main")
    sh(r, "refs", "main", "--create=origin:sub/ref")
    sh(r, "refs", "-A", "main", "--create=alias/main")
    sh(r, "refs", "-c", "main", "--create=org.example.Mirror:mirrored")
    with open(os.path.join(arch, "refs", "heads", ".hidden"), "w") as f:
        f.write("junk\n")
    bare = str(base / "bare")
    sh("--repo=" + bare, "init", "--mode=bare")
    sh("--repo=" + bare, "commit", "-b", "main", "-s", "bare", str(t))
    user = str(base / "user")
    sh("--repo=" + user, "init", "--mode=bare-user")
    sh("--repo=" + user, "pull-local", arch, "main")
    shallow = str(base / "shallow")
    sh("--repo=" + shallow, "init", "--mode=archive")
    sh("--repo=" + shallow, "pull-local", "--depth=0", arch, "main")
    return {"base": str(base), "tree": str(t), "arch": arch, "bare": bare, "user": user, "shallow": shallow,
            "main": sh(r, "rev-parse", "main")}


def same(argv, cwd=None, sort_lines=False):
    a, b = ref(argv, cwd), ours(argv, cwd)
    if sort_lines:
        a = (a[0], sorted(a[1].splitlines()), a[2])
        b = (b[0], sorted(b[1].splitlines()), b[2])
    assert b == a, f"ostree {' '.join(argv)}"
    return a


READ_ONLY = [
    "log main", "log --raw main", "log main^", "log other/branch", "log", "log nope", "log main:",
    "show main", "show main^", "show main^^", "show --raw main", "show -B main", "show -B --raw main",
    "show --print-related main", "show bc41", "show nope", "show", "show main extra",
    "show --print-metadata-key=version main^^", "show --print-metadata-key=NUM main^",
    "show -B --print-metadata-key=NUM main^", "show --print-metadata-key=ostree.ref-binding main",
    "show --print-metadata-key=NOPE main", "show --print-detached-metadata-key=SIG main^",
    "show --print-detached-metadata-key=SIG main", "show --print-detached-metadata-key=NOPE main^",
    "show --print-sizes main", "show --print-sizes main^",
    "show 0000000000000000000000000000000000000000000000000000000000000000",
    "cat main /a/file /top /a/link", "cat main a/file", "cat main /a", "cat main /a/dirlink",
    "cat main /nope", "cat main", "cat nope /x", "cat main /a/file/x",
    "ls main", "ls -R main", "ls -RC main", "ls -RX main", "ls -C main /a", "ls -d main /a",
    "ls -dR main /a", "ls main /a/file /top", "ls main /nope", "ls main /a/file/x", "ls main a",
    "ls main a/", "ls main //a/./b", "ls main /a/../top", "ls", "ls nope", "ls -X main /a/file",
    "rev-parse main", "rev-parse main^ main^^", "rev-parse main^^^", "rev-parse", "rev-parse -S",
    "rev-parse -S main", "rev-parse nope", "rev-parse origin:main", "rev-parse origin/sub/ref",
    "rev-parse sub/ref", "rev-parse alias/main", "rev-parse main:", "rev-parse -- -x", "rev-parse ''",
    "rev-parse other", "config get core.mode", "config get --group=core mode", "config get core.nope",
    "config get nope.x", "config get core", "config", "config get a b c", "config frob x",
    "config set core.x", "config unset core.x y",
    "diff main^ main", "diff main", "diff --stats main^ main", "diff --stats --fs-diff main~ main",
    "diff other/branch main", "diff", "diff nope", "diff main nope", "diff main /nonexistent",
    "summary", "summary --view", "summary -u -m foo=bar", "summary -u -m foo", "summary -u --sign-type=nope --sign=k",
]


@pytest.mark.parametrize("cmd", READ_ONLY)
def test_read_only_commands_match(world, cmd):
    argv = ["--repo=" + world["arch"]] + [a.strip("'") for a in cmd.split(" ")]
    if cmd == "rev-parse ''":
        argv[-1] = ""
    if cmd == "show":
        # the usage error prints show's help, which has ostree 2025.2's options
        # (asserted in tests/cli/test_ostree2025.py): the reference's with that help
        rc, out, err = ref(argv)
        ref_help, our_help = ref(["show", "--help"])[1], ours(["show", "--help"])[1]
        assert ref_help in err
        assert ours(argv) == (rc, out, err.replace(ref_help, our_help))
        return
    same(argv)


@pytest.mark.parametrize("repo", ["bare", "user", "shallow"])
@pytest.mark.parametrize("cmd", ["log main", "log --raw main", "ls -RXC main", "show main",
                                 "diff main^ main", "rev-parse -S"])
def test_other_modes_match(world, repo, cmd):
    same(["--repo=" + world[repo]] + cmd.split(" "))


def test_show_file_objects_match(world):
    for line in ours(["--repo=" + world["bare"], "ls", "-RC", "main"])[1].splitlines():
        fields = line.split()
        csum = fields[5] if line.startswith("d") else fields[4]
        same(["--repo=" + world["bare"], "show", csum])
        same(["--repo=" + world["bare"], "show", "--raw", csum])


def test_ls_nul_filenames(world):
    argv = ["--repo=" + world["arch"], "ls", "-R", "--nul-filenames-only", "main"]
    a = subprocess.run([REF, *argv], capture_output=True).stdout
    assert ours(argv)[1].encode() == a and a.count(b"\0") > 5


@pytest.mark.parametrize("cmd", ["refs", "refs --list", "refs origin:", "refs --list origin:",
                                 "refs --list origin:.", "refs origin", "refs other", "refs --list other",
                                 "refs -A", "refs -A alias", "refs --list -A", "refs -c", "refs main",
                                 "refs other/", "refs nonexistent", "refs --delete", "refs --create=x"])
def test_refs_listing_matches(world, cmd):
    same(["--repo=" + world["arch"]] + cmd.split(" "), sort_lines=True)


def test_diff_against_directories(world, tmp_path):
    t = world["tree"]
    co = str(tmp_path / "co")
    sh("--repo=" + world["bare"], "checkout", "main", co)
    with open(os.path.join(co, "added"), "w") as f:
        f.write("new\n")
    os.unlink(os.path.join(co, "top"))
    os.mkdir(os.path.join(co, "top"))
    with open(os.path.join(co, "top", "inner"), "w") as f:
        f.write("i\n")
    os.chmod(os.path.join(co, "a", "file"), 0o600)
    os.rename(os.path.join(co, "big"), os.path.join(co, "big2"))
    r = "--repo=" + world["bare"]
    for argv in ([r, "diff", "main", co], [r, "diff", co, "main"], [r, "diff", "main", t],
                 [r, "diff", "--owner-uid=5", "main", co], [r, "diff", "--owner-gid=5", "main", co],
                 [r, "diff", "--no-xattrs", "main", co], [r, "diff", co, t]):
        same(argv)
    same([r, "diff", "main", "./"], cwd=co)
    same([r, "diff", "./", "main"], cwd=co)


def test_checksum_matches(world):
    t = world["tree"]
    for p in ("a/file", "a", "a/link", "top", "big", "empty-dir", "name with spaces ü", "nope"):
        same(["checksum", os.path.join(t, p)])
        same(["checksum", "--ignore-xattrs", os.path.join(t, p)])
    same(["checksum"])


# ---------------------------------------------------------------- commands that write


def twins(world, tmp_path, name="arch"):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    shutil.copytree(world[name], a, symlinks=True)
    shutil.copytree(world[name], b, symlinks=True)
    return a, b


def tree_listing(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in sorted(dirnames + filenames):
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            if rel in (".lock", "summary"):
                continue
            st = os.lstat(p)
            kind = "l:" + os.readlink(p) if os.path.islink(p) else "d" if os.path.isdir(p) else "f"
            content = b""
            if kind == "f":
                with open(p, "rb") as f:
                    content = f.read()
            out.append((rel, kind, oct(st.st_mode & 0o7777), content))
    return sorted(out)


@pytest.mark.parametrize("seq", [
    ["refs main --create=new", "refs --create=new main", "refs --create=new --force other/branch"],
    ["refs main --create=other", "refs main --create=other/branch/x", "refs --delete other"],
    ["refs --delete main", "refs --delete alias", "refs --delete main", "refs --delete origin:sub"],
    ["refs -A --create=al2 other/branch", "refs -A --create=al2 main", "refs -A --create=origin:x main",
     "refs -A --create=al3 nope", "refs -A"],
    ["refs --delete other/branch", "refs main --create=other", "refs main --create=.bad", "refs main --create=-x"],
    ["refs -c main --create=org.example.New:r", "refs -c main --create=bad:r", "refs -c --delete org.example.Mirror",
     "refs -c"],
    ["config set core.x 1", "config set --group=remote\x00\"o\" url http://x", "config unset core.x",
     "config unset nope.nope", "config set core.y \x00 lead", "config -- set core.z -1"],
])
def test_writing_commands_match(world, tmp_path, seq):
    a, b = twins(world, tmp_path)
    for cmd in seq:
        args = [x.replace("\x00", " ") for x in cmd.split(" ")]
        ra = ref(["--repo=" + a] + args)
        rb = ours(["--repo=" + b] + args)
        if args[0] == "refs" and "-A" in args and len(args) == 1:
            ra = (ra[0], sorted(ra[1].splitlines()), ra[2])
            rb = (rb[0], sorted(rb[1].splitlines()), rb[2])
        assert rb == ra, cmd
    assert tree_listing(b) == tree_listing(a)


def _summary_equal(a, b):
    da = open(os.path.join(a, "summary"), "rb").read()
    db = open(os.path.join(b, "summary"), "rb").read()
    va = gvariant.deserialize(SUMMARY_TYPE, da)
    vb = gvariant.deserialize(SUMMARY_TYPE, db)
    vb[1]["ostree.summary.last-modified"] = va[1]["ostree.summary.last-modified"]
    assert gvariant.serialize(SUMMARY_TYPE, vb) == da


@pytest.mark.parametrize("extra", [[], ["-m", "foo=42", "-m", "bar='x'", "-m", "z=<@as []>"]])
def test_summary_bytes_match(world, tmp_path, extra):
    a, b = twins(world, tmp_path)
    assert ref(["--repo=" + a, "summary", "-u"] + extra)[0] == 0
    assert ours(["--repo=" + b, "summary", "-u"] + extra)[0] == 0
    _summary_equal(a, b)
    assert tree_listing(b) == tree_listing(a)
    same(["--repo=" + a, "summary", "--view"])


def test_summary_with_collection_ids_and_deltas(world, tmp_path):
    src = str(tmp_path / "src")
    r = "--repo=" + src
    sh(r, "init", "--mode=archive", "--collection-id=org.example.Main")
    sh(r, "commit", "-b", "main", "-s", "one", world["tree"])
    sh(r, "commit", "-b", "main", "-s", "two", "--add-metadata-string=version=2", os.path.join(world["tree"], "a"))
    sh(r, "refs", "main", "--create=org.example.Mirror:m", "-c")
    sh(r, "remote", "add", "--no-gpg-verify", "--set=collection-id=org.example.Remote", "rem", "http://x")
    sh(r, "refs", "main", "--create=rem:rref")
    sh(r, "remote", "add", "--no-gpg-verify", "rem2", "http://y")
    sh(r, "refs", "main", "--create=rem2:r2")
    sh(r, "static-delta", "generate", "main")
    sh(r, "static-delta", "generate", "--empty", "main")
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    shutil.copytree(src, a, symlinks=True)
    shutil.copytree(src, b, symlinks=True)
    assert ref(["--repo=" + a, "summary", "-u", "-m", "k=1"])[0] == 0
    assert ours(["--repo=" + b, "summary", "-u", "-m", "k=1"]) == (0, "", "")
    _summary_equal(a, b)
    assert tree_listing(b) == tree_listing(a)  # ostree-metadata commit, delta-indexes, config
    same(["--repo=" + a, "summary", "--view"])
    same(["--repo=" + a, "summary", "--raw"])
    same(["--repo=" + a, "refs", "-c"], sort_lines=True)


def test_auto_update_summary_on_ref_changes(world, tmp_path):
    a, b = twins(world, tmp_path)
    for d in (a, b):
        sh("--repo=" + d, "config", "set", "core.auto-update-summary", "true")
    ref(["--repo=" + a, "refs", "main", "--create=auto"])
    ours(["--repo=" + b, "refs", "main", "--create=auto"])
    _summary_equal(a, b)


@pytest.mark.parametrize("args", [["--mode=archive", "--collection-id=org.example.C"], ["--mode=bare-user"], [],
                                  ["--mode=bare-user-only"], ["--mode=archive-z2"], ["--mode=nope"],
                                  ["--collection-id=bad"], ["--collection-id=a.b-c"]])
def test_init_matches(tmp_path, args):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    ra = ref(["--repo=" + a] + ["init"] + args)
    rb = ours(["--repo=" + b] + ["init"] + args)
    assert rb == ra
    assert tree_listing(b) == tree_listing(a)
    if ra[0] == 0:
        # again, on the existing repository, with another mode: nothing changes
        assert ours(["--repo=" + b, "init", "--mode=bare"]) == (0, "", "")
        assert tree_listing(b) == tree_listing(a)


def test_init_errors_match(tmp_path):
    (tmp_path / "file").write_text("")
    for repo in (str(tmp_path / "file"), str(tmp_path / "no" / "such")):
        same(["--repo=" + repo, "init"])
    os.makedirs(tmp_path / "half" / "objects")
    same(["--repo=" + str(tmp_path / "half"), "init"])
