"""Progress output shared by repository maintenance commands.

In a pipe the lines are the reference's (libglnx's console progress): the
first update, then at most one per second, and always the final 100%, each
as ``TEXT (DONE/TOTAL) PCT%``. On a terminal a rich progress bar is drawn
instead; rich is imported only then.
"""

import time


class ItemsProgress:
    """Progress over a known number of items, written to ``ctx.stdout``."""

    def __init__(self, ctx, text: str):
        self.ctx = ctx
        self.text = text
        self._last = None
        self._bar = None
        self._task = None

    def update(self, done: int, total: int) -> None:
        if self.ctx.stdout_isatty:
            self._update_tty(done, total)
            return
        pct = 100 if done == total else int(done / total * 100)
        now = time.monotonic()
        if pct != 100 and self._last is not None and now - self._last < 1.0:
            return
        self._last = now
        self.ctx.stdout.write(f"{self.text} ({done}/{total}) {pct}%\n")
        self.ctx.stdout.flush()

    def _update_tty(self, done: int, total: int) -> None:
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn
            self._bar = Progress(TextColumn(self.text), BarColumn(), MofNCompleteColumn(),
                                 TaskProgressColumn(), console=Console(file=self.ctx.stdout),
                                 transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self.text, total=total)
        self._bar.update(self._task, completed=done, total=total)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class CountProgress:
    """A live count of entries for work whose total is not known up front
    (commit, checkout). Drawn only when stderr is a terminal, on stderr so
    that stdout (a commit checksum) stays clean; in a pipe it does nothing,
    as the reference prints no progress there."""

    def __init__(self, ctx, text: str):
        self.ctx = ctx
        self.text = text
        self._status = None
        self._last = 0.0
        isatty = getattr(ctx.stderr, "isatty", None)
        self.enabled = bool(isatty and isatty())

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        if self._status is None:
            from rich.console import Console
            self._status = Console(file=self.ctx.stderr).status(f"{self.text}: {done}")
            self._status.start()
        else:
            self._status.update(f"{self.text}: {done}")

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
