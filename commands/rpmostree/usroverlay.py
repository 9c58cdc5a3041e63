"""``rpm-ostree-py usroverlay``: what rpm-ostree's does, ``ostree admin unlock``
(ostree-py's) on the sysroot, with its options and messages."""

from .._cli import Option

SUMMARY = "Apply a transient overlayfs to /usr"
USAGE = ""
OPTIONS = [
    Option("hotfix", help="Retain changes across reboots"),
    Option("transient", help="Mount overlayfs read-only by default"),
]


def run(ctx, opts, args):
    from ostree_py.commands import main as ostree_main
    argv = ["admin", "unlock", f"--sysroot={ctx.sysroot_path}"]
    argv += ["--hotfix"] if opts.hotfix else []
    argv += ["--transient"] if opts.transient else []
    prog = ctx.prog
    try:
        return ostree_main(argv + list(args), ctx)
    finally:
        ctx.prog = prog
