"""``ostree-py admin undeploy``: remove the deployment at INDEX."""

USAGE = "INDEX"
NEEDS_SYSROOT = True


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError

    from ._sysroot import c_int, open_sysroot, parse_strtoull_index
    sr = open_sysroot(ctx, opts)
    if not args:
        raise UsageError("INDEX must be specified")
    # ostree 2023.x reads INDEX with g_ascii_strtoull into a guint ("Invalid index: TEXT" for
    # text after the digits); 2022.7 used atoi(), so "x" was 0
    index = c_int(parse_strtoull_index(args[0])[0])
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
