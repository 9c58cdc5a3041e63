"""The container image store: OCI images pulled into a repository, layer by layer.

As ostree-ext stores them:

- each layer is a commit under ``ostree/container/blob/<escaped digest>``
  (refescape): the image's ostree commit layer is the commit it carries; a
  chunk layer (content objects only) is a commit of a flat tree naming each
  object by its checksum (root-owned 0755 directory, timestamp 0); a derived
  layer (a plain filesystem tar, e.g. a Containerfile's ``RUN``) is its tree,
  with ``etc/`` moved to ``usr/etc/``, ``var/`` to ``usr/share/factory/var/``,
  the children of ``run tmp proc sys dev`` dropped and, on an ostree base,
  every other top-level path outside ``usr`` dropped; its whiteouts
  (``.wh.NAME``, ``.wh..wh..opq``) kept as files;
- the image is a merge commit under ``ostree/container/image/<escaped imgref>``:
  the ostree commit's tree (or nothing) with each derived layer laid over it
  (whiteouts applied; empty ``usr/etc/hostname`` and ``usr/etc/resolv.conf``
  removed), its parent the ostree commit, its timestamp the manifest's or
  config's creation time, and in its metadata ``ostree.manifest-digest``,
  ``ostree.manifest`` and ``ostree.container.image-config`` (canonical JSON).

A pull reads the image's manifest and config first and fetches only the
layers whose blob ref is missing (``open_layer`` fetches lazily, so a stored
layer is never read again). Each layer lands in a transaction of its own,
its digest and diff_id checked before that transaction ends, and its ref is
written right after: an interrupted pull keeps the layers it finished and
resumes from there; a refused layer leaves nothing.

The source is anything with the reader interface of ``oci.OciImage``:
``manifest``, ``manifest_digest``, ``config``, ``layers`` (descriptors),
``diff_ids``, ``labels`` and ``open_layer(i)`` (a context manager yielding
the uncompressed stream, whose ``finish()`` checks it); ``oci.open_image``
gives one for an image reference.
"""

from __future__ import annotations

import calendar
import json
import stat
import time
from dataclasses import dataclass, field

from ostree_py.container.encapsulate import DIFFID_LABEL
from ostree_py.container.imgref import REMOTE, SIGNED, ImageReference, OstreeImageReference
from ostree_py.container.oci import open_image
from ostree_py.container.refescape import prefix_escape_for_ref, unprefix_unescape_ref
from ostree_py.container.tar_import import import_commit_tar, import_object_set_tar
from ostree_py.core.gvariant import Variant
from ostree_py.core.objects import DirMeta
from ostree_py.errors import ContainerError, OstreeError

LAYER_PREFIX = "ostree/container/blob"
IMAGE_PREFIX = "ostree/container/image"
META_MANIFEST_DIGEST = "ostree.manifest-digest"
META_MANIFEST = "ostree.manifest"
META_CONFIG = "ostree.container.image-config"
META_IMPORTER_VERSION = "ostree.importer.version"
# the refs of deployments (ostree's and rpm-ostree's): their images' layers stay
DEPLOYMENT_REF_PREFIXES = ("ostree/0", "ostree/1", "rpmostree/base")

EXCLUDED_TOPLEVEL = ("run", "tmp", "proc", "sys", "dev")
RUNTIME_INJECTED = ("usr/etc/hostname", "usr/etc/resolv.conf")
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


