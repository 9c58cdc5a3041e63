"""``commit`` against the reference: same stdout, stderr and exit code, hence the
same commit checksums, for trees, archives, committed trees, metadata, modifiers
and errors; and the reference accepts (fscks) what we wrote.

Every case runs the same command line with both tools in two fresh repos of
the same mode (after the same setup commit, made by the reference in both).
"""

import os
import shutil
import stat
import subprocess
import tarfile

import pytest

from interop_common import OURS, REF_OSTREE

MODES = ["bare", "bare-user", "bare-user-only", "archive"]


def _env():
    env = dict(os.environ)
    env.setdefault("LC_ALL", "C.UTF-8")
    env.pop("OSTREE_REPO", None)
    env.pop("SOURCE_DATE_EPOCH", None)
    return env


def _run(argv, cwd, input=None, env=None):
    p = subprocess.run(argv, capture_output=True, cwd=cwd, input=input, env=env or _env())
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape"), p.stderr.decode("utf-8", "surrogateescape")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A tree with the awkward cases, archives of another tree, and option files."""
    base = tmp_path_factory.mktemp("commit")
    t = base / "T"
    (t / "a" / "b" / "c").mkdir(parents=True)
    (t / "empty").mkdir()
    (t / "ww").mkdir()
    (t / "a" / "f1").write_text("hello\n")
    (t / "a" / "b" / "exe").write_text("x\n")
    os.chmod(t / "a" / "b" / "exe", 0o755)
    (t / "suid").write_text("s\n")
    os.chmod(t / "suid", 0o4755)
    os.symlink("a/f1", t / "link")
    os.symlink("/nonexist", t / "dangling")
    (t / "a" / "b" / "c" / "g").write_text("g\n")
    os.chmod(t / "a" / "b" / "c" / "g", 0o600)
    os.chown(t / "a" / "b" / "c" / "g", 1000, 2000)
    os.chmod(t / "ww", 0o777)
    os.chmod(t / "empty", 0o1777)
    os.setxattr(t / "a" / "f1", "user.foo", b"bar")
    os.setxattr(t / "a", "user.dirx", b"1")
    os.link(t / "a" / "f1", t / "a" / "hl")
    (t / "a" / "big").write_bytes(os.urandom(600 * 1024))
    (t / "emptyfile").write_bytes(b"")
    (t / "small").mkdir()
    (t / "small" / "x").write_text("x\n")

    foo = base / "foo"
    for d in ("usr/bin", "usr/lib", "usr/local/bin"):
        (foo / d).mkdir(parents=True)
    (foo / "usr/bin/foo").write_text("contents\n")
    (foo / "usr/bin/foo0").write_text("foo0\n")
    os.link(foo / "usr/bin/foo", foo / "usr/bin/bar")
    os.link(foo / "usr/bin/foo0", foo / "usr/local/bin/baz0")
    os.symlink("foo", foo / "usr/bin/sl")
    os.link(foo / "usr/bin/sl", foo / "usr/local/bin/slhl", follow_symlinks=False)
    (foo / "usr/bin/setuidme").write_text("setuidme\n")
    (foo / "usr/bin/skipme").write_text("skipme\n")
    (foo / "usr/lib/libfoo.so").write_text("a library\n")
    subprocess.run(["tar", "-czf", str(base / "foo.tar.gz"), "."], cwd=foo, check=True)
    subprocess.run(["tar", "--xattrs", "-cJf", str(base / "foo.tar.xz"), "."], cwd=foo, check=True)
    subprocess.run(["tar", "-cf", str(base / "partial.tar"), "usr/bin/foo0"], cwd=foo, check=True)
    names = subprocess.run(["find", "."], cwd=foo, capture_output=True, check=True).stdout
    for fmt in ("newc", "odc"):
        out = subprocess.run(["cpio", "-o", "-H", fmt], cwd=foo, input=names, capture_output=True, check=True)
        (base / f"foo.{fmt}").write_bytes(out.stdout)
    (base / "xattr.tar").write_bytes(b"")
    with tarfile.open(base / "xattr.tar", "w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, pax in ((".", tarfile.DIRTYPE, {"SCHILY.xattr.user.b": "2", "SCHILY.xattr.user.a": "1"}),
                                ("f", tarfile.REGTYPE, {"SCHILY.xattr.user.z": "1", "SCHILY.xattr.user.y": "2"}),
                                ("dev", tarfile.CHRTYPE, {})):
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.pax_headers = pax
            tf.addfile(ti)
    (base / "so.txt").write_text("+1048 /a/f1\n2048 /a/big\n=384 /a/b/exe\n=511 /a\n2048 /a/b\n")
    (base / "so-tar.txt").write_text("2048 /usr/bin/setuidme\n")
    (base / "so-bad.txt").write_text("1 /nope\n")
    (base / "sk.txt").write_text("/a/b/c\n/link\n")
    (base / "sk-tar.txt").write_text("/usr/bin/skipme\n")
    (base / "sk-bad.txt").write_text("/nope\n/zzz\n/aaa\n")
    (base / "msg.txt").write_text("A long\nbody.\n")
    boot = base / "boot"
    (boot / "usr/lib/modules/5.10.0").mkdir(parents=True)
    (boot / "usr/lib/modules/5.10.0/vmlinuz").write_text("k\n")
    return base


