"""``rpm-ostree-py reset``: drop layered packages, overrides and initramfs state."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_OS = True


def options(
    reboot: Annotated[bool, typer.Option("--reboot", "-r",
        help="Initiate a reboot after transaction is complete")] = False,
    overlays: Annotated[bool, typer.Option("--overlays", "-l",
        help="Remove all overlayed packages")] = False,
    overrides: Annotated[bool, typer.Option("--overrides", "-o", help="Remove all overrides")] = False,
    initramfs: Annotated[bool, typer.Option("--initramfs", "-i",
        help="Stop regenerating initramfs or tracking files")] = False,
    install: Annotated[list[str], typer.Option("--install", metavar="PKG",
        help="Overlay additional package")] = [],
    uninstall: Annotated[list[str], typer.Option("--uninstall", metavar="PKG",
        help="Remove overlayed package")] = [],
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import UsageError
    from ostree_py.rpmostree import core
    from ostree_py.rpmostree.origin import Origin

    from . import _common, _pkgops
    if args:
        raise UsageError("Too few or too many arguments")
    overlays, overrides, initramfs = opts.overlays, opts.overrides, opts.initramfs
    if not (overlays or overrides or initramfs):          # no selection: everything
        overlays = overrides = initramfs = True
    sr = _common.open_sysroot(ctx)
    osname = _common.stateroot(sr, opts.os)
    merge = _common.merge_deployment(sr, osname)
    current = Origin(merge.origin)
    # no pull, and no pin on a base commit: the deployment's own base
    origin = current.new_for_upgrade(keep_override=False)
    if initramfs:
        origin.set_regenerate_initramfs(False)
        origin.initramfs_etc = []
    if overlays:
        origin.requested, origin.requested_local, origin.requested_local_fileoverride = [], [], []
    if opts.uninstall:
        _pkgops.remove_requests(origin, opts.uninstall)
    local = []
    if opts.install:
        _c, local = _pkgops.add_requests(origin, opts.install)
    if overrides:
        origin.removals = []
        origin.replace_local = []
        origin.replace_repo = []
    if origin.to_keyfile().to_text() == current.new_for_upgrade(keep_override=True).to_keyfile().to_text():
        ctx.stdout.write("No change.\n")
        return 0
    base = core.base_of(sr.repo, merge.csum)
    # without packages to install, only cached data is used
    _common.deploy(ctx, sr, osname, merge, origin, base, local_paths=local, cache_only=not opts.install,
                   reboot=opts.reboot)
    return 0
