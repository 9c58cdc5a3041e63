"""``ostree remote summary``: fetch a remote's summary and show it like ``summary --view``."""

from ostree_py.commands._cli import Option
from ostree_py.errors import OstreeError, UsageError

SUMMARY = "Show remote summary"
USAGE = "NAME"
NEEDS_REPO = True
OPTIONS = [
    Option("cache-dir", kind="filename", help="Use custom cache dir"),
    Option("raw", help="Show raw variant data"),
]


def run(ctx, opts, args):
    from ostree_py import remotes
    from ostree_py.dump import summary_text
    repo = ctx.repo
    if not args:
        raise UsageError("NAME must be specified")
    name = args[0]
    summary, signatures = remotes.fetch_summary(repo, name, cache_dir=opts.cache_dir)
    if summary is None:
        raise OstreeError("Remote server has no summary file")
    ctx.stdout.write(summary_text(summary, raw=opts.raw))
    # The reference then prints the summary's GPG signatures (when the remote
    # has gpg-verify-summary=true) after a blank line; that needs GPG
    # verification, which is not implemented yet.
    return 0
