"""``ostree checksum``: the ostree checksum of a file (content object) or directory (dirmeta)."""

from typing import Annotated

import typer

from ostree_py.errors import OstreeError

USAGE = "PATH"
NEEDS_REPO = False


def options(
    ignore_xattrs: Annotated[bool, typer.Option("--ignore-xattrs",
        help="Don't include xattrs in checksum")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    import os
    from ostree_py.ops.diff import checksum_file
    if not args:
        raise OstreeError("A filename must be given")
    path = args[0]
    if not opts.ignore_xattrs:
        # the reference takes GIO's path here, with GIO's message
        try:
            os.lstat(path)
        except OSError as e:
            raise OstreeError(f"Error when getting information for file “{os.path.abspath(path)}”: "
                              f"{os.strerror(e.errno)}") from None
    ctx.stdout.write(checksum_file(path, ignore_xattrs=opts.ignore_xattrs) + "\n")
    return 0
