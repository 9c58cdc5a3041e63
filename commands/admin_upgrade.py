"""``ostree-py admin upgrade``: pull the deployment's origin and deploy it if it changed."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_SYSROOT = True


def options(
    os: Annotated[str | None, typer.Option("--os", metavar="OSNAME",
        help="Use a different operating system root than the current one")] = None,
    reboot: Annotated[bool, typer.Option("--reboot", "-r",
        help="Reboot after a successful upgrade")] = False,
    allow_downgrade: Annotated[bool, typer.Option("--allow-downgrade",
        help="Permit deployment of chronologically older trees")] = False,
    override_commit: Annotated[str | None, typer.Option("--override-commit", metavar="CHECKSUM",
        help="Deploy CHECKSUM instead of the latest tree")] = None,
    pull_only: Annotated[bool, typer.Option("--pull-only",
        help="Do not create a deployment, just download")] = False,
    deploy_only: Annotated[bool, typer.Option("--deploy-only", help="Do not pull, only deploy")] = False,
    stage: Annotated[bool, typer.Option("--stage",
        help="Enable staging (finalization at reboot time)")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def reboot(ctx, sr):
    """``systemctl reboot``, only on a booted ostree system (never from a build script or container)."""
    if sr.booted_deployment is None:
        return
    import os

    from ostree_py.errors import OstreeError
    try:
        os.execvp("systemctl", ["systemctl", "reboot"])
    except OSError as e:
        raise OstreeError(f"execve(systemctl reboot): {os.strerror(e.errno)}") from None


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError
    from ostree_py.sysroot import origin as _origin
    from ostree_py.sysroot.upgrader import Upgrader

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts)
    if opts.pull_only and opts.deploy_only:
        raise OstreeError("Cannot simultaneously specify --pull-only and --deploy-only")
    if opts.pull_only and opts.reboot:
        raise OstreeError("Cannot simultaneously specify --pull-only and --reboot")
    up = Upgrader(sr, opts.os, stage=opts.stage)
    origin = up.dup_origin()
    _origin.remove_transient_state(origin)
    if opts.override_commit is not None:
        origin.set("origin", "override-commit", opts.override_commit)
    up.set_origin(origin)
    try:
        changed = up.pull(synthetic=opts.deploy_only, allow_older=opts.allow_downgrade)
    except OstreeError:
        if opts.pull_only:
            try:
                sr.cleanup()
            except OstreeError:
                pass
        raise
    if not changed:
        ctx.stdout.write("No update available.\n")
        return 0
    if not opts.pull_only:
        up.deploy()
    if opts.reboot:
        reboot(ctx, sr)
    return 0
