"""``ostree diff``: what changed between two commits, or a commit and a directory."""

from typing import Annotated

import typer

from ostree_py.errors import OstreeError

USAGE = "REV_OR_DIR REV_OR_DIR"
NEEDS_REPO = True


def options(
    stats: Annotated[bool, typer.Option("--stats", help="Print various statistics")] = False,
    fs_diff: Annotated[bool, typer.Option("--fs-diff", help="Print filesystem diff")] = False,
    no_xattrs: Annotated[bool, typer.Option("--no-xattrs",
        help="Skip output of extended attributes")] = False,
    owner_uid: Annotated[int | None, typer.Option("--owner-uid", metavar="UID",
        help="Use file ownership user id for local files")] = None,
    owner_gid: Annotated[int | None, typer.Option("--owner-gid", metavar="GID",
        help="Use file ownership group id for local files")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def _file_or_commit(repo, arg):
    from ostree_py.repo.repofile import RepoFile
    if arg.startswith("/") or arg.startswith("./"):
        return arg
    return RepoFile.root(repo, repo.resolve_rev(arg))


def run(ctx, opts, args):
    from ostree_py.ops import diff
    from ostree_py.util.text import format_size
    repo = ctx.repo
    if not args:
        ctx.stderr.write(ctx.help_text() + "\n")
        raise OstreeError("REV must be specified")
    if len(args) == 1:
        src, target = args[0] + "^", args[0]
    else:
        src, target = args[0], args[1]
    fs_diff = opts.fs_diff or not opts.stats
    if fs_diff:
        a = _file_or_commit(repo, src)
        b = _file_or_commit(repo, target)
        uid = opts.owner_uid if opts.owner_uid is not None else -1
        gid = opts.owner_gid if opts.owner_gid is not None else -1
        res = diff.diff_dirs(a, b, ignore_xattrs=opts.no_xattrs, owner_uid=uid, owner_gid=gid)
        for line in res.lines():
            ctx.stdout.write(line + "\n")
    if opts.stats:
        rev_a = repo.resolve_rev(src)
        rev_b = repo.resolve_rev(target)
        ra = diff.reachable_objects(repo, rev_a)
        rb = diff.reachable_objects(repo, rev_b)
        common = ra & rb
        total = sum(diff.object_storage_size(repo, c, t) for c, t in common)
        ctx.stdout.write(f"[A] Object Count: {len(ra)}\n[B] Object Count: {len(rb)}\n"
                         f"Common Object Count: {len(common)}\nCommon Object Size: {format_size(total)}\n")
    return 0
