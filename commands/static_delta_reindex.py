"""``ostree static-delta reindex``: rebuild delta-indexes/ (all targets, or --to REV only)."""

from ostree_py.commands._cli import Option

SUMMARY = "Regenerate static delta indexes"
USAGE = ""
NEEDS_REPO = True
OPTIONS = [
    Option("to", kind="string", arg="REV", help="Only update delta index to revision REV"),
]


def run(ctx, opts, args):
    from ostree_py.deltas.indexes import reindex
    # as in the reference, REV is taken as a checksum (not resolved)
    reindex(ctx.repo, opts.to)
    return 0