def canon_json(obj) -> str:
    """Canonical JSON (sorted keys, no spaces), as ostree-ext stores manifests and configs."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def ref_for_blob(digest: str) -> str:
    """``ostree/container/blob/sha256_3A_...`` for a layer digest."""
    return prefix_escape_for_ref(LAYER_PREFIX, digest)


def ref_for_image(imgref: ImageReference) -> str:
    """``ostree/container/image/...`` for an image reference (as it prints)."""
    return prefix_escape_for_ref(IMAGE_PREFIX, str(imgref))


def _imgref(imgref) -> ImageReference:
    return imgref if isinstance(imgref, ImageReference) else ImageReference.parse(imgref)


# ---------------------------------------------------------------- querying

@dataclass
class ImageState:
    """A stored image: its merge commit, the ostree commit below it, manifest and config."""

    merge_commit: str
    base_commit: str | None
    manifest_digest: str
    manifest: dict
    config: dict


def _meta_str(metadata: dict, key: str) -> str | None:
    v = metadata.get(key)
    v = v.value if isinstance(v, Variant) else v
    return v if isinstance(v, str) else None


def image_state_of_commit(repo, commit: str) -> ImageState:
    """The ImageState of a merge commit; ContainerError if it is not one."""
    c = repo.load_commit(commit)
    digest = _meta_str(c.metadata, META_MANIFEST_DIGEST)
    if digest is None:
        raise ContainerError(f"Missing {META_MANIFEST_DIGEST} metadata on merge commit")
    manifest_text = _meta_str(c.metadata, META_MANIFEST)
    if manifest_text is None:
        raise ContainerError(f"Failed to find {META_MANIFEST} metadata key")
    try:
        manifest = json.loads(manifest_text)
        config_text = _meta_str(c.metadata, META_CONFIG)
        config = json.loads(config_text) if config_text not in (None, "null") else {}
    except ValueError:
        raise ContainerError(f"Invalid JSON in the metadata of commit {commit}") from None
    if not isinstance(manifest, dict) or not isinstance(config, dict):
        raise ContainerError(f"Invalid manifest or config in the metadata of commit {commit}")
    return ImageState(commit, c.parent, digest, manifest, config)


def query_image(repo, imgref) -> ImageState | None:
    """The stored image ``imgref`` (ImageReference or its string), or None."""
    commit = repo.resolve_rev(ref_for_image(_imgref(imgref)), allow_noent=True)
    return image_state_of_commit(repo, commit) if commit else None


def list_images(repo) -> list[str]:
    """The image references stored, sorted by ref."""
    return [unprefix_unescape_ref(IMAGE_PREFIX, r) for r in sorted(repo.list_refs(IMAGE_PREFIX))]


def image_history(state: ImageState) -> list[tuple[str, int, str]]:
    """(layer digest, size, created_by) of each layer, the config's history entries in order
    (empty-layer entries skipped, as they describe no layer)."""
    history = [h for h in (state.config.get("history") or [])
               if isinstance(h, dict) and not h.get("empty_layer")]
    out = []
    for i, layer in enumerate(state.manifest.get("layers") or []):
        h = history[i] if i < len(history) else {}
        out.append((str(layer.get("digest", "")), int(layer.get("size", 0)),
                    str(h.get("created_by") or "")))
    return out


# ---------------------------------------------------------------- removing

def remove_images(repo, imgrefs) -> int:
    """Remove the stored images (their refs; layers stay until gc_image_layers). Every
    image present is removed; then ContainerError names the missing ones, if any."""
    missing = []
    n = 0
    for ir in imgrefs:
        ref = ref_for_image(_imgref(ir))
        if repo.resolve_rev(ref, allow_noent=True):
            repo.set_ref(ref, None)
            n += 1
        else:
            missing.append(str(_imgref(ir)))
    if missing:
        raise ContainerError(f"Missing images: {''.join(missing)}")
    return n


def _deployment_manifests(repo) -> list[dict]:
    out = []
    for prefix in DEPLOYMENT_REF_PREFIXES:
        for _, commit in sorted(repo.list_refs(prefix).items()):
            try:
                c = repo.load_commit(commit)
            except OstreeError:
                continue
            text = _meta_str(c.metadata, META_MANIFEST)
            if text is not None:
                try:
                    out.append(json.loads(text))
                except ValueError:
                    continue
    return out


def gc_image_layers(repo) -> int:
    """Remove the refs of layers no stored image (nor deployment) uses; how many.
    Their objects stay until a prune."""
    referenced = set()
    manifests = [query_image(repo, ir).manifest for ir in list_images(repo)]
    for m in manifests + _deployment_manifests(repo):
        for layer in m.get("layers") or []:
            if isinstance(layer, dict):
                referenced.add(layer.get("digest"))
    n = 0
    for ref in sorted(repo.list_refs(LAYER_PREFIX)):
        if unprefix_unescape_ref(LAYER_PREFIX, ref) not in referenced:
            repo.set_ref(ref, None)
            n += 1
    return n


def remove_undeployed_images(repo, deployed_imgrefs) -> list[str]:
    """Remove the stored images that no deployment's origin names (``deployed_imgrefs``,
    the image references of container-image-reference origins); the removed ones."""
    keep = set()
    for text in deployed_imgrefs:
        try:
            keep.add(str(OstreeImageReference.parse(text).imgref))
        except ContainerError:
            continue
    removed = [ir for ir in list_images(repo) if ir not in keep]
    remove_images(repo, removed)
    return removed


# ---------------------------------------------------------------- pulling

@dataclass
class LayerState:
    """One layer of a pull: its descriptor, blob ref and stored commit (None: to fetch)."""

    index: int
    descriptor: dict
    ref: str
    commit: str | None
    created_by: str = ""

    @property
    def digest(self) -> str:
        return self.descriptor["digest"]

    @property
    def size(self) -> int:
        return self.descriptor["size"]


@dataclass
class PreparedPull:
    """What a pull will do: the image's layers split as ostree-ext splits them."""

    manifest_digest: str
    manifest: dict
    config: dict
    commit_layer: LayerState | None
    chunk_layers: list[LayerState]
    derived_layers: list[LayerState]
    previous: ImageState | None

    def all_layers(self) -> list[LayerState]:
        first = [self.commit_layer] if self.commit_layer is not None else []
        return first + self.chunk_layers + self.derived_layers

    def layer_status(self) -> str | None:
        """``layers already present: N; layers needed: M (SIZE)``, or None if none needed."""
        from ostree_py.util.text import format_size
        layers = self.all_layers()
        needed = [ly for ly in layers if ly.commit is None]
        if not needed:
            return None
        return (f"layers already present: {len(layers) - len(needed)}; layers needed: "
                f"{len(needed)} ({format_size(sum(ly.size for ly in needed))})")


