"""Session-wide test housekeeping."""

import shutil
import subprocess


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
