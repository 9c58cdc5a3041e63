"""``ostree log``: a commit and its ancestors, newest first."""

from ostree_py.commands._cli import Option
from ostree_py.errors import UsageError

SUMMARY = "Show log starting at commit or ref"
USAGE = "REV"
NEEDS_REPO = True
OPTIONS = [
    Option("raw", help="Show raw variant data"),
]


def run(ctx, opts, args):
    from ostree_py.ops.log import iter_log
    if not args:
        raise UsageError("A rev argument is required")
    repo = ctx.repo
    checksum = repo.resolve_rev(args[0])
    out = ctx.stdout
    for chunk in iter_log(repo, checksum, raw=opts.raw):
        out.write(chunk)
    return 0
