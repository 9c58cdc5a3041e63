"""``rpm-ostree-py refresh-md``: bring the rpm-md metadata cache of the stateroot up to date."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_OS = True


def options(
    force: Annotated[bool, typer.Option("--force", "-f", help="Expire current cache")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import UsageError
    from ostree_py.rpmostree import core

    from . import _common
    if args:
        raise UsageError("Too few or too many arguments")
    sr = _common.open_sysroot(ctx)
    osname = _common.stateroot(sr, opts.os)
    merge = _common.merge_deployment(sr, osname)
    core.refresh_metadata(sr, osname, sr.deployment_dirpath(merge), _common.reporter(ctx), force=opts.force)
    return 0
