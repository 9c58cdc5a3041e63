"""``ostree-py export``: stream a commit as a GNU tar archive."""

from ._cli import Option

SUMMARY = "Stream COMMIT to stdout in tar format"
USAGE = "COMMIT"
NEEDS_REPO = True
OPTIONS = [
    Option("no-xattrs", help="Skip output of extended attributes"),
    Option("subpath", kind="filename", arg="PATH", help="Checkout sub-directory PATH"),
    Option("prefix", kind="filename", arg="PATH", help="Add PATH as prefix to archive pathnames"),
    Option("output", "o", kind="filename", arg="PATH", help="Output to PATH "),
]


def run(ctx, opts, args):
    import os
    from ostree_py.errors import OstreeError, UsageError
    from ostree_py.ops.export import export_commit
    if not args:
        raise UsageError("A COMMIT argument is required")
    repo = ctx.repo
    if opts.output:
        try:
            fd = os.open(opts.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        except OSError as e:
            raise OstreeError(f"Failed to open '{opts.output}': {e.strerror}") from None
        with os.fdopen(fd, "wb") as out:
            export_commit(repo, args[0], out, opts.subpath, opts.prefix)
    else:
        ctx.stdout.flush()
        out = ctx.stdout.buffer
        export_commit(repo, args[0], out, opts.subpath, opts.prefix, pad_record=True)
        out.flush()
    return 0
