"""A commit's history as ``ostree log`` prints it.

Each commit is shown as ``show`` shows it (or raw); the walk follows parent
links until a commit has none, or its parent is not in the repository
(``<< History beyond this commit not fetched >>``, as after a shallow pull).
A parent chain that comes back to a commit already shown (only possible with
corrupted objects) is an error rather than an endless loop.
"""

from ostree_py.ops.dump import DumpError, object_text
from ostree_py.errors import ObjectNotFoundError, OstreeError

HISTORY_NOT_FETCHED = "<< History beyond this commit not fetched >>\n"


def iter_log(repo, checksum: str, raw: bool = False):
    """Yield the text of each commit from ``checksum`` back through its parents."""
    seen = set()
    first = True
    while checksum:
        if checksum in seen:
            raise OstreeError(f"Commit history of {checksum} loops back on itself")
        seen.add(checksum)
        try:
            data = repo.load_metadata_bytes("commit", checksum)
        except ObjectNotFoundError:
            if first:
                raise
            yield HISTORY_NOT_FETCHED
            return
        first = False
        commit = _parse(checksum, data)
        try:
            text = object_text("commit", checksum, data, raw=raw)
        except DumpError as e:
            yield e.partial
            raise
        yield text
        checksum = commit.parent


def _parse(checksum, data):
    from ostree_py.core.objects import Commit
    try:
        return Commit.from_bytes(data)
    except OstreeError as e:
        raise OstreeError(f"Corrupted commit object {checksum}: {e.message}") from None
