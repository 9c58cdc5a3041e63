"""``rpm-ostree-py reset``: drop layered packages, overrides and initramfs state."""

from .._cli import Option

SUMMARY = "Remove all mutations"
USAGE = ""
NEEDS_OS = True
OPTIONS = [
    Option("reboot", "r", help="Initiate a reboot after transaction is complete"),
    Option("overlays", "l", help="Remove all overlayed packages"),
    Option("overrides", "o", help="Remove all overrides"),
    Option("initramfs", "i", help="Stop regenerating initramfs or tracking files"),
    Option("install", kind="string-array", arg="PKG", help="Overlay additional package"),
    Option("uninstall", kind="string-array", arg="PKG", help="Remove overlayed package"),
]


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
