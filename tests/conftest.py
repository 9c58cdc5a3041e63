"""Set-up and housekeeping shared by every test directory."""

import compileall
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_sessionstart(session):
    # Tests run ostree-py in subprocesses, and the machine may set
    # PYTHONDONTWRITEBYTECODE: without up-to-date byte code (a source edited
    # since `make install`) each of those runs would compile from source every
    # module it imports. Quick when nothing changed (one stat a module).
    for package in ("ostree_py", "commands"):
        compileall.compile_dir(os.path.join(ROOT, package), quiet=1)


def pytest_sessionfinish(session, exitstatus):
    # Deployments made by the reference (and by ostree-py on a real sysroot)
    # are immutable (chattr +i): pytest cannot remove its old temporary folders
    # then, and they pile up as garbage-* until the disk is full. Clear the
    # flag on every deployment folder this session made.
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None or shutil.which("chattr") is None:
        return
    try:
        base = factory.getbasetemp()
    except (OSError, ValueError):
        return
    subprocess.run(["find", str(base), "-xdev", "-path", "*/ostree/deploy/*/deploy/*", "-prune",
                    "-type", "d", "-exec", "chattr", "-f", "-i", "{}", "+"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
