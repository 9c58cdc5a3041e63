"""CLI behaviour of fsck/prune/reset/pull-local/export that needs no reference run."""

import io

import pytest

from ostree_py.commands._progress import ItemsProgress


class FakeCtx:
    def __init__(self, tty=False):
        self.stdout = io.StringIO()
        self.stdout_isatty = tty


def test_progress_lines_in_a_pipe_are_rate_limited(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("ostree_py.commands._progress.time.monotonic", lambda: clock[0])
    ctx = FakeCtx()
    p = ItemsProgress(ctx, "fsck objects")
    for i in range(1, 11):
        clock[0] += 0.3
        p.update(i, 10)
    # the first update, then one at least a second later each time, and always 100%
    assert ctx.stdout.getvalue() == ("fsck objects (1/10) 10%\n"
                                     "fsck objects (5/10) 50%\n"
                                     "fsck objects (9/10) 90%\n"
                                     "fsck objects (10/10) 100%\n")


def test_progress_percent_rounds_down_like_glib():
    ctx = FakeCtx()
    p = ItemsProgress(ctx, "x")
    p.update(1, 3)
    assert ctx.stdout.getvalue() == "x (1/3) 33%\n"


def test_progress_on_a_terminal_draws_a_rich_bar():
    ctx = FakeCtx(tty=True)
    p = ItemsProgress(ctx, "fsck objects")
    for i in range(1, 4):
        p.update(i, 3)
    p.close()
    out = ctx.stdout.getvalue()
    assert "fsck objects" in out and "3/3" in out


@pytest.mark.parametrize("argv,err", [
    (["prune", "--static-deltas-only"],
     "error: --static-deltas-only requires --delete-commit; see https://github.com/ostreedev/ostree/issues/1479\n"),
    (["prune", "--retain-branch-depth=x=BACON"], "error: Invalid depth BACON\n"),
    (["prune", "--retain-branch-depth=x"], "error: Invalid value x, must specify BRANCH=DEPTH\n"),
    (["prune", "--keep-younger-than=garbage"], "error: Could not parse 'garbage'\n"),
    (["reset", "nosuch", "nosuch"], "error: Invalid ref 'nosuch'\n"),
])
def test_argument_errors(cli, tmp_path, argv, err):
    from ostree_py.repo import Repo
    Repo.create(str(tmp_path / "repo"), "archive")
    r = cli([f"--repo={tmp_path / 'repo'}", *argv])
    assert r.rc == 1 and r.err.endswith(err)


def test_prune_empty_repo(cli, tmp_path):
    from ostree_py.repo import Repo
    Repo.create(str(tmp_path / "repo"), "bare-user")
    r = cli([f"--repo={tmp_path / 'repo'}", "prune", "--refs-only"])
    assert (r.rc, r.out) == (0, "Total objects: 0\nNo unreachable objects\n")


def test_fsck_empty_repo(cli, tmp_path):
    from ostree_py.repo import Repo
    Repo.create(str(tmp_path / "repo"), "bare")
    r = cli([f"--repo={tmp_path / 'repo'}", "fsck"])
    assert r.rc == 0
    assert r.out == ("Validating refs...\nValidating refs in collections...\nEnumerating commits...\n"
                     "Verifying content integrity of 0 commit objects...\n"
                     "object fsck of 0 commits completed successfully - no errors found.\n")
