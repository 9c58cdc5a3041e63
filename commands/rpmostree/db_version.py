"""``rpm-ostree-py db version COMMIT...``: the rpmdb version of commits."""

from typing import Annotated

import typer

USAGE = "COMMIT..."


def options(
    repo: Annotated[str | None, typer.Option("--repo", "-r", metavar="PATH",
        help="Path to OSTree repository (defaults to /sysroot/ostree/repo)")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.rpmostree import core

    from . import _db
    repo, _sr = _db.open_repo(ctx, opts)
    for rev in args:
        csum = _db.resolve(repo, rev)
        ctx.stdout.write(f"ostree commit: {_db.label(rev, csum)}\n")
        ctx.stdout.write(f"  rpmdbv is: {core.rpmdb_version(repo, csum):>66}\n")
    return 0
