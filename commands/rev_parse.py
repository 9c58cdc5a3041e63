"""``ostree rev-parse``: print the commit checksum a rev names."""

from typing import Annotated

import typer

from ostree_py.errors import OstreeError, UsageError

USAGE = "REV"
NEEDS_REPO = True


def options(
    single: Annotated[bool, typer.Option("--single", "-S",
        help="If the repository has exactly one commit, then print it; any other case will result in an error")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    repo = ctx.repo
    if opts.single:
        if args:
            raise UsageError("Cannot specify arguments with --single")
        from ostree_py.repo.refs import list_commit_objects_starting_with
        commits = list_commit_objects_starting_with(repo, "")
        if len(commits) > 1:
            raise OstreeError("Multiple commit objects found")
        if not commits:
            raise OstreeError("No commit objects found")
        ctx.stdout.write(commits[0] + "\n")
        return 0
    if not args:
        raise UsageError("REV must be specified")
    for rev in args:
        ctx.stdout.write(repo.resolve_rev(rev) + "\n")
    return 0
