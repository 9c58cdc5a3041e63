"""Set-up shared by every test directory."""

import compileall
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_sessionstart(session):
    # Tests run ostree-py in subprocesses, and the machine may set
    # PYTHONDONTWRITEBYTECODE: without up-to-date byte code (a source edited
    # since `make install`) each of those runs would compile from source every
    # module it imports. Quick when nothing changed (one stat a module).
    for package in ("ostree_py", "commands"):
        compileall.compile_dir(os.path.join(ROOT, package), quiet=1)