def _both(work, tmp_path, mode, args, setup=None, init=(), env=None, checkout=None):
    """Run ``commit ARGS`` with each tool; return {tool: (rc, out, err)} and the repo paths."""
    results, repos = {}, {}
    tmp_path.mkdir(parents=True, exist_ok=True)
    for tool in ("ref", "ours"):
        repo = tmp_path / tool
        subprocess.run([REF_OSTREE, "init", f"--repo={repo}", f"--mode={mode}", *init], check=True)
        if setup:
            subprocess.run([REF_OSTREE, f"--repo={repo}", "commit", *setup], cwd=work, check=True,
                           capture_output=True)
        cwd = work
        if checkout is not None:
            co = tmp_path / f"co-{tool}"
            subprocess.run([REF_OSTREE, f"--repo={repo}", "checkout", *checkout, "base", str(co)], check=True)
            (co / "new").write_text("new\n")
            (co / "a" / "f1").unlink()
            (co / "a" / "f1").write_text("changed\n")
            cwd = co
        argv = ([REF_OSTREE] if tool == "ref" else OURS) + [f"--repo={repo}", "commit", *args]
        results[tool] = _run(argv, cwd, env=env)
        repos[tool] = repo
    return results, repos


def _check(results, repos):
    assert results["ours"] == results["ref"]
    if results["ref"][0] == 0:
        rc, out, err = _run([REF_OSTREE, f"--repo={repos['ours']}", "fsck", "-q"], repos["ours"])
        assert rc == 0, err
    return results["ref"]


