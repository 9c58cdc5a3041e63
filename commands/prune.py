"""``ostree-py prune``: delete objects no ref (or commit) reaches."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_REPO = True


def options(
    no_prune: Annotated[bool, typer.Option("--no-prune",
        help="Only display unreachable objects; don't delete")] = False,
    refs_only: Annotated[bool, typer.Option("--refs-only",
        help="Only compute reachability via refs")] = False,
    depth: Annotated[int | None, typer.Option("--depth", metavar="DEPTH",
        help="Only traverse DEPTH parents for each commit (default: -1=infinite)")] = None,
    delete_commit: Annotated[str | None, typer.Option("--delete-commit", metavar="COMMIT",
        help="Specify a commit to delete")] = None,
    keep_younger_than: Annotated[str | None, typer.Option("--keep-younger-than", metavar="DATE",
        help="Prune all commits older than the specified date")] = None,
    static_deltas_only: Annotated[bool, typer.Option("--static-deltas-only",
        help="Change the behavior of delete-commit and keep-younger-than to prune only static deltas")] = False,
    retain_branch_depth: Annotated[list[str], typer.Option("--retain-branch-depth", metavar="BRANCH=DEPTH",
        help="Additionally retain BRANCH=DEPTH commits")] = [],
    only_branch: Annotated[list[str], typer.Option("--only-branch", metavar="BRANCH",
        help="Only prune BRANCH (may be specified multiple times)")] = [],
    commit_only: Annotated[bool, typer.Option("--commit-only",
        help="Only traverse and delete commit objects.")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.ops import prune as P
    from ostree_py.util.text import format_size
    from ostree_py.errors import OstreeError, UsageError
    repo = ctx.repo
    depth = -1 if opts.depth is None else opts.depth
    with repo.lock(exclusive=True):
        if opts.delete_commit is not None:
            if opts.no_prune:
                raise UsageError("Cannot specify both --delete-commit and --no-prune")
            if opts.static_deltas_only:
                P.prune_static_deltas(repo, opts.delete_commit)
            else:
                P.delete_commit(repo, opts.delete_commit)
        elif opts.static_deltas_only:
            raise OstreeError("--static-deltas-only requires --delete-commit; "
                              "see https://github.com/ostreedev/ostree/issues/1479")
        if not (opts.retain_branch_depth or opts.keep_younger_than or opts.only_branch):
            res = P.prune(repo, refs_only=opts.refs_only, depth=depth, no_prune=opts.no_prune,
                          commit_only=opts.commit_only)
        else:
            cutoff = None
            if opts.keep_younger_than is not None:
                from ostree_py.core.timestamp import parse_datetime
                try:
                    cutoff = parse_datetime(opts.keep_younger_than)
                except OstreeError:
                    raise OstreeError(f"Could not parse '{opts.keep_younger_than}'") from None
            retain = P.parse_retain_branch_depth(opts.retain_branch_depth)
            res = P.prune_by_policy(repo, depth=depth, keep_younger_than=cutoff, retain_branch_depth=retain,
                                    only_branches=opts.only_branch, no_prune=opts.no_prune,
                                    commit_only=opts.commit_only)
    out = ctx.stdout
    out.write(f"Total (commit only) objects: {res.total}\n" if opts.commit_only else f"Total objects: {res.total}\n")
    if res.pruned == 0:
        out.write("No unreachable objects\n")
    elif opts.no_prune:
        out.write(f"Would delete: {res.pruned} objects, freeing {format_size(res.freed_bytes)}\n")
    else:
        out.write(f"Deleted {res.pruned} objects, {format_size(res.freed_bytes)} freed\n")
    return 0
