"""Helpers shared by the interop tests (imported by name: ``from interop_common import ...``;
a ``from conftest import`` can pick up another directory's conftest module)."""

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
