"""``ostree-py admin config-diff``: list /etc changes against the tree's defaults (usr/etc)."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_SYSROOT = True


def options(
    os: Annotated[str | None, typer.Option("--os", metavar="OSNAME",
        help="Use a different operating system root than the current one")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    import os

    from ostree_py.ops.diff import diff_dirs
    from ostree_py.errors import OstreeError

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts, lock=False)
    if sr.booted_deployment is None and opts.os is None:
        raise OstreeError("Not currently booted into an OSTree system and no --os= argument given")
    if opts.os is not None:
        d = sr.get_merge_deployment(opts.os)
        if d is None:
            raise OstreeError(f"No deployment for OS '{opts.os}'")
    else:
        d = sr.booted_deployment
    ddir = sr.deployment_dirpath(d)
    res = diff_dirs(os.path.join(ddir, "usr/etc"), os.path.join(ddir, "etc"), ignore_xattrs=True)
    for line in res.lines():
        ctx.stdout.write(line + "\n")
    return 0
