"""``rpm-ostree-py override reset PACKAGE...``: bring removed base packages back."""

from .._cli import Option

SUMMARY = "Reset currently active package overrides"
USAGE = "PACKAGE [PACKAGE...]"
NEEDS_OS = True
OPTIONS = [
    Option("all", "a", help="Reset all active overrides"),
    Option("reboot", "r", help="Initiate a reboot after operation is complete"),
    Option("dry-run", "n", help="Exit after printing the transaction"),
    Option("lock-finalization", help="Prevent automatic deployment finalization on shutdown"),
    Option("cache-only", "C", help="Only operate on cached data"),
    Option("install", kind="string-array", arg="PKG", help="Overlay additional package"),
    Option("uninstall", kind="string-array", arg="PKG", help="Remove overlayed package"),
]


def run(ctx, opts, args):
    from ostree_py.errors import UsageError

    from ._override import change
    if not args and not opts.all:
        raise UsageError("At least one PACKAGE must be specified")
    return change(ctx, opts, drop=args, all_=opts.all)
