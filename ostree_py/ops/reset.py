"""``ostree reset``: move an existing ref to any resolvable commit.

Like the reference (2022.7), the target need not be an ancestor of the ref's
current commit: test-reset-nonlinear.sh resets a branch to an unrelated one.
"""

from ostree_py.errors import OstreeError
from ostree_py.core.objects import parse_refspec


def reset_ref(repo, ref: str, target: str) -> str:
    """Point the existing ``ref`` (REF or REMOTE:REF) at ``target``; return the checksum."""
    if ref not in repo.list_refs():
        raise OstreeError(f"Invalid ref '{ref}'")
    checksum = repo.resolve_rev(target)
    remote, name = parse_refspec(ref)
    with repo.transaction():
        repo.set_ref(name, checksum, remote)
    return checksum