@dataclass
class ManifestDiff:
    """Layers of ``to`` not in ``from`` (added) and the reverse (removed), with sizes."""

    total: int
    total_size: int
    n_removed: int
    removed_size: int
    n_added: int
    added_size: int

    @classmethod
    def of(cls, old: dict, new: dict) -> "ManifestDiff":
        def layers(m):
            return {ly.get("digest"): int(ly.get("size", 0)) for ly in m.get("layers") or []
                    if isinstance(ly, dict)}
        a, b = layers(old), layers(new)
        removed = [d for d in a if d not in b]
        added = [d for d in b if d not in a]
        return cls(len(b), sum(b.values()), len(removed), sum(a[d] for d in removed),
                   len(added), sum(b[d] for d in added))


@dataclass
class PullResult:
    """A pull's outcome: the merge commit; whether the image was there already; the
    layers fetched (digests, in order); the diff against the image stored before."""

    imgref: str
    merge_commit: str
    already_present: bool
    prepared: PreparedPull | None = None
    fetched: list[str] = field(default_factory=list)
    diff: ManifestDiff | None = None


def _layout(img) -> tuple[int | None, list[int], list[int]]:
    """(ostree commit layer index or None, chunk layer indices, derived layer indices)."""
    n = len(img.layers)
    if n == 0:
        raise ContainerError("No layers in manifest")
    final = img.labels.get(DIFFID_LABEL)
    if final is None:
        return None, [], list(range(n))
    if final not in img.diff_ids:
        raise ContainerError(f"Missing {DIFFID_LABEL} {final}")
    target = img.diff_ids.index(final)
    return 0, list(range(1, target + 1)), list(range(target + 1, n))


def prepare_pull(repo, img) -> PreparedPull:
    """Split the image's layers and find the ones stored already."""
    base, chunks, derived = _layout(img)
    history = [h for h in (img.config.get("history") or [])
               if isinstance(h, dict) and not h.get("empty_layer")]

    def state(i: int) -> LayerState:
        desc = img.layers[i]
        ref = ref_for_blob(desc["digest"])
        commit = repo.resolve_rev(ref, allow_noent=True)
        h = history[i] if i < len(history) else {}
        return LayerState(i, desc, ref, commit, str(h.get("created_by") or ""))

    return PreparedPull(img.manifest_digest, img.manifest, img.config,
                        state(base) if base is not None else None,
                        [state(i) for i in chunks], [state(i) for i in derived], None)


def _object_set_commit(repo, objects) -> str:
    """The commit ostree-ext writes for a chunk layer: a flat tree of its objects."""
    from ostree_py.core.objects import DirTree
    from ostree_py.ops.commit import write_commit
    meta = repo.write_metadata("dirmeta", DirMeta(0, 0, stat.S_IFDIR | 0o755, []).to_bytes())
    tree = repo.write_metadata("dirtree", DirTree(sorted((c, c) for c in set(objects)), []).to_bytes())
    return write_commit(repo, tree, meta, timestamp=0)


