"""The ``ostree-metadata`` commit that carries a collection repository's summary metadata.

The summary file itself is written by the store (``ostree_py.repo.summary``),
as core.auto-update-summary needs it whenever refs change.
"""

import os
import time

from ostree_py.core.ghash import variant_dict
from ostree_py.core.gvariant import Variant
from ostree_py.repo.summary import METADATA_REF


def write_metadata_commit(repo, additional_metadata: dict | None = None, timestamp: int | None = None,
                          sign=None) -> str:
    """Commit an empty tree to ``ostree-metadata`` carrying the summary metadata (collection repos).

    ``sign(checksum)``, if given, signs the new commit before the ref moves to it.
    """
    from ostree_py.ops.commit import write_commit
    from ostree_py.core.objects import DirMeta, DirTree
    from ostree_py.repo.reflist import write_ref
    cid = repo.collection_id
    old = repo.resolve_rev(METADATA_REF, True)
    md = variant_dict(additional_metadata or {}, [
        ("ostree.collection-binding", Variant("s", cid)),
        ("ostree.ref-binding", Variant("as", [METADATA_REF])),
    ])
    with repo.transaction():
        meta = repo.write_metadata("dirmeta", DirMeta(0, 0, 0o40755).to_bytes())
        tree = repo.write_metadata("dirtree", DirTree().to_bytes())
        if timestamp is None:
            env = os.environ.get("SOURCE_DATE_EPOCH")
            if env is not None:
                from ostree_py.core.timestamp import source_date_epoch
                timestamp = source_date_epoch(env)
            else:
                timestamp = int(time.time())
        csum = write_commit(repo, tree, meta, parent=old, subject="", body="", metadata=md,
                            timestamp=timestamp % (1 << 64))
        if sign is not None:
            sign(csum)
    write_ref(repo, None, METADATA_REF, csum, collection_id=cid)
    return csum
