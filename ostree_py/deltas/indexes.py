"""Static delta indexes (``delta-indexes/TO[0:2]/TO[2:].index``).

An index is ``{"ostree.static-deltas": {DELTA-NAME: sha256(superblock)}}``
(a{sv}) listing every delta that leads to TO, so that a pull finds a delta
without the summary listing them all. Rebuilt by ``static-delta reindex`` and
``summary -u``; the code lives in ``ostree_py.repo.summary``, which writes the
summary's own ``ostree.static-deltas`` the same way.
"""

from ostree_py.core import gvariant
from ostree_py.errors import GVariantError
from ostree_py.core.gvariant import Variant


def list_indexes(repo) -> list[str]:
    """Target checksums that have an index file."""
    from ostree_py.repo.summary import list_static_delta_indexes
    return list_static_delta_indexes(repo)


def reindex(repo, to_commit: str | None = None) -> None:
    """ostree_repo_static_delta_reindex (sets ``core.indexed-deltas=true``)."""
    from ostree_py.repo.summary import static_delta_reindex
    if to_commit is not None:
        from ostree_py.core.objects import validate_checksum_string
        validate_checksum_string(to_commit)
    with repo.lock():
        static_delta_reindex(repo, to_commit)


def parse_index(data: bytes) -> dict:
    """{delta name: superblock digest} of an index file's bytes (empty if malformed)."""
    try:
        d = gvariant.deserialize("a{sv}", data)
    except GVariantError:
        return {}
    v = d.get("ostree.static-deltas")
    if not isinstance(v, Variant) or v.type != "a{sv}":
        return {}
    out = {}
    for name, dv in v.value.items():
        if isinstance(dv, Variant) and dv.type == "ay" and len(dv.value) == 32:
            out[name] = bytes(dv.value)
    return out
