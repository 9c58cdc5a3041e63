"""``ostree refs``: list, create, alias and delete refs.

Listings are sorted by name (the reference prints them in hash-table order).
"""

from ostree_py.commands._cli import Option
from ostree_py.errors import OstreeError

SUMMARY = "List refs"
USAGE = "[PREFIX]"
NEEDS_REPO = True
OPTIONS = [
    Option("delete", help="Delete refs which match PREFIX, rather than listing them"),
    Option("list", help="Do not remove the prefix from the refs"),
    Option("alias", "A", help="If used with --create, create an alias, otherwise just list aliases"),
    Option("create", kind="string", arg="NEWREF", help="Create a new ref for an existing commit"),
    Option("collections", "c", help="Enable listing collection IDs for refs"),
    Option("force", help="Overwrite existing refs when creating"),
]


def run(ctx, opts, args):
    from ostree_py.ops import refs_cmd
    repo = ctx.repo
    if args:
        if opts.create is not None and len(args) > 1:
            raise OstreeError("You must specify only 1 existing ref when creating a new ref")
        for prefix in args:
            _do(ctx, repo, opts, prefix, refs_cmd)
    else:
        if opts.delete:
            raise OstreeError("At least one PREFIX is required when deleting refs")
        if opts.create is not None:
            raise OstreeError("You must specify a revision when creating a new ref")
        _do(ctx, repo, opts, None, refs_cmd)
    return 0


def _do(ctx, repo, opts, prefix, refs_cmd):
    if opts.collections:
        if opts.create is not None:
            refs_cmd.create_collection_ref(repo, prefix, opts.create, opts.force)
        elif opts.delete:
            refs_cmd.delete_collection_refs(repo, prefix)
        else:
            ctx.stdout.write("".join(refs_cmd.list_collection_lines(repo, prefix)))
        return
    if opts.create is not None:
        refs_cmd.create_ref(repo, prefix, opts.create, alias=opts.alias, force=opts.force)
    elif opts.delete:
        refs_cmd.delete_refs(repo, prefix)
    else:
        ctx.stdout.write("".join(refs_cmd.list_lines(repo, prefix, full=opts.list, aliases=opts.alias)))
