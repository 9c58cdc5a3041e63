"""A lean pool of worker threads for loops that handle many small jobs.

concurrent.futures costs a Future, its Condition and, with
``wait(FIRST_COMPLETED)``, a lock round over every outstanding future for each
completion: in a pull of a few thousand objects that bookkeeping took a fifth
of the time the GIL was held (py-spy --gil). Here jobs go to the workers on
one C-implemented queue and outcomes come back on another, so the caller's
loop blocks on a single ``get``.
"""

import queue
import threading


class WorkPool:
    """``n`` daemon threads running submitted calls; outcomes come back in completion order."""

    def __init__(self, n: int, name: str = "worker"):
        self._jobs = queue.SimpleQueue()
        self._done = queue.SimpleQueue()
        self.running = 0   # submitted and not yet collected
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(max(1, n))]
        for t in self._threads:
            t.start()

    def _work(self):
        jobs, done = self._jobs, self._done
        while True:
            item = jobs.get()
            if item is None:
                return
            token, fn, args = item
            try:
                done.put((token, True, fn(*args)))
            except BaseException as e:  # noqa: BLE001 - handed to the caller, who decides
                done.put((token, False, e))

    def submit(self, token, fn, args=()) -> None:
        """Run ``fn(*args)``; ``token`` comes back with its outcome."""
        self.running += 1
        self._jobs.put((token, fn, args))

    def collect(self, timeout: float | None = None) -> list:
        """The outcomes ready, as (token, ok, result-or-exception); waits up to ``timeout``
        seconds (None: until one is ready) when none is. Empty when nothing is running."""
        if not self.running:
            return []
        out = []
        try:
            out.append(self._done.get(timeout=timeout))
            while True:
                out.append(self._done.get_nowait())
        except queue.Empty:
            pass
        self.running -= len(out)
        return out

    def shutdown(self, cancel: bool = False) -> None:
        """Stop the workers once the jobs queued are done (dropped first when ``cancel``)."""
        if cancel:
            try:
                while True:
                    if self._jobs.get_nowait() is not None:
                        self.running -= 1
            except queue.Empty:
                pass
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        self.shutdown(cancel=exc_type is not None)
