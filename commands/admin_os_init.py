"""``ostree-py admin os-init``: create a stateroot (``ostree/deploy/OSNAME`` and its /var)."""

USAGE = "OSNAME"
NEEDS_SYSROOT = True


def run(ctx, opts, args):
    from ostree_py.errors import UsageError

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts, lock=False)
    sr.ensure_initialized()
    if not args:
        raise UsageError("OSNAME must be specified")
    sr.init_osname(args[0])
    ctx.stdout.write(f"ostree/deploy/{args[0]} initialized as OSTree root\n")
    return 0
