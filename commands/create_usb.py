"""``ostree create-usb``: copy collection refs to a repository on a removable volume."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename

USAGE = "MOUNT-PATH COLLECTION-ID REF [COLLECTION-ID REF...]"
NEEDS_REPO = True


def options(
    disable_fsync: Annotated[bool, typer.Option("--disable-fsync", help="Do not invoke fsync()")] = False,
    destination_repo: Annotated[str | None, typer.Option("--destination-repo", metavar="DEST", parser=filename,
        help="Use custom repository directory within the mount")] = None,
    commit: Annotated[str | None, typer.Option("--commit", metavar="COMMIT",
        help="Pull a specific commit (only works when a single ref is specified)")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    import os

    from ostree_py.remote.create_usb import create_usb
    from ostree_py.errors import UsageError
    if len(args) < 1:
        raise UsageError("A MOUNT-PATH must be specified")
    if len(args) < 3:
        raise UsageError("At least one COLLECTION-ID REF pair must be specified")
    if len(args) % 2 == 0:
        raise UsageError("Only complete COLLECTION-ID REF pairs may be specified")
    if opts.commit and len(args) > 3:
        raise UsageError("The --commit option can only be used when a single COLLECTION-ID REF pair is specified")
    src = ctx.repo
    mount = args[0]
    refs = [(args[i], args[i + 1]) for i in range(1, len(args), 2)]
    dest = create_usb(src, mount, refs, dest_repo=opts.destination_repo, commit=opts.commit,
                      disable_fsync=opts.disable_fsync)
    ctx.stdout.write(f"Copied {len(refs)}/{len(refs)} refs successfully from \u2018{os.path.abspath(src.path)}\u2019 "
                     f"to \u2018{dest}\u2019 repository in \u2018{mount}\u2019.\n")
    return 0
