"""``rpm-ostree-py db list REV... [PREFIX-PKGNAME...]``: the packages of commits."""

from typing import Annotated

import typer

USAGE = "REV... [PREFIX-PKGNAME...]"


def options(
    repo: Annotated[str | None, typer.Option("--repo", "-r", metavar="PATH",
        help="Path to OSTree repository (defaults to /sysroot/ostree/repo)")] = None,
    advisories: Annotated[bool, typer.Option("--advisories", "-a", help="Also list advisories")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import UsageError
    from ostree_py.rpmostree import core

    from . import _db
    if not args:
        raise UsageError("Not enough arguments, expected REV...")
    repo, _sr = _db.open_repo(ctx, opts)
    # as rpm-ostree: the arguments up to the first that is not a revision are revisions,
    # the rest patterns
    revs, patterns = [], []
    for a in args:
        if not patterns and repo.resolve_rev(a, allow_noent=True) is not None:
            revs.append(a)
        else:
            patterns.append(a)
    if not revs:
        raise UsageError("Not enough arguments, expected REV...")
    import fnmatch
    for rev in revs:
        csum = _db.resolve(repo, rev)
        ctx.stdout.write(f"ostree commit: {_db.label(rev, csum)}\n")
        for t in core.pkglist(repo, csum):
            if patterns and not any(fnmatch.fnmatch(t[0], p) or t[0].startswith(p) for p in patterns):
                continue
            ctx.stdout.write(f" {core.nevra_str(t)}\n")
    return 0
