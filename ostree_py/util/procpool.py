"""Forked worker processes for per-object work that threads would serialize on the GIL.

A pull from a fast server keeps eight threads runnable at once; each of the
dozen system calls an object costs (send, receive, open, write, chmod,
setxattr, link, ...) releases the GIL and hands it to another thread, and
those hand-offs (about 80 futex calls per object, measured with strace -c)
cost more kernel time than the object's own system calls. Forked children
each run their jobs one at a time on a GIL of their own; the parent's
threads only pass them a short request and wait for a short reply.

The children are forked before the parent starts any thread (forking a
threaded process can leave locks held in the child), and leave with
os._exit, so they never run the parent's cleanup (its transaction, its
repository lock). A child ends when its request pipe closes, so children
never outlive a parent that is killed. The handler's result must be
picklable; its failures come back as OstreeError or OSError (their message,
not their class, which the parent does not need).
"""

import os
import pickle
import queue
import struct

from ostree_py.errors import OstreeError

_LEN = struct.Struct("<I")


def _read_exact(fd: int, n: int) -> bytes | None:
    parts = []
    while n:
        b = os.read(fd, n)
        if not b:
            return None
        parts.append(b)
        n -= len(b)
    return b"".join(parts)


def _send(fd: int, obj) -> None:
    data = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LEN.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _recv(fd: int):
    head = _read_exact(fd, _LEN.size)
    if head is None:
        return None
    data = _read_exact(fd, _LEN.unpack(head)[0])
    if data is None:
        return None
    return pickle.loads(data)


def count_from_env(name: str, default: int) -> int:
    """How many worker processes: the environment variable ``name`` if it is a number
    (0: none, the work stays in threads), else ``default``; 0 where fork is missing."""
    v = os.environ.get(name, "")
    n = int(v) if v.isdigit() else default
    return n if hasattr(os, "fork") else 0


class _Child:
    __slots__ = ("pid", "wfd", "rfd")

    def __init__(self, pid, wfd, rfd):
        self.pid, self.wfd, self.rfd = pid, wfd, rfd


class ProcPool:
    """``n`` forked children, each calling ``handler(*args)`` for the requests it gets.

    ``call`` may be used from several threads: each call takes an idle child,
    so at most ``n`` run at once. ``after_fork`` runs first in each child
    (to drop state it must not share with the parent, such as connections).
    """

    def __init__(self, n: int, handler, after_fork=None):
        self._children = []
        self._idle = queue.SimpleQueue()
        try:
            for _ in range(max(1, n)):
                self._children.append(self._fork(handler, after_fork))
        except BaseException:
            self.close()
            raise
        for c in self._children:
            self._idle.put(c)

    @property
    def size(self) -> int:
        """How many children serve requests."""
        return len(self._children)

    def _fork(self, handler, after_fork) -> _Child:
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        pid = os.fork()
        if pid == 0:   # the child: serve requests until the pipe closes, then leave at once
            code = 0
            try:
                os.close(req_w)
                os.close(rep_r)
                for c in self._children:   # siblings' pipes: their ends must close with the parent's
                    os.close(c.wfd)
                    os.close(c.rfd)
                if after_fork is not None:
                    after_fork()
                while True:
                    args = _recv(req_r)
                    if args is None:
                        break
                    try:
                        reply = ("ok", handler(*args))
                    except OstreeError as e:
                        reply = ("error", e.message)
                    except OSError as e:
                        reply = ("oserror", (e.errno, e.strerror, e.filename))
                    except Exception as e:  # noqa: BLE001 - reported, not raised in the child
                        reply = ("error", f"{type(e).__name__}: {e}")
                    _send(rep_w, reply)
            except BaseException:  # noqa: BLE001 - interrupted or the parent is gone
                code = 1
            finally:
                os._exit(code)
        os.close(req_r)
        os.close(rep_w)
        return _Child(pid, req_w, rep_r)

    def call(self, *args):
        """``handler(*args)`` in an idle child: its result, or its failure raised here."""
        c = self._idle.get()
        try:
            _send(c.wfd, args)
            reply = _recv(c.rfd)
        except OSError:
            reply = None
        # back in the idle queue even if it died: a call on it fails at once (EPIPE), never waits
        self._idle.put(c)
        if reply is None:
            raise OstreeError("A worker process ended unexpectedly")
        kind, value = reply
        if kind == "ok":
            return value
        if kind == "oserror":
            raise OSError(*value) if value[2] is not None else OSError(value[0], value[1])
        raise OstreeError(value)

    def close(self) -> None:
        """End the children (they finish the request in hand first) and reap them."""
        children, self._children = self._children, []
        for c in children:
            for fd in (c.wfd, c.rfd):
                try:
                    os.close(fd)
                except OSError:
                    pass
        for c in children:
            try:
                os.waitpid(c.pid, 0)
            except ChildProcessError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
