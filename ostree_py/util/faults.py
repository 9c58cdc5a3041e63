"""Fault injection for crash-safety tests: ``checkpoint(name)`` marks a point
where a crash must leave the repository or sysroot consistent.

With ``OSTREE_PY_KILL_AT=NAME:N`` in the environment the process SIGKILLs
itself at the Nth time checkpoint NAME is reached (``*:N`` counts every
checkpoint). ``OSTREE_PY_CHECKPOINT_LOG=PATH`` appends the name of every
checkpoint reached to PATH, so a test can learn how many points a command
passes through. Without either variable ``checkpoint`` is a function that does nothing.

Checkpoints: ``object`` (an object was written or linked into place),
``object-delete`` (prune removed one), ``ref`` (a ref written or deleted),
``deployment`` (deployment checkout, /etc and origin, removal of an old one),
``bootloader`` (each step of a boot configuration swap).
"""

import os
import threading

_lock = threading.Lock()
_counts: dict = {}
_targets: dict = {}
_log_path = None


def _noop(name: str) -> None:
    pass


def _armed(name: str) -> None:
    if _log_path is not None:
        fd = os.open(_log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, name.encode() + b"\n")
        finally:
            os.close(fd)
    for key in (name, "*"):
        n = _targets.get(key)
        if n is None:
            continue
        with _lock:  # pulls write objects from several threads
            c = _counts.get(key, 0) + 1
            _counts[key] = c
        if c == n:
            import signal
            os.kill(os.getpid(), signal.SIGKILL)


def _setup() -> None:
    global _log_path
    spec = os.environ.get("OSTREE_PY_KILL_AT", "")
    for item in spec.split(","):
        name, _, n = item.strip().rpartition(":")
        if name and n.isdigit():
            _targets[name] = int(n)
    _log_path = os.environ.get("OSTREE_PY_CHECKPOINT_LOG") or None


_setup()
checkpoint = _armed if (_targets or _log_path) else _noop


def armed() -> bool:
    """Whether checkpoints kill or log (their counts are this process's own)."""
    return checkpoint is not _noop
