"""Terminal progress for commit and checkout: drawn on a terminal's stderr only."""

import io
import types

from ostree_py.ops.checkout import CheckoutOptions, checkout_tree
from ostree_py.commands._progress import CountProgress
from ostree_py.ops.commit import CommitBuilder, MutableTree, write_commit
from ostree_py.repo import Repo


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


def test_commit_and_checkout_report_counts(tmp_path):
    src = tmp_path / "src"
    for d in range(3):
        (src / f"d{d}").mkdir(parents=True)
        for f in range(4):
            (src / f"d{d}" / f"f{f}").write_text(f"{d}{f}")
    repo = Repo.create(str(tmp_path / "repo"), "bare-user")
    seen = []
    with repo.transaction(), CommitBuilder(repo, progress=seen.append) as b:
        mt = MutableTree()
        b.write_dir_to_mtree(mt, str(src))
        tree, meta = b.write_mtree(mt)
    assert seen and seen[-1] == 12 and seen == sorted(seen)
    csum = write_commit(repo, tree, meta, subject="s", timestamp=0)

    counts = []
    checkout_tree(repo, csum, str(tmp_path / "co"), CheckoutOptions(mode="user", progress=counts.append))
    assert counts == sorted(counts) and counts[-1] >= 12
    assert (tmp_path / "co" / "d2" / "f3").read_text() == "23"
