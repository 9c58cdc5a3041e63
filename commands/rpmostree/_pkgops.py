"""Request changes shared by install, uninstall and upgrade --install/--uninstall."""

import os


def is_local_rpm(arg: str) -> bool:
    return arg.endswith(".rpm") and os.path.isfile(arg)


def add_requests(origin, pkgs, idempotent=False, force_replacefiles=False):
    """Add ``pkgs`` (names or local .rpm paths; with ``force_replacefiles`` local ones
    only, allowed to replace files of the tree); returns (changed, local paths)."""
    from ostree_py.rpmostree import RpmOstreeError
    from ostree_py.rpmostree import rpm as _rpm
    from ostree_py.rpmostree.core import sha256_file
    changed, local = False, []
    for p in pkgs:
        if is_local_rpm(p):
            hdr = _rpm.query_file(os.path.abspath(p))
            if hdr.nevra in origin.local_nevras:
                if idempotent:
                    continue
                raise RpmOstreeError(f"Package '{hdr.nevra}' is already layered")
            entry = f"{sha256_file(p)}:{hdr.nevra}"
            (origin.requested_local_fileoverride if force_replacefiles else origin.requested_local).append(entry)
            local.append(os.path.abspath(p))
            changed = True
            continue
        if force_replacefiles:
            raise RpmOstreeError("Non-local fileoverrides not implemented")
        if p in origin.requested:
            if idempotent:
                continue
            raise RpmOstreeError(f"Package/capability '{p}' is already requested")
        origin.requested.append(p)
        changed = True
    return changed, local


def remove_requests(origin, pkgs, idempotent=False, all_=False):
    from ostree_py.rpmostree import RpmOstreeError
    if all_:
        changed = bool(origin.requested or origin.requested_local or origin.requested_local_fileoverride)
        origin.requested, origin.requested_local, origin.requested_local_fileoverride = [], [], []
        return changed
    changed = False
    for p in pkgs:
        if p in origin.requested:
            origin.requested.remove(p)
            changed = True
            continue
        found = False
        for local in (origin.requested_local, origin.requested_local_fileoverride):
            match = [e for e in local
                     if e.partition(":")[2] == p or e.partition(":")[2].startswith(p + "-")
                     and e.partition(":")[2][len(p) + 1:][:1].isdigit()]
            for e in match:
                local.remove(e)
            found = found or bool(match)
        if found:
            changed = True
            continue
        if not idempotent:
            raise RpmOstreeError(f"Package/capability '{p}' is not currently requested")
    return changed
