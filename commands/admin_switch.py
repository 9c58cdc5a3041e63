"""``ostree-py admin switch``: change the origin to REFSPEC (or REMOTE:), pull and deploy it."""

from typing import Annotated

import typer

USAGE = "REFSPEC"
NEEDS_SYSROOT = True


def options(
    reboot: Annotated[bool, typer.Option("--reboot", "-r", help="Reboot after switching trees")] = False,
    os: Annotated[str | None, typer.Option("--os", metavar="OSNAME",
        help="Use a different operating system root than the current one")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError
    from ostree_py.core.objects import parse_refspec
    from ostree_py.sysroot import origin as _origin
    from ostree_py.sysroot.upgrader import Upgrader

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts)
    if not args:
        raise UsageError("REFSPEC must be specified")
    provided = args[0]
    up = Upgrader(sr, opts.os, ignore_unconfigured=True)
    origin_refspec = up.origin.get("origin", "refspec")
    origin_remote, origin_ref = parse_refspec(origin_refspec)
    if provided.endswith(":"):
        new_remote, new_ref = provided[:-1], origin_ref
    else:
        new_remote, new_ref = parse_refspec(provided)
    remote = new_remote or origin_remote
    new_refspec = f"{remote}:{new_ref}" if remote else new_ref
    if origin_refspec == new_refspec:
        raise OstreeError(f"Old and new refs are equal: {new_refspec}")
    up.set_origin(_origin.new_from_refspec(new_refspec))
    up.pull(allow_older=True)
    up.deploy()
    repo = sr.repo
    ctx.stdout.write(f"Deleting ref '{origin_remote or '(null)'}:{origin_ref}'\n")
    with repo.transaction():
        try:
            repo.set_ref(origin_ref, None, origin_remote)
        except OstreeError:
            pass
    if opts.reboot:
        from .admin_upgrade import reboot
        reboot(ctx, sr)
    return 0
