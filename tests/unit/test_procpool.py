"""ostree_py.util.procpool: forked workers answer calls from many threads; their failures and
deaths come back as errors in the caller, never as a hang."""

import errno
import os
import signal
import threading

import pytest

from ostree_py.errors import OstreeError
from ostree_py.util.procpool import ProcPool


def _handler(kind, value):
    if kind == "pid":
        return os.getpid(), value * 2
    if kind == "ostree":
        raise OstreeError(f"bad {value}")
    if kind == "oserror":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), value)
    if kind == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "other":
        raise ValueError(value)
    return None


def test_results_from_children_across_threads():
    with ProcPool(3, _handler) as pool:
        out, lock = [], threading.Lock()

        def work(i):
            r = pool.call("pid", i)
            with lock:
                out.append((i, r))
        threads = [threading.Thread(target=work, args=(i,)) for i in range(60)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(i for i, _ in out) == list(range(60))
    assert all(r[1] == 2 * i for i, r in out)
    pids = {r[0] for _, r in out}
    assert os.getpid() not in pids and 1 <= len(pids) <= 3


def test_failures_come_back_as_errors():
    with ProcPool(2, _handler) as pool:
        with pytest.raises(OstreeError, match="bad x"):
            pool.call("ostree", "x")
        with pytest.raises(OSError) as ei:
            pool.call("oserror", "/some/file")
        assert ei.value.errno == errno.ENOSPC and ei.value.filename == "/some/file"
        with pytest.raises(OstreeError, match="ValueError: v"):
            pool.call("other", "v")
        assert pool.call("pid", 1)[1] == 2   # the children are still there


def test_dead_child_is_an_error_and_never_a_hang():
    with ProcPool(1, _handler) as pool:
        with pytest.raises(OstreeError, match="worker process ended"):
            pool.call("crash", None)
        with pytest.raises(OstreeError, match="worker process ended"):
            pool.call("pid", 1)


def test_after_fork_runs_in_the_child_only():
    marker = []

    def after():
        marker.append(os.getpid())

    def handler():
        return list(marker)
    with ProcPool(1, handler, after) as pool:
        seen = pool.call()
    assert marker == [] and len(seen) == 1 and seen[0] != os.getpid()


def test_children_are_reaped():
    pool = ProcPool(2, _handler)
    pids = [c.pid for c in pool._children]
    pool.close()
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
