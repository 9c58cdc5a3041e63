"""``rpm-ostree-py db version COMMIT...``: the rpmdb version of commits."""

from .._cli import Option

SUMMARY = "Show rpmdb version of packages within the commits"
USAGE = "COMMIT..."
OPTIONS = [
    Option("repo", "r", kind="string", arg="PATH", help="Path to OSTree repository (defaults to /sysroot/ostree/repo)"),
]


def run(ctx, opts, args):
    from ostree_py.rpmostree import core

    from . import _db
    repo, _sr = _db.open_repo(ctx, opts)
    for rev in args:
        csum = _db.resolve(repo, rev)
        ctx.stdout.write(f"ostree commit: {_db.label(rev, csum)}\n")
        ctx.stdout.write(f"  rpmdbv is: {core.rpmdb_version(repo, csum):>66}\n")
    return 0