BASE = ["-b", "main", "--tree=dir=T", "--timestamp=@1000", "-s", "subject", "-m", "body"]
DIR_VARIANTS = {
    "plain": [],
    "no-xattrs": ["--no-xattrs"],
    "canonical": ["--canonical-permissions", "--owner-uid=0"],
    "owner": ["--owner-uid=5", "--owner-gid=6"],
    "ro-executables": ["--mode-ro-executables"],
    "table": ["--table-output"],
    "sizes": ["--generate-sizes", "--table-output"],
    "statoverride-skiplist": ["--statoverride=so.txt", "--skip-list=sk.txt"],
    "unmatched-statoverride": ["--statoverride=so-bad.txt"],
    "unmatched-skiplist": ["--skip-list=sk-bad.txt"],
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", ["table", "statoverride-skiplist"])
def test_directory_in_every_mode(work, tmp_path, mode, variant):
    rc, out, _ = _check(*_both(work, tmp_path, mode, BASE + DIR_VARIANTS[variant]))
    assert rc == 0 and (out.startswith("Commit: ") or len(out.split()[-1]) == 64)


def _sequence(work, tmp_path, mode, cases, setup=None):
    """Run several commits, one after the other, in one pair of repos (each on its own
    branch, with the setup commit as explicit parent): same results, one fsck."""
    repos = {}
    tmp_path.mkdir(parents=True, exist_ok=True)
    for tool in ("ref", "ours"):
        repos[tool] = tmp_path / tool
        subprocess.run([REF_OSTREE, "init", f"--repo={repos[tool]}", f"--mode={mode}"], check=True)
        if setup:
            subprocess.run([REF_OSTREE, f"--repo={repos[tool]}", "commit", *setup], cwd=work, check=True,
                           capture_output=True)
    parent = []
    if setup:
        parent = ["--parent=" + _run([REF_OSTREE, f"--repo={repos['ref']}", "rev-parse", "main"], work)[1].strip()]
    for i, (name, args) in enumerate(cases):
        res = {}
        for tool in ("ref", "ours"):
            argv = ([REF_OSTREE] if tool == "ref" else OURS) + [f"--repo={repos[tool]}", "commit",
                                                               "-b", f"case{i}", *parent, *args]
            res[tool] = _run(argv, work)
        assert res["ours"] == res["ref"], name
    rc, _, err = _run([REF_OSTREE, f"--repo={repos['ours']}", "fsck", "-q"], work)
    assert rc == 0, err


def test_directory_modifiers(work, tmp_path):
    variants = sorted(set(DIR_VARIANTS) - {"plain", "table", "statoverride-skiplist", "sizes"})
    _sequence(work, tmp_path / "bare", "bare", [(v, BASE[2:] + DIR_VARIANTS[v]) for v in variants])
    _sequence(work, tmp_path / "archive", "archive", [("sizes", BASE[2:] + DIR_VARIANTS["sizes"])])


METADATA = {
    "order-and-duplicates": ["--add-metadata=num=5", "--add-metadata-string=z=1", "--add-metadata-string=a=2",
                             "--add-metadata=b='x'", "--add-metadata-string=a=3", "--bind-ref=zz", "--bind-ref=aa"],
    "variants": ["--add-metadata=a=[1,2]", "--add-metadata=c=uint64 42", "--add-metadata=d=<@as []>",
                 "--add-metadata=e=(1, 'x', true)"],
    "keep": ["--keep-metadata=k2", "--keep-metadata=k1", "--add-metadata-string=k2=new"],
    "keep-missing": ["--keep-metadata=nonexist"],
    "no-bindings": ["--no-bindings"],
    "detached": ["--add-detached-metadata-string=A=1", "--add-detached-metadata-string=A=2"],
    "body-file": ["-F", "msg.txt"],
    "bad-variant": ["--add-metadata=bad=garbage"],
    "empty-key": ["--add-metadata-string==FOO"],
    "timestamp-iso": ["--timestamp=2005-10-29 12:43:29 +0000"],
}


def test_commit_metadata(work, tmp_path):
    setup = ["-b", "main", "--tree=dir=T", "--timestamp=@5", "--add-metadata-string=k1=v1", "--add-metadata=k2=5"]
    _sequence(work, tmp_path, "archive", [(c, BASE[2:] + METADATA[c]) for c in sorted(METADATA)], setup=setup)


@pytest.mark.parametrize("args", [
    ["-b", "x", "--tree=dir=T"],
    ["--orphan", "--tree=dir=T"],
    ["-b", "x", "--no-bindings", "--tree=dir=T"],
    ["-b", "x", "--add-metadata-string=ostree.collection-binding=foo", "--tree=dir=T"],
], ids=["branch", "orphan", "no-bindings", "override"])
def test_collection_binding(work, tmp_path, args):
    _check(*_both(work, tmp_path, "archive", args + ["--timestamp=@9"], init=["--collection-id=org.example.C"]))


def test_bootable(work, tmp_path):
    _check(*_both(work, tmp_path, "bare", ["-b", "x", "--tree=dir=boot", "--bootable", "--timestamp=@9",
                                           "--add-metadata-string=version=1", "--bind-ref=y"]))
    rc, _, err = _check(*_both(work, tmp_path / "2", "bare", ["-b", "x", "--tree=dir=T", "--bootable"]))
    assert rc == 1 and "No such file or directory" in err


OVERLAYS = {
    "ref": ["-b", "x", "--tree=ref=base"],
    "ref-modifier": ["-b", "x", "--tree=ref=base", "--mode-ro-executables", "--table-output"],
    "dir-then-ref-sizes": ["-b", "x", "--tree=dir=foo", "--tree=ref=base", "--generate-sizes"],
    "base-and-dir": ["-b", "x", "--base=base", "--tree=dir=foo", "--table-output"],
    "conflict": ["-b", "x", "--tree=ref=base", "--tree=dir=boot", "--tree=tar=foo.tar.gz"],
    "keep-parent": ["-b", "base", "--tree=dir=foo"],
    "parent-none": ["-b", "base", "--parent=none", "--tree=dir=foo"],
    "skip-if-unchanged": ["-b", "base", "--skip-if-unchanged", "--tree=dir=T"],
    "skip-if-changed": ["-b", "base", "--skip-if-unchanged", "--tree=dir=foo"],
}


@pytest.mark.parametrize("case", sorted(OVERLAYS))
def test_tree_overlays(work, tmp_path, case):
    setup = ["-b", "base", "--tree=dir=T", "--timestamp=@5"]
    _check(*_both(work, tmp_path, "archive", OVERLAYS[case] + ["--timestamp=@10"], setup=setup))


ARCHIVES = {
    "tar.gz": ["--tree=tar=foo.tar.gz", "--statoverride=so-tar.txt", "--skip-list=sk-tar.txt", "--table-output"],
    "tar.xz-xattrs": ["--tree=tar=foo.tar.xz"],
    "cpio-newc": ["--tree=tar=foo.newc", "--statoverride=so-tar.txt", "--skip-list=sk-tar.txt"],
    "cpio-odc": ["--tree=tar=foo.odc", "--generate-sizes"],
    "multi": ["--tree=tar=foo.tar.gz", "--tree=tar=foo.newc"],
    "partial": ["--tree=tar=partial.tar"],
    "autocreate": ["--tree=tar=partial.tar", "--tar-autocreate-parents", "--owner-uid=7"],
    "filter-prefix": ["--tree=tar=foo.tar.gz", "--tar-autocreate-parents", "--tar-pathname-filter=^,foo/"],
    "filter-dirs": ["--tree=tar=foo.tar.gz", "--tar-autocreate-parents", "--tar-pathname-filter=^usr/bin/,usr/sbin/"],
    "filter-groups": ["--tree=tar=foo.newc", "--tar-autocreate-parents", r"--tar-pathname-filter=(b)(i)n,\U\2\E\1"],
    "filter-bad": ["--tree=tar=foo.tar.gz", "--tar-pathname-filter=(,x"],
    "pax-xattrs-device": ["--tree=tar=xattr.tar"],
    "missing": ["--tree=tar=nonexist"],
    "not-an-archive": ["--tree=tar=so.txt.gz"],
    "directory": ["--tree=tar=T"],
}


@pytest.mark.parametrize("case", sorted(ARCHIVES))
def test_archive_import(work, tmp_path, case):
    if case == "not-an-archive":
        (work / "so.txt.gz").write_bytes(os.urandom(3000))
    for mode in ("archive",) if case in ("tar.gz", "cpio-newc") else ("bare",):
        _check(*_both(work, tmp_path / mode, mode, ["-b", "t", "--timestamp=@1"] + ARCHIVES[case]))


def test_archive_from_stdin(work, tmp_path):
    data = (work / "foo.tar.gz").read_bytes()
    out = {}
    for tool in ("ref", "ours"):
        repo = tmp_path / tool
        subprocess.run([REF_OSTREE, "init", f"--repo={repo}"], check=True)
        argv = ([REF_OSTREE] if tool == "ref" else OURS) + [f"--repo={repo}", "commit", "-b", "s",
                                                               "--timestamp=@1", "--tree=tar=-"]
        out[tool] = _run(argv, work, input=data)
    assert out["ours"] == out["ref"] and out["ref"][0] == 0


@pytest.mark.parametrize("mode", ["bare", "bare-user-only"])
@pytest.mark.parametrize("args", [
    ["--link-checkout-speedup", "--table-output"],
    ["--link-checkout-speedup", "--consume", "--table-output"],
    ["-I", "--owner-uid=0", "--table-output"],
], ids=["speedup", "speedup-consume", "devino-canonical"])
def test_commit_of_a_hardlinked_checkout(work, tmp_path, mode, args):
    setup = ["-b", "base", "--tree=dir=T", "--timestamp=@5"]
    co = ["-H"] if mode == "bare" else ["-U", "-H"]
    results, repos = _both(work, tmp_path, mode, ["-b", "x", "--timestamp=@9", *args, "."], setup=setup,
                           checkout=co)
    _check(results, repos)
    if "--consume" in args:
        assert not (tmp_path / "co-ours" / "new").exists()


ERRORS = [
    ["--tree=dir=T"],
    ["-b", "x", "--parent=abc"],
    ["-b", "x", "--parent=" + "g" * 64],
    ["-b", "x", "--tree=foo"],
    ["-b", "x", "--tree=zip=foo"],
    ["-b", "x", "--tree=dir=nonexist"],
    ["-b", "x", "--tree=dir=msg.txt"],
    ["-b", "x", "--fsync=maybe", "--tree=dir=T"],
    ["-b", "x", "--timestamp=garbage", "--tree=dir=T"],
    ["-b", "x", "--owner-uid=5", "--canonical-permissions"],
    ["-b", "x", "--owner-gid=5", "--canonical-permissions"],
    ["-b", "x", "-P", "--selinux-policy=/"],
    ["-b", "x", "-P", "--tree=tar=foo.tar.gz"],
    ["-b", "x", "--selinux-policy=/nonexist"],
    ["-b", "x", "--keep-metadata=k"],
    ["-b", "x", "--add-metadata-string=noeq", "--tree=dir=T"],
    ["-b", "x", "-F", "nonexist", "--tree=dir=T"],
    ["-b", "x", "--statoverride=nonexist", "--tree=dir=T"],
    ["-b", "bad ref", "--tree=dir=T"],
    ["-b", "x", "--tree=ref=nonexist"],
]


def test_errors(work, tmp_path):
    repos = {}
    for tool in ("ref", "ours"):
        repos[tool] = tmp_path / tool
        subprocess.run([REF_OSTREE, "init", f"--repo={repos[tool]}", "--mode=bare"], check=True)
    for args in ERRORS:
        res = {}
        for tool in ("ref", "ours"):
            argv = ([REF_OSTREE] if tool == "ref" else OURS) + [f"--repo={repos[tool]}", "commit", *args]
            res[tool] = _run(argv, work)
        assert res["ours"] == res["ref"], args
        rc, out, err = res["ref"]
        assert rc == 1 and out == "" and err.startswith("error: "), args


def test_source_date_epoch(work, tmp_path):
    for value in ("1234567890", "invalid", "12345678901234567890"):
        env = dict(_env(), SOURCE_DATE_EPOCH=value)
        _check(*_both(work, tmp_path / value, "archive", ["-b", "x", "--tree=dir=T"], env=env))


def test_editor(work, tmp_path):
    ed = tmp_path / "ed.sh"
    ed.write_text("#!/bin/sh\nprintf '\\n# c\\n  My subject  \\n\\n\\nbody line 1  \\n#c\\nbody 2\\n\\n' > \"$1\"\n")
    ed.chmod(0o755)
    env = dict(_env(), EDITOR=str(ed), TERM="xterm")
    env.pop("VISUAL", None)
    env.pop("OSTREE_EDITOR", None)
    _check(*_both(work, tmp_path / "a", "bare", ["-b", "x", "-e", "-s", "pre", "--tree=dir=T", "--timestamp=@1"],
                  env=env))
    env = dict(env, EDITOR="false")
    _check(*_both(work, tmp_path / "b", "bare", ["-b", "x", "-e", "--tree=dir=T"], env=env))


def test_checkouts_of_our_commit_are_identical(work, tmp_path):
    """The reference checks out what we committed from a tar exactly as what it committed itself."""
    from interop_common import tree_manifest
    results, repos = _both(work, tmp_path, "bare", ["-b", "t", "--tree=tar=foo.newc", "--timestamp=@1"])
    _check(results, repos)
    manifests = []
    for tool in ("ref", "ours"):
        dest = tmp_path / f"out-{tool}"
        subprocess.run([REF_OSTREE, f"--repo={repos[tool]}", "checkout", "t", str(dest)], check=True)
        manifests.append(tree_manifest(dest))
    assert manifests[0] == manifests[1]
    assert stat.S_ISLNK(os.lstat(tmp_path / "out-ours" / "usr/local/bin/slhl").st_mode)
    shutil.rmtree(tmp_path / "out-ref")


@pytest.mark.parametrize("args", [
    ["-b", "café", "--tree=dir=T", "--timestamp=@1000", "-s", "s"],        # GRegex's \w is Unicode-aware
    ["-b", "x/é", "--tree=dir=T", "--timestamp=@1000", "-s", "s"],
])
def test_branch_names_the_reference_accepts(work, tmp_path, args):
    results, repos = _both(work, tmp_path, "bare-user", args)
    assert _check(results, repos)[0] == 0
    refs = {tool: _run(([REF_OSTREE] if tool == "ref" else OURS) + [f"--repo={repos[tool]}", "refs"], work)
            for tool in ("ref", "ours")}
    assert refs["ours"] == refs["ref"] and args[1] in refs["ref"][1].split("\n")


def test_collection_ids_are_dbus_names(tmp_path):
    # A '-' is no part of a D-Bus name element: init refuses it as the reference
    # does, and so does the library's Repo.create (one rule for both).
    from ostree_py.errors import OstreeError
    from ostree_py.repo import Repo
    res = {tool: _run(([REF_OSTREE] if tool == "ref" else OURS)
                      + [f"--repo={tmp_path / tool}", "init", "--collection-id=org.exa-mple"], tmp_path)
           for tool in ("ref", "ours")}
    assert res["ours"] == res["ref"] == (1, "", "error: Invalid collection ID org.exa-mple\n")
    with pytest.raises(OstreeError, match="^Invalid collection ID org.exa-mple$"):
        Repo.create(str(tmp_path / "lib"), collection_id="org.exa-mple")
