"""``ostree-py export``: stream a commit as a GNU tar archive."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename

USAGE = "COMMIT"
NEEDS_REPO = True


def options(
    no_xattrs: Annotated[bool, typer.Option("--no-xattrs",
        help="Skip output of extended attributes")] = False,
    subpath: Annotated[str | None, typer.Option("--subpath", metavar="PATH", parser=filename,
        help="Checkout sub-directory PATH")] = None,
    prefix: Annotated[str | None, typer.Option("--prefix", metavar="PATH", parser=filename,
        help="Add PATH as prefix to archive pathnames")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="PATH", parser=filename,
        help="Output to PATH ")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


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
