"""``ostree-py fsck``: check the repository for consistency."""

from ._cli import Option

SUMMARY = "Check the repository for consistency"
USAGE = ""
NEEDS_REPO = True
OPTIONS = [
    Option("add-tombstones", help="Add tombstones for missing commits"),
    Option("quiet", "q", help="Only print error messages"),
    Option("all", "a", help="Don't stop on first error"),
    Option("delete", help="Remove corrupted objects"),
    Option("verify-bindings", help="Verify ref bindings"),
    Option("verify-back-refs", help="Verify back-references (implies --verify-bindings)"),
]


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