def _normalize_layer_path(path: str, allow_nonusr: bool) -> str | None:
    """A derived layer's path as it is stored (module docstring), or None to drop it."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ContainerError(f"Invalid path: {path}")
    if not parts:
        return "."
    top, rest = parts[0], parts[1:]
    if top == "usr":
        pass
    elif top == "etc":
        top = "usr/etc"
    elif top == "var":
        top = "usr/share/factory/var"
    elif top in EXCLUDED_TOPLEVEL:
        if rest:
            return None
    elif not allow_nonusr:
        return None
    return "/".join([top] + rest)


def _derived_layer_commit(repo, stream, allow_nonusr: bool) -> str:
    """Import a plain filesystem layer as a commit (module docstring)."""
    from ostree_py.ops.archive_input import ArchiveError, open_archive
    from ostree_py.ops.commit import CommitBuilder, MutableTree, write_commit

    def entries():
        for e in open_archive(stream, "layer"):
            p = _normalize_layer_path(e.path, allow_nonusr)
            if p is None:
                continue
            e.path = p
            if e.hardlink is not None:
                e.hardlink = _normalize_layer_path(e.hardlink, allow_nonusr)
                if e.hardlink is None:
                    raise ContainerError(f"Hardlink {p} to a path that is dropped")
            yield e

    mtree = MutableTree()
    try:
        with CommitBuilder(repo) as b:
            b.write_archive_to_mtree(mtree, entries(), autocreate_parents=True)
            tree, meta = b.write_mtree(mtree)
    except ArchiveError as e:
        raise ContainerError(f"Invalid layer: {e.message}") from None
    return write_commit(repo, tree, meta, timestamp=0)


def _overlay(repo, dst, tree_csum: str, meta_csum: str, new_dir: bool) -> None:
    """Lay the dirtree ``tree_csum`` over the MutableTree ``dst``, applying whiteouts."""
    if new_dir:
        dst.set_metadata(meta_csum)
    for _ in dst.iter_files():  # expands a lazy tree: its files and dirs are listed below
        pass
    dt = repo.load_dirtree(tree_csum)
    names = [n for n, _ in dt.files]
    if OPAQUE in names:
        for name in list(dst.files) + list(dst.dirs):
            dst.remove(name)
    for name in names:
        if name.startswith(WHITEOUT) and name != OPAQUE:
            dst.remove(name[len(WHITEOUT):], allow_noent=True)
    for name, csum in dt.files:
        if name.startswith(WHITEOUT):
            continue
        if name in dst.dirs:
            dst.remove(name)
        dst.replace_file(name, csum)
    for name, sub_tree, sub_meta in dt.dirs:
        if name in dst.files:
            dst.remove(name)
        existing = dst.dirs.get(name)
        if existing is None:
            if not _has_whiteouts(repo, sub_tree):
                dst.ensure_dir(name)
                dst.dirs[name].fill_empty_from_dirtree(repo, sub_tree, sub_meta)
                continue
            _overlay(repo, dst.ensure_dir(name), sub_tree, sub_meta, True)
        else:
            _overlay(repo, existing, sub_tree, sub_meta, False)


def _has_whiteouts(repo, tree_csum: str) -> bool:
    stack = [tree_csum]
    while stack:
        dt = repo.load_dirtree(stack.pop())
        if any(n.startswith(WHITEOUT) for n, _ in dt.files):
            return True
        stack.extend(t for _, t, _ in dt.dirs)
    return False


def _verify_stored_commit(repo, commit: str, remote: str) -> None:
    """A commit layer stored by an earlier pull is verified for ``remote`` all the same:
    a pull that asks for a signature never trusts one that was not checked."""
    from ostree_py.signing import signature_verify_commit_data
    meta = repo.load_commitmeta(commit)
    if meta is None:
        raise ContainerError(f"Using remote {remote} for verification; no detached metadata "
                             f"for the stored commit {commit}")
    signature_verify_commit_data(repo, remote, repo.load_metadata_bytes("commit", commit), meta)


def _timestamp(manifest: dict, config: dict) -> int:
    text = (manifest.get("annotations") or {}).get("org.opencontainers.image.created") \
        or config.get("created")
    if isinstance(text, str):
        # RFC 3339: seconds are enough; fractions and a UTC offset other than Z are ignored
        try:
            return calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            pass
    return int(time.time())


def _write_merge_commit(repo, prep: PreparedPull, base: str | None, derived: list[str]) -> str:
    from ostree_py.ops.commit import CommitBuilder, MutableTree, write_commit
    mtree = MutableTree.from_commit(repo, base) if base else MutableTree()
    for commit in derived:
        c = repo.load_commit(commit)
        _overlay(repo, mtree, c.root_tree, c.root_meta, mtree.meta is None)
    for path in RUNTIME_INJECTED:
        parent_parts = path.split("/")
        try:
            parent = mtree.walk_parent(parent_parts)
            csum, sub = parent.lookup(parent_parts[-1])
        except OstreeError:
            continue
        if sub is None:
            info, stream = repo.load_file(csum)
            if stream is not None:
                stream.close()
            if stat.S_ISREG(info.mode) and info.size == 0:
                parent.remove(parent_parts[-1])
    metadata = {
        META_MANIFEST_DIGEST: Variant("s", prep.manifest_digest),
        META_MANIFEST: Variant("s", canon_json(prep.manifest)),
        META_CONFIG: Variant("s", canon_json(prep.config)),
        META_IMPORTER_VERSION: Variant("s", "ostree-py"),
    }
    with CommitBuilder(repo) as b:
        tree, meta = b.write_mtree(mtree)
    return write_commit(repo, tree, meta, parent=base, metadata=dict(sorted(metadata.items())),
                        timestamp=_timestamp(prep.manifest, prep.config))


def pull_image(repo, imgref, progress=None, on_prepared=None, gc: bool = True) -> PullResult:
    """Pull ``imgref`` (an OstreeImageReference or its string) into the store (module
    docstring); return what was done. ``on_prepared(PreparedPull, ManifestDiff or None)``
    is called once the layers to fetch are known (not when the image is there already);
    ``progress(started: bool, kind, LayerState)`` around each layer fetched (kind
    ``"ostree chunk"`` or ``"layer"``). Stored layers no image uses lose their refs
    afterwards unless ``gc`` is false."""
    ref = imgref if isinstance(imgref, OstreeImageReference) else OstreeImageReference.parse(imgref)
    if ref.sigverify == SIGNED:
        raise ContainerError("ostree-image-signed: containers signature policies are not "
                             "supported yet")
    remote = ref.remote if ref.sigverify == REMOTE else None
    image_ref = ref_for_image(ref.imgref)
    previous = None
    prev_commit = repo.resolve_rev(image_ref, allow_noent=True)
    if prev_commit:
        try:
            previous = image_state_of_commit(repo, prev_commit)
        except ContainerError:
            previous = None
    with open_image(ref.imgref) as img:
        if previous is not None and previous.manifest_digest == img.manifest_digest:
            return PullResult(str(ref), prev_commit, True)
        prep = prepare_pull(repo, img)
        prep.previous = previous
        result = PullResult(str(ref), "", False, prep,
                            diff=ManifestDiff.of(previous.manifest, img.manifest) if previous else None)
        if on_prepared is not None:
            on_prepared(prep, result.diff)

        def fetch(layer: LayerState, kind: str, importer) -> None:
            if layer.commit is not None:
                return
            if progress is not None:
                progress(True, kind, layer)
            with repo.transaction():
                with img.open_layer(layer.index) as stream:
                    commit = importer(stream)
                    stream.finish()
            repo.set_ref(layer.ref, commit)
            layer.commit = commit
            result.fetched.append(layer.digest)
            if progress is not None:
                progress(False, kind, layer)

        def chunk(stream):
            objects: list[str] = []
            import_object_set_tar(repo, stream, objects)
            return _object_set_commit(repo, objects)

        for layer in prep.chunk_layers:
            fetch(layer, "ostree chunk", chunk)
        if prep.commit_layer is not None:
            if remote is not None and prep.commit_layer.commit is not None:
                _verify_stored_commit(repo, prep.commit_layer.commit, remote)
            fetch(prep.commit_layer, "ostree chunk",
                  lambda s: import_commit_tar(repo, s, verify_remote=remote))
        elif remote is not None:
            raise ContainerError(f"Image has no ostree commit to verify with remote {remote}")
        base = prep.commit_layer.commit if prep.commit_layer is not None else None
        for layer in prep.derived_layers:
            fetch(layer, "layer", lambda s: _derived_layer_commit(repo, s, allow_nonusr=base is None))
    with repo.transaction():
        merge = _write_merge_commit(repo, prep, base, [ly.commit for ly in prep.derived_layers])
    repo.set_ref(image_ref, merge)
    result.merge_commit = merge
    if gc:
        gc_image_layers(repo)
    return result
