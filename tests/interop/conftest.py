"""Fixtures for interop tests: run reference ostree and ostree-py side by side.

``ours`` and ``ref`` run a command line and return the CompletedProcess;
``check=True`` (the default) fails the test with both streams on a non-zero exit.
"""

import os
import shutil
import stat
import subprocess
import sys

import pytest

REF_OSTREE = shutil.which("ostree", path="/usr/bin:/bin") or "/usr/bin/ostree"
OURS = [sys.executable, "-m", "ostree_py.commands"]


def _run(argv, check=True, **kw):
    env = dict(os.environ)
    env.setdefault("LC_ALL", "C.UTF-8")
    env.pop("OSTREE_REPO", None)
    p = subprocess.run(argv, capture_output=True, text=kw.pop("text", True), env=env, **kw)
    if check and p.returncode != 0:
        pytest.fail(f"{' '.join(map(str, argv))} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


@pytest.fixture(scope="session")
def ref():
    if not os.path.exists(REF_OSTREE):
        pytest.fail("reference ostree is not installed (make install installs it)")

    def run(*args, **kw):
        return _run([REF_OSTREE, *map(str, args)], **kw)
    return run


@pytest.fixture(scope="session")
def ours():
    def run(*args, **kw):
        return _run([*OURS, *map(str, args)], **kw)
    return run


def tree_manifest(root):
    """Everything a checkout must reproduce: type, mode, owner, size, content digest, target, xattrs."""
    import hashlib
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            entry = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid]
            if stat.S_ISLNK(st.st_mode):
                entry.append(os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    entry.append(hashlib.sha256(f.read()).hexdigest())
            try:
                names = sorted(os.listxattr(p, follow_symlinks=False))
                entry.append([(n, os.getxattr(p, n, follow_symlinks=False)) for n in names])
            except OSError:
                entry.append([])
            out[rel] = entry
    return out


@pytest.fixture(scope="session")
def real_tree(tmp_path_factory):
    """A real tree of a few thousand files: Python's stdlib and the zoneinfo database,
    plus the awkward cases (setuid, odd names, xattrs, empty dirs and files, hardlinks)."""
    base = tmp_path_factory.mktemp("realtree") / "tree"
    base.mkdir()
    for src, dst in (("/usr/lib/python3.11", "usr/lib/python3.11"), ("/usr/share/zoneinfo", "usr/share/zoneinfo")):
        if not os.path.isdir(src):
            pytest.fail(f"{src} is missing: the real-tree fixture needs it")
        shutil.copytree(src, base / dst, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    odd = base / "odd"
    odd.mkdir()
    (odd / "empty").write_bytes(b"")
    (odd / "emptydir").mkdir()
    (odd / "name with spaces & ünïcödé").write_text("x")
    (odd / "suid").write_text("#!/bin/sh\n")
    os.chmod(odd / "suid", 0o4755)
    (odd / "private").write_text("secret")
    os.chmod(odd / "private", 0o600)
    os.chown(odd / "private", 1000, 1000)
    (odd / "dangling").symlink_to("../nowhere")
    (odd / "abs").symlink_to("/etc/passwd")
    (odd / "big").write_bytes(os.urandom(3 * 1024 * 1024))
    os.link(odd / "big", odd / "big-hardlink")
    os.setxattr(odd / "private", "user.test", b"value")
    (odd / "ro-dir").mkdir(mode=0o555)
    return base
