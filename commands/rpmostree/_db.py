"""What db diff and db list share: the repo (--repo or the sysroot's) and revisions."""


def open_repo(ctx, opts):
    from ostree_py.repo import Repo
    if getattr(opts, "repo", None):
        return Repo.open(opts.repo), None
    from . import _common
    sr = _common.open_sysroot(ctx, lock=False)
    return sr.repo, sr


def resolve(repo, rev):
    from ostree_py.rpmostree import RpmOstreeError
    csum = repo.resolve_rev(rev, allow_noent=True)
    if csum is None:
        raise RpmOstreeError(f"Refspec '{rev}' not found")
    return csum


def label(rev, csum) -> str:
    """``REV (CHECKSUM)``, or just the checksum when that is what was given."""
    return rev if rev == csum else f"{rev} ({csum})"
