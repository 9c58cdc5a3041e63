"""Terminal progress for commit and checkout: drawn on a terminal's stderr only."""

import io
import types

from ostree_py.commands._progress import CountProgress


class _TTY(io.StringIO):
    def isatty(self):
        return True


def test_count_progress_draws_only_on_a_terminal():
    tty_ctx = types.SimpleNamespace(stderr=_TTY())
    with CountProgress(tty_ctx, "Checking out") as p:
        assert p.enabled
        p(7)
    assert "Checking out: 7" in tty_ctx.stderr.getvalue()

    pipe_ctx = types.SimpleNamespace(stderr=io.StringIO())
    with CountProgress(pipe_ctx, "Checking out") as p:
        assert not p.enabled
        p(7)
    assert pipe_ctx.stderr.getvalue() == ""
