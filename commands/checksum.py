"""``ostree checksum``: the ostree checksum of a file (content object) or directory (dirmeta)."""

from ostree_py.commands._cli import Option
from ostree_py.errors import OstreeError

SUMMARY = "Checksum a file or directory"
USAGE = "PATH"
NEEDS_REPO = False
OPTIONS = [
    Option("ignore-xattrs", help="Don't include xattrs in checksum"),
]


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
