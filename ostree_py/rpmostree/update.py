"""The cached update: what ``upgrade --check`` / ``--preview`` found, as rpm-ostree keeps it.

rpm-ostree writes an ``a{sv}`` GVariant to ``/var/cache/rpm-ostree/cached-update.gv``
(the stateroot's /var here): the new base commit's details (``checksum``,
``version``, ``timestamp``, ``origin``, ``ref-has-new-commit``), an ``rpm-diff``
(``upgraded``/``downgraded`` as ``a(us(ss)(ss))``, ``removed``/``added`` as
``a(usss)``; the ``u`` is 0 for base packages, 1 for layered ones) and
``update-sha256``, the checksum of the deployment it was computed against: the
booted one (on a sysroot that is not booted, the stateroot's default one). It is
stale, and dropped, once that deployment is no longer the reference. No update,
no file.
"""

import os

from ostree_py.errors import OstreeError
from ostree_py.core.gvariant import Variant, deserialize, serialize
from ostree_py.rpmostree import core

CACHE_REL = "var/cache/rpm-ostree/cached-update.gv"
MAX_SIZE = 10 * 1024 * 1024          # OSTREE_MAX_METADATA_SIZE
PKG_TYPE_BASE, PKG_TYPE_LAYER = 0, 1


def cache_path(sysroot, osname: str) -> str:
    return sysroot.p(f"ostree/deploy/{osname}/{CACHE_REL}")


def reference_deployment(sysroot, osname: str):
    """The deployment updates are computed against: the booted one, else the default one."""
    b = sysroot.booted_deployment
    if b is not None and b.osname == osname:
        return b
    return next((d for d in sysroot.deployments if d.osname == osname), None)


def load_cached(sysroot, osname: str) -> dict | None:
    """The cached update still valid for the reference deployment (a stale one is deleted)."""
    path = cache_path(sysroot, osname)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SIZE + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise core.RpmOstreeError(f"Reading {CACHE_REL}: {os.strerror(e.errno)}") from None
    if len(data) > MAX_SIZE:
        raise core.RpmOstreeError(f"{CACHE_REL} is larger than {MAX_SIZE} bytes")
    try:
        update = deserialize("a{sv}", data)
    except OstreeError:
        update = None
    ref = reference_deployment(sysroot, osname)
    state = update.get("update-sha256") if update else None
    if ref is None or state is None or getattr(state, "value", state) != ref.csum:
        os.unlink(path)
        return None
    return update


def write_cached(sysroot, osname: str, update: dict | None) -> None:
    """Replace the cached update (removed when ``update`` is None)."""
    from ostree_py.util.fs import write_atomic
    path = cache_path(sysroot, osname)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    if update is None:
        return
    os.makedirs(os.path.dirname(path), mode=0o775, exist_ok=True)
    write_atomic(path, serialize("a{sv}", update), chmod=True)


def _evr(t) -> str:
    return (f"{t[1]}:" if t[1] else "") + f"{t[2]}-{t[3]}"


def generate(sysroot, osname: str, newer_layered=()) -> dict | None:
    """The update of ``osname``'s reference deployment: its origin's ref if it moved (a
    base diff), and ``newer_layered`` [(old pkglist tuple, new evr, new arch)] found in
    the rpm-md repos; None when there is nothing new."""
    from ostree_py.core.objects import is_checksum
    from ostree_py.rpmostree.origin import Origin
    repo = sysroot.repo
    ref = reference_deployment(sysroot, osname)
    if ref is None:
        return None
    origin = Origin(ref.origin)
    current_base = core.base_of(repo, ref.csum)
    new_base = None
    if not is_checksum(origin.refspec):
        new_base = repo.resolve_rev(origin.refspec, allow_noent=True)
    if new_base is None:
        new_base = current_base
    is_new = new_base != current_base
    commit = repo.load_commit(new_base)
    u = {"osname": Variant("s", osname), "checksum": Variant("s", new_base)}
    v = commit.metadata.get("version")
    if v is not None:
        u["version"] = Variant("s", getattr(v, "value", v))
    if commit.timestamp > 0:
        u["timestamp"] = Variant("t", commit.timestamp)
    u["origin"] = Variant("s", origin.refspec)
    u["ref-has-new-commit"] = Variant("b", is_new)
    upgraded, downgraded, removed, added = [], [], [], []
    if is_new:
        up, down, rm, add = core.diff_pkglists(core.pkglist(repo, current_base), core.pkglist(repo, new_base))
        upgraded += [(PKG_TYPE_BASE, a[0], (_evr(a), a[4]), (_evr(b), b[4])) for a, b in up]
        downgraded += [(PKG_TYPE_BASE, a[0], (_evr(a), a[4]), (_evr(b), b[4])) for a, b in down]
        removed += [(PKG_TYPE_BASE, t[0], _evr(t), t[4]) for t in rm]
        added += [(PKG_TYPE_BASE, t[0], _evr(t), t[4]) for t in add]
    upgraded += [(PKG_TYPE_LAYER, old[0], (_evr(old), old[4]), (evr, arch)) for old, evr, arch in newer_layered]
    if upgraded or downgraded or removed or added:
        def by_name(x):
            return sorted(x, key=lambda e: e[1])
        u["rpm-diff"] = Variant("a{sv}", {
            "upgraded": Variant("a(us(ss)(ss))", by_name(upgraded)),
            "downgraded": Variant("a(us(ss)(ss))", by_name(downgraded)),
            "removed": Variant("a(usss)", by_name(removed)),
            "added": Variant("a(usss)", by_name(added)),
        })
    if not (is_new or newer_layered):
        return None
    u["update-sha256"] = Variant("s", ref.csum)
    return u


def value(update: dict, key: str, default=None):
    v = update.get(key)
    return default if v is None else getattr(v, "value", v)
