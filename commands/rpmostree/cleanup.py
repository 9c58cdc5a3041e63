"""``rpm-ostree-py cleanup``: drop pending/rollback deployments, unused cached packages and metadata."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_OS = True


def options(
    base: Annotated[bool, typer.Option("--base", "-b",
        help="Clear temporary files; will leave deployments unchanged")] = False,
    pending: Annotated[bool, typer.Option("--pending", "-p", help="Remove pending deployment")] = False,
    rollback: Annotated[bool, typer.Option("--rollback", "-r", help="Remove rollback deployment")] = False,
    repomd: Annotated[bool, typer.Option("--repomd", "-m", help="Delete cached rpm repo metadata")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    import os
    import shutil

    from ostree_py.errors import UsageError
    from ostree_py.rpmostree import syscore

    from . import _common
    if not (opts.base or opts.pending or opts.rollback or opts.repomd):
        raise UsageError("At least one cleanup option must be specified")
    sr = _common.open_sysroot(ctx)
    osname = _common.stateroot(sr, opts.os)
    mine = [d for d in sr.deployments if d.osname == osname]
    booted = sr.booted_deployment
    default = booted if booted is not None else (mine[0] if mine else None)
    drop = []
    if default is not None:
        idx = mine.index(default)
        if opts.pending:
            drop += [d for d in mine[:idx] if not d.is_pinned]
        if opts.rollback:
            drop += [d for d in mine[idx + 1:] if not d.is_pinned]
    base = opts.base
    if drop:
        keep = [d for d in sr.deployments if d not in drop]
        sr.write_deployments(keep, do_postclean=False)
        for d in drop:
            ctx.stdout.write(f"Deployment {d.csum}.{d.deployserial} removed\n")
        base = True     # as rpm-ostree: a changed deployment list falls through to the base cleanup
    elif opts.pending or opts.rollback:
        ctx.stdout.write("Deployments unchanged.\n")
    if base:
        syscore.cleanup(sr)
    if opts.repomd:
        d = sr.p(f"ostree/deploy/{osname}/var/cache/rpm-ostree/repomd")
        if os.path.isdir(d):
            shutil.rmtree(d)
    return 0
