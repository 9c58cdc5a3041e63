"""``ostree-py admin undeploy``: remove the deployment at INDEX."""

USAGE = "INDEX"
NEEDS_SYSROOT = True


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError

    from ._sysroot import open_sysroot, parse_index
    sr = open_sysroot(ctx, opts)
    if not args:
        raise UsageError("INDEX must be specified")
    index = parse_index(args[0])
    target = sr.indexed_deployment(index)
    if target is sr.booted_deployment:
        raise OstreeError(f"Cannot undeploy currently booted deployment {index}")
    new = list(sr.deployments)
    del new[index]
    sr.write_deployments(new, do_postclean=True)
    ctx.stdout.write(f"Deleted deployment {target.csum}.{target.deployserial}\n")
    try:
        sr.cleanup()
    except OstreeError as e:
        raise OstreeError(f"Performing final cleanup: {e.message}") from None
    return 0
