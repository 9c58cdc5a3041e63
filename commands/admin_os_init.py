"""``ostree-py admin os-init`` and ``admin stateroot-init`` (its ostree 2023.x name; the table
maps both here): create a stateroot (``ostree/deploy/STATEROOT`` and its /var).

Follows ostree 2025.2, which says STATEROOT in the usage and messages (2022.7 said OSNAME
and "initialized as OSTree root"); no upstream script asserts either text.
"""

USAGE = "STATEROOT"
NEEDS_SYSROOT = True


def run(ctx, opts, args):
    from ostree_py.errors import UsageError

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts, lock=False)
    sr.ensure_initialized()
    if not args:
        raise UsageError("STATEROOT must be specified")
    sr.init_osname(args[0])
    ctx.stdout.write(f"ostree/deploy/{args[0]} initialized as OSTree stateroot\n")
    return 0
