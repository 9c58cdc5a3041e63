"""``ostree-py admin set-default`` (ostree 2023.x): make the deployment at INDEX the default,
moving it to the front of the boot order; the others keep their order."""

USAGE = "INDEX"
NEEDS_SYSROOT = True


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError

    from ._sysroot import open_sysroot, parse_index
    sr = open_sysroot(ctx, opts)
    if not args:
        raise UsageError("INDEX must be specified")
    # ot-admin-builtin-set-default.c reads INDEX with atoi(), unlike undeploy and pin
    index = parse_index(args[0])
    target = sr.indexed_deployment(index)
    new = list(sr.deployments)
    del new[index]
    new.insert(0, target)
    sr.write_deployments(new, do_postclean=True)
    try:
        sr.cleanup()
    except OstreeError as e:
        raise OstreeError(f"Performing final cleanup: {e.message}") from None
    return 0
