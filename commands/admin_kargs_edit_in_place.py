"""``ostree-py admin kargs edit-in-place``: change every deployment's kernel arguments in place."""

from ._cli import Option

SUMMARY = "Set new kernel command line arguments in place (applies to all deployments by default)"
USAGE = "ARGS"
NEEDS_SYSROOT = True
OPTIONS = [Option("append-if-missing", kind="string-array", arg="NAME=VALUE",
                  help="Append kernel arguments if they do not exist")]


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError
    from ostree_py.sysroot.kargs import KernelArgs

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts)
    if not sr.deployments:
        raise OstreeError("Unable to find a deployment in sysroot")
    for d in list(sr.deployments):
        kargs = KernelArgs.from_string(d.bootconfig.get("options") if d.bootconfig else None)
        for a in opts.append_if_missing:
            kargs.append_if_missing(a)
        sr.set_kargs_in_place(d, str(kargs))
    return 0
