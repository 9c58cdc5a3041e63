"""``rpm-ostree-py rebase REFSPEC [REVISION]``: follow another branch, keeping the layers."""

from .._cli import Option

SUMMARY = "Switch to a different tree"
USAGE = "REFSPEC [REVISION]"
NEEDS_OS = True
OPTIONS = [
    Option("branch", "b", kind="string", arg="BRANCH", help="Rebase to branch BRANCH; use --remote to change remote as well"),
    Option("remote", "m", kind="string", arg="REMOTE", help="Rebase to current branch name using REMOTE; may also be combined with --branch"),
    Option("reboot", "r", help="Initiate a reboot after operation is complete"),
    Option("skip-purge", help="Keep previous refspec after rebase"),
    Option("cache-only", "C", help="Do not download latest ostree and RPM data"),
    Option("download-only", help="Just download latest ostree and RPM data, don't deploy"),
    Option("disallow-downgrade", help="Forbid deployment of chronologically older trees"),
    Option("lock-finalization", help="Prevent automatic deployment finalization on shutdown"),
    Option("install", kind="string-array", arg="PKG", help="Overlay additional package"),
    Option("uninstall", kind="string-array", arg="PKG", help="Remove overlayed package"),
]


def run(ctx, opts, args):
    from ostree_py.errors import UsageError
    from ostree_py.core.objects import parse_refspec
    from ostree_py.rpmostree.origin import Origin

    from . import _common
    from .deploy import change_base
    if not args and not (opts.branch or opts.remote):
        raise UsageError("Must specify refspec")
    if len(args) > 2:
        raise UsageError("Too many arguments")
    sr = _common.open_sysroot(ctx, lock=False)
    osname = _common.stateroot(sr, opts.os)
    cur_remote, cur_ref = parse_refspec(Origin(_common.merge_deployment(sr, osname).origin).refspec)
    sr.unlock()
    if args:
        new = args[0]
        if new.endswith(":"):
            remote, ref = new[:-1], cur_ref
        elif ":" in new:
            remote, ref = parse_refspec(new)
        else:
            remote, ref = cur_remote, new
    else:
        remote, ref = cur_remote, cur_ref
    if opts.branch:
        ref = opts.branch
    if opts.remote:
        remote = opts.remote
    refspec = f"{remote}:{ref}" if remote else ref
    return change_base(ctx, opts, refspec, args[1] if len(args) > 1 else None)
