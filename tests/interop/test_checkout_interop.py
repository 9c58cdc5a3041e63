"""checkout against the reference: the same repo checked out by both tools gives
the same tree (types, modes, owners, contents, targets, xattrs, which files are
hardlinks, which mtimes are 0), the same uncompressed cache, and the same
errors. Repos are written by the reference's own commit.
"""

import hashlib
import os
import shutil
import stat

import pytest

MODES = ["bare", "bare-user", "bare-user-only", "archive"]


def manifest(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames) + ([""] if dirpath == str(root) else []):
            p = os.path.join(dirpath, name) if name else dirpath
            st = os.lstat(p)
            entry = [stat.S_IFMT(st.st_mode), oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid,
                     "mtime0" if st.st_mtime == 0 else "mtime-now"]
            if stat.S_ISLNK(st.st_mode):
                entry.append(os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                entry.append("hardlinked" if st.st_nlink > 1 else "copy")
                if st.st_mode & stat.S_IRUSR:
                    with open(p, "rb") as f:
                        entry.append(hashlib.sha256(f.read()).hexdigest())
            elif stat.S_ISCHR(st.st_mode):
                entry.append(st.st_rdev)
            try:
                names = sorted(os.listxattr(p, follow_symlinks=False))
                entry.append([(n, os.getxattr(p, n, follow_symlinks=False)) for n in names])
            except OSError:
                entry.append([])
            out[os.path.relpath(p, root)] = entry
    return out


def _make_source(base):
    src = base / "src"
    (src / "baz" / "deeper").mkdir(parents=True)
    (src / "firstfile").write_text("first\n")
    (src / "baz" / "cow").write_text("moo\n")
    (src / "baz" / "deeper" / "ohyeah").write_text("yeah\n")
    (src / "baz" / "exe").write_text("#!/bin/sh\n")
    os.chmod(src / "baz" / "exe", 0o755)
    (src / "empty").write_bytes(b"")
    (src / "empty2").write_bytes(b"")
    (src / "somelink").symlink_to("nosuchfile")
    (src / "gw").write_text("group writable\n")
    os.chmod(src / "gw", 0o664)
    (src / "ro").mkdir()
    (src / "ro" / "inner").write_text("inner\n")
    os.chmod(src / "ro", 0o500)
    (src / "ww").mkdir()
    os.chmod(src / "ww", 0o777)
    (src / "owned").write_text("owned\n")
    # user mode: copied with u+r added; setuid/setgid dropped, from links and copies alike
    (src / "noread").write_text("no read\n")
    os.chmod(src / "noread", 0o200)
    (src / "suid").write_text("#!/bin/sh\n")
    os.chmod(src / "suid", 0o6755)
    (src / "empty-suid").write_bytes(b"")
    os.chmod(src / "empty-suid", 0o4750)
    os.chown(src / "owned", 1234, 4321)
    os.setxattr(src / "firstfile", "user.test", b"value")
    os.setxattr(src / "baz", "user.dir", b"d")
    (src / "wh").mkdir()
    (src / "wh" / ".ostree-wh.gone").write_bytes(b"")
    ov = base / "ov"
    (ov / "baz" / "deeper").mkdir(parents=True)
    (ov / "baz" / ".wh.cow").write_bytes(b"")
    (ov / "baz" / "deeper" / ".wh..wh..opq").write_bytes(b"")
    (ov / "baz" / "deeper" / "new").write_text("new\n")
    (ov / ".wh.ro").write_bytes(b"")
    (ov / "firstfile").write_text("replaced\n")
    (ov / "somelink").symlink_to("firstfile")
    (ov / "anewfile").write_text("new file\n")
    return src, ov


@pytest.fixture(scope="session")
def repos(tmp_path_factory, ref):
    base = tmp_path_factory.mktemp("checkout-interop")
    src, ov = _make_source(base)
    out = {}
    for mode in MODES:
        repo = base / f"repo-{mode}"
        ref("init", f"--repo={repo}", f"--mode={mode}")
        ref("commit", f"--repo={repo}", "-b", "main", "-s", "main", f"--tree=dir={src}")
        ref("commit", f"--repo={repo}", "-b", "ov", "-s", "ov", f"--tree=dir={ov}")
        out[mode] = repo
    return out


def _both(ours, ref, tmp_path, repo, args, pre=None):
    """Run the same checkout with both tools; return {(tool): (rc, stderr, manifest)}."""
    results = {}
    for name, tool in (("ref", ref), ("ours", ours)):
        work = tmp_path / name
        work.mkdir()
        if pre:
            pre(work)
        p = tool("checkout", f"--repo={repo}", *args, check=False, cwd=work)
        # the reference's help names it as invoked (/usr/bin/ostree)
        err = p.stderr.replace("ostree-py", "ostree").replace("/usr/bin/ostree", "ostree")
        results[name] = (p.returncode, err, manifest(work))
    return results


# what differs between repo modes: hardlink or copy, cache, ownership, xattrs
CASES = [
    [], ["-U"], ["-C"], ["-U", "-C"], ["-H"], ["-U", "-H"], ["-U", "-M"],
    ["--disable-cache", "-U"], ["--process-passthrough-whiteouts"], ["--subpath=/baz"], ["--subpath=baz/cow"],
]
# option handling and subpath errors, the same in every mode
BARE_ONLY_CASES = [
    ["-M"], ["--subpath=/nope"], ["--subpath=/nope", "--allow-noent"], ["--subpath=/nope", "-C", "--allow-noent"],
    ["--subpath=/baz/cow/x"], ["--union", "--union-add"], ["--union", "--union-identical"],
    ["--union-add", "--union-identical"], ["--union-identical"], ["-H", "-C"], ["--selinux-prefix=/x"],
]


@pytest.mark.parametrize("mode,args", [(m, a) for m in MODES for a in CASES] + [("bare", a) for a in BARE_ONLY_CASES],
                         ids=lambda v: v if isinstance(v, str) else (" ".join(v) or "plain"))
def test_checkout_matches_reference(mode, args, repos, ours, ref, tmp_path):
    r = _both(ours, ref, tmp_path, repos[mode], args + ["main", "co"])
    assert r["ours"] == r["ref"]


OVERLAY_CASES = [
    ["--union"], ["--union", "--whiteouts"], ["--union-add", "--whiteouts"],
    ["-U", "--union"], ["-C", "--union", "--whiteouts"], ["-U", "-H", "--union-identical"],
]


@pytest.mark.parametrize("mode", ["bare", "bare-user", "archive"])
@pytest.mark.parametrize("args", OVERLAY_CASES, ids=lambda a: " ".join(a))
def test_layered_checkouts_match_reference(mode, args, repos, ours, ref, tmp_path):
    repo = repos[mode]
    user = ["-U"] if mode != "bare" else []

    def pre(work):
        ref("checkout", f"--repo={repo}", *user, "main", work / "co")
    r = _both(ours, ref, tmp_path, repo, args + ["ov", "co"], pre=pre)
    assert r["ours"] == r["ref"]


def test_uncompressed_cache_matches_reference(tmp_path, repos, ours, ref):
    caches = {}
    for name, tool in (("ref", ref), ("ours", ours)):
        repo = tmp_path / f"repo-{name}"
        ref("init", f"--repo={repo}", "--mode=archive")
        ref("pull-local", f"--repo={repo}", repos["archive"], "main")
        tool("checkout", f"--repo={repo}", "-U", "main", tmp_path / f"co-{name}")
        cache = repo / "uncompressed-objects-cache"
        caches[name] = sorted((str(p.relative_to(cache)), oct(p.stat().st_mode), p.stat().st_nlink)
                              for p in cache.rglob("*"))
        # each tool uses the other's cache
        other = ours if name == "ref" else ref
        other("checkout", f"--repo={repo}", "-U", "main", tmp_path / f"co2-{name}")
        assert manifest(tmp_path / f"co2-{name}") == manifest(tmp_path / f"co-{name}")
    assert caches["ours"] == caches["ref"]
    assert caches["ours"], "no cache written"


def test_from_file_matches_reference(tmp_path, repos, ours, ref):
    lst = tmp_path / "list"
    lst.write_bytes(b"main\0/baz\0ov\0/baz/deeper\0")
    for args in (["--union", f"--from-file={lst}", "co"], [f"--from-file={lst}", "co"],
                 [f"--from-file={tmp_path / 'nonexistent'}", "co"]):
        r = _both(ours, ref, tmp_path, repos["bare"], args)
        assert r["ours"] == r["ref"]
        shutil.rmtree(tmp_path / "ours")
        shutil.rmtree(tmp_path / "ref")


@pytest.mark.parametrize("args,pre", [
    (["main", "co"], "mkdir co"),
    (["main", "no/such/dir"], None),
    (["nosuchref", "co"], None),
    ([], None),
    (["--subpath=/baz/cow", "main", "."], None),
    (["--subpath=/baz/cow", "main", "."], "touch cow"),
    (["-C", "--subpath=/baz/cow", "main", "."], "touch cow"),
    (["-C", "--subpath=/somelink", "main", "."], "touch somelink"),
    (["--skip-list=/nonexistent", "main", "co"], None),
    (["--fsync=maybe", "main", "co"], None),
    (["--union", "main", "co"], "mkdir -p co/baz/cow"),
    (["main"], None),
])
def test_errors_and_edge_cases_match_reference(args, pre, repos, ours, ref, tmp_path):
    import subprocess

    def setup(work):
        if pre:
            subprocess.run(pre, shell=True, cwd=work, check=True)
    r = _both(ours, ref, tmp_path, repos["bare"], args, pre=setup)
    # union-into-a-directory errors name a random temporary file
    for k in r:
        rc, err, m = r[k]
        r[k] = (rc, err.split("checkout-union-")[0], m)
    assert r["ours"] == r["ref"]


def test_skip_list_matches_reference(tmp_path, repos, ours, ref):
    skip = tmp_path / "skip"
    skip.write_text("/baz/cow\n/ro/\n/ww\n\n/deeper/\n")
    for args in ([f"--skip-list={skip}", "main", "co"], [f"--skip-list={skip}", "--subpath=/baz", "main", "co"]):
        r = _both(ours, ref, tmp_path, repos["bare"], args)
        assert r["ours"] == r["ref"]
        shutil.rmtree(tmp_path / "ours")
        shutil.rmtree(tmp_path / "ref")
