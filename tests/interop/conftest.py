"""Fixtures for interop tests: run reference ostree and ostree-py side by side.

``ours`` and ``ref`` run a command line and return the CompletedProcess;
``check=True`` (the default) fails the test with both streams on a non-zero exit.
"""

import os
import shutil

import pytest

from interop_common import OURS, REF_OSTREE, _run


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
