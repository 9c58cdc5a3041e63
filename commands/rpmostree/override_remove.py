"""``rpm-ostree-py override remove PACKAGE...``: leave base packages out of the tree."""

from .._cli import Option

SUMMARY = "Remove packages from the base layer"
USAGE = "PACKAGE [PACKAGE...]"
NEEDS_OS = True
OPTIONS = [
    Option("reboot", "r", help="Initiate a reboot after operation is complete"),
    Option("dry-run", "n", help="Exit after printing the transaction"),
    Option("lock-finalization", help="Prevent automatic deployment finalization on shutdown"),
    Option("cache-only", "C", help="Only operate on cached data"),
    Option("install", kind="string-array", arg="PKG", help="Overlay additional package"),
    Option("uninstall", kind="string-array", arg="PKG", help="Remove overlayed package"),
    Option("replace", kind="string-array", arg="RPM", help="Replace a package"),
]


def run(ctx, opts, args):
    from ostree_py.errors import UsageError

    from ._override import change
    if not args:
        raise UsageError("At least one PACKAGE must be specified")
    return change(ctx, opts, add=args, replace=opts.replace)
