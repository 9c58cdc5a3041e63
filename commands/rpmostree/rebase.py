"""``rpm-ostree-py rebase REFSPEC [REVISION]``: follow another branch, keeping the layers."""

from typing import Annotated

import typer

USAGE = "REFSPEC [REVISION]"
NEEDS_OS = True


def options(
    branch: Annotated[str | None, typer.Option("--branch", "-b", metavar="BRANCH",
        help="Rebase to branch BRANCH; use --remote to change remote as well")] = None,
    remote: Annotated[str | None, typer.Option("--remote", "-m", metavar="REMOTE",
        help="Rebase to current branch name using REMOTE; may also be combined with --branch")] = None,
    reboot: Annotated[bool, typer.Option("--reboot", "-r",
        help="Initiate a reboot after operation is complete")] = False,
    skip_purge: Annotated[bool, typer.Option("--skip-purge",
        help="Keep previous refspec after rebase")] = False,
    cache_only: Annotated[bool, typer.Option("--cache-only", "-C",
        help="Do not download latest ostree and RPM data")] = False,
    download_only: Annotated[bool, typer.Option("--download-only",
        help="Just download latest ostree and RPM data, don't deploy")] = False,
    disallow_downgrade: Annotated[bool, typer.Option("--disallow-downgrade",
        help="Forbid deployment of chronologically older trees")] = False,
    lock_finalization: Annotated[bool, typer.Option("--lock-finalization",
        help="Prevent automatic deployment finalization on shutdown")] = False,
    install: Annotated[list[str], typer.Option("--install", metavar="PKG",
        help="Overlay additional package")] = [],
    uninstall: Annotated[list[str], typer.Option("--uninstall", metavar="PKG",
        help="Remove overlayed package")] = [],
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


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
