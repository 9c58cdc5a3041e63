"""``rpm-ostree-py override replace PACKAGE...``: replace base packages by local RPMs
(or, with ``--experimental --from repo=NAME``, by that repo's packages of the same names)."""

from .._cli import Option

SUMMARY = "Replace packages in the base layer"
USAGE = "PACKAGE [PACKAGE...]"
NEEDS_OS = True
OPTIONS = [
    Option("remove", kind="string-array", arg="PKG", help="Remove a package"),
    Option("experimental", hidden=True, help="Allow experimental options such as --from"),
    Option("from", kind="string", arg="KIND=NAME", hidden=True, help="Source of override", dest="from_repo"),
    Option("reboot", "r", help="Initiate a reboot after operation is complete"),
    Option("dry-run", "n", help="Exit after printing the transaction"),
    Option("cache-only", "C", help="Only operate on cached data"),
    Option("lock-finalization", help="Prevent automatic deployment finalization on shutdown"),
    Option("install", kind="string-array", arg="PKG", help="Overlay additional package"),
    Option("uninstall", kind="string-array", arg="PKG", help="Remove overlayed package"),
]


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError

    from ._override import change
    if not args:
        raise UsageError("At least one PACKAGE must be specified")
    from_repo = opts.from_repo
    if from_repo is not None and not opts.experimental:
        raise OstreeError("Must specify --experimental to use --freeze or --from")
    return change(ctx, opts, add=opts.remove, replace=args, from_repo=from_repo)
