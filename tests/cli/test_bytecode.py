"""ostree-py runs from byte code: no command compiles its modules from source.

Where PYTHONDONTWRITEBYTECODE is set Python never writes byte code itself, so
a module without up-to-date byte code is compiled again by every command that
imports it. ``make install`` byte-compiles the tree (the editable install
imports from it) and the test session refreshes it (tests/conftest.py).
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OSTREE_PY = os.path.join(os.path.dirname(sys.executable), "ostree-py")
# PYTHONVERBOSE reports where each imported module's code came from
CODE_FROM = re.compile(r"^# code object from '?([^']+?)'?$", re.M)


def _compiled_from_source(argv, tmp_path):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONVERBOSE="1")
    env.pop("OSTREE_PY_DEBUG", None)
    p = subprocess.run([OSTREE_PY, *argv], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    origins = CODE_FROM.findall(p.stderr)
    assert origins, "PYTHONVERBOSE reported no import"
    return [o for o in origins if o.startswith(ROOT + os.sep) and not o.endswith(".pyc")]


def test_commands_import_ostree_py_from_byte_code(tmp_path):
    tree = tmp_path / "tree"
    (tree / "usr").mkdir(parents=True)
    (tree / "usr" / "f").write_text("content\n")
    (tree / "usr" / "l").symlink_to("f")
    (tmp_path / "sysroot").mkdir()
    repo = f"--repo={tmp_path / 'repo'}"
    for argv in (["init", repo, "--mode=bare-user"],
                 [repo, "commit", "-b", "main", f"--tree=dir={tree}"],
                 [repo, "checkout", "-U", "main", "co"],
                 [repo, "fsck"],
                 ["admin", "init-fs", "sysroot"]):
        assert _compiled_from_source(argv, tmp_path) == [], f"ostree-py {' '.join(argv)}"
