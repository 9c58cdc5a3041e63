"""``ostree-py fsck``: check the repository for consistency."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_REPO = True


def options(
    add_tombstones: Annotated[bool, typer.Option("--add-tombstones",
        help="Add tombstones for missing commits")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print error messages")] = False,
    all: Annotated[bool, typer.Option("--all", "-a", help="Don't stop on first error")] = False,
    delete: Annotated[bool, typer.Option("--delete", help="Remove corrupted objects")] = False,
    verify_bindings: Annotated[bool, typer.Option("--verify-bindings", help="Verify ref bindings")] = False,
    verify_back_refs: Annotated[bool, typer.Option("--verify-back-refs",
        help="Verify back-references (implies --verify-bindings)")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


class _Reporter:
    def __init__(self, ctx):
        from ._progress import ItemsProgress
        self.ctx = ctx
        self.bar = ItemsProgress(ctx, "fsck objects")

    def info(self, line):
        self.ctx.stdout.write(line + "\n")
        self.ctx.stdout.flush()

    def progress(self, done, total):
        self.bar.update(done, total)

    def problem(self, line):
        self.ctx.stdout.flush()
        self.ctx.stderr.write(line + "\n")
        self.ctx.stderr.flush()


def run(ctx, opts, args):
    from ostree_py.ops.fsck import FsckOptions, fsck_repo
    rep = _Reporter(ctx)
    try:
        fsck_repo(ctx.repo, FsckOptions(quiet=opts.quiet, delete=opts.delete, all=opts.all,
                                        add_tombstones=opts.add_tombstones,
                                        verify_bindings=opts.verify_bindings,
                                        verify_back_refs=opts.verify_back_refs), rep)
    finally:
        rep.bar.close()
    return 0
