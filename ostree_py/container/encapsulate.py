"""encapsulate (an ostree commit into an OCI image) and unencapsulate (back).

The image has one layer, the commit as an ostree-ext tar stream (tar_export),
gzip-compressed. Its config and manifest carry what ostree-ext's
``container encapsulate`` writes:

- labels (in the config's ``config.Labels``, and the same set as the
  manifest's annotations): ``ostree.commit`` (the checksum);
  ``org.opencontainers.image.version`` from the commit's ``version``
  metadata (and ``version`` too with ``legacy_version_label``);
  ``ostree.bootable`` (``true``/``false``) with ``containers.bootc`` = ``1``
  when the commit's ``ostree.bootable`` metadata is set; ``ostree.linux``;
  the string metadata keys named by ``copymeta`` (which must be present)
  and ``copymeta_opt`` (when present); ``ostree.final-diffid``, the diff_id
  of the last layer that belongs to the commit; then the caller's labels;
- ``Cmd`` from ``cmd``, else the commit's ``ostree.container-cmd`` metadata;
- ``created`` (and the layer's history entry) at the commit's timestamp,
  the history's ``created_by`` the commit's subject (or ``ostree export of
  commit CSUM``); ``architecture`` the machine's, in Go's spelling; ``os``
  ``linux``; ``rootfs.diff_ids``.

Chunked images (``components`` given): content objects are grouped by the
component that owns them (``components`` maps a content checksum to a
component name, as ostree-ext's content metadata does) into at most
``max_layers - 1`` chunk layers (64 by default, ostree-ext's maximum), the
largest components first, each into the chunk that holds the fewest bytes.
The image's first layer is the commit's, holding everything but the chunked
objects (and their tree paths); each chunk layer follows, written as
ostree-ext writes them (the repository skeleton, then each object in
checksum order and its tree paths hardlinked to it), with the annotation
``ostree.components`` (its components' names, sorted, comma-separated) and a
history entry named after its components (one name; up to five joined by
`` and ``; else ``N components``). ``ostree.final-diffid`` names the last
chunk's diff_id. unencapsulate reads the chunk layers (up to the layer that
label names) before the commit layer, in the same transaction.

ostree-ext's packing (size and change-frequency partitions, the prior
build's layout) is not reproduced: the layers differ in grouping, not in
format.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass

from ostree_py.container.imgref import REMOTE, SIGNED, ImageReference, OstreeImageReference
from ostree_py.container.oci import MEDIA_CONFIG, create_image, encode_json, open_image
from ostree_py.container.tar_export import content_paths, export_chunk_tar, export_commit_tar
from ostree_py.container.tar_import import import_commit_tar, import_object_set_tar
from ostree_py.core.gvariant import Variant
from ostree_py.errors import ContainerError

OSTREE_COMMIT_LABEL = "ostree.commit"
BOOTABLE_KEY = "ostree.bootable"
BOOTC_LABEL = "containers.bootc"
LINUX_KEY = "ostree.linux"
VERSION_LABEL = "org.opencontainers.image.version"
LEGACY_VERSION_LABEL = "version"
DIFFID_LABEL = "ostree.final-diffid"
COMPONENTS_ANNOTATION = "ostree.components"
CONTAINER_CMD_KEY = "ostree.container-cmd"

MAX_CHUNKS = 64

_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
           "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def go_arch(machine: str | None = None) -> str:
    """The OCI (Go) name of the machine's architecture."""
    m = machine or platform.machine()
    return _GOARCH.get(m, m)


def _meta_value(metadata: dict, key: str):
    v = metadata.get(key)
    return v.value if isinstance(v, Variant) else v


def commit_labels(metadata: dict, copymeta=(), copymeta_opt=(),
                  legacy_version_label: bool = False) -> dict:
    """The labels a commit's metadata gives its image (module docstring)."""
    labels = {}
    for key, required in [(k, True) for k in copymeta] + [(k, False) for k in copymeta_opt]:
        v = _meta_value(metadata, key)
        if v is None:
            if required:
                raise ContainerError(f"Could not find commit metadata key: {key}")
            continue
        if not isinstance(v, str):
            raise ContainerError(f"Expected string for commit metadata value {key}")
        labels[key] = v
    bootable = _meta_value(metadata, BOOTABLE_KEY)
    if isinstance(bootable, bool):
        labels[BOOTABLE_KEY] = "true" if bootable else "false"
        labels[BOOTC_LABEL] = "1"
    linux = _meta_value(metadata, LINUX_KEY)
    if isinstance(linux, str):
        labels[LINUX_KEY] = linux
    version = _meta_value(metadata, "version")
    if isinstance(version, str):
        if legacy_version_label:
            labels[LEGACY_VERSION_LABEL] = version
        labels[VERSION_LABEL] = version
    return labels


def pack_components(sizes: dict, bins: int) -> list[list[str]]:
    """Components (``{name: size}``) in at most ``bins`` groups: the largest first, each
    into the group holding the fewest bytes (the first such); empty groups dropped."""
    groups: list[list[str]] = [[] for _ in range(max(bins, 1))]
    totals = [0] * len(groups)
    for name in sorted(sizes, key=lambda n: (-sizes[n], n)):
        i = totals.index(min(totals))
        groups[i].append(name)
        totals[i] += sizes[name]
    return [g for g in groups if g]


def chunk_name(names: list[str]) -> str:
    """A chunk's history name, as ostree-ext names it."""
    if len(names) == 1:
        return names[0]
    if len(names) <= 5:
        return " and ".join(names)
    return f"{len(names)} components"


def _chunks(repo, checksum: str, components: dict, max_layers: int | None):
    """[(name, sorted component names, {object: tree paths})] of a chunked image."""
    if max_layers is not None and max_layers < 2:
        raise ContainerError("max-layers must be at least 2 to chunk an image")
    bins = (max_layers or MAX_CHUNKS + 1) - 1
    objects = content_paths(repo, checksum, components)
    sizes: dict[str, int] = {}
    for csum in objects:
        info, stream = repo.load_file(csum)
        if stream is not None:
            stream.close()
        sizes[components[csum]] = sizes.get(components[csum], 0) + info.size
    out = []
    for group in pack_components(sizes, bins):
        members = set(group)
        out.append((chunk_name(group), sorted(group),
                    {c: p for c, p in objects.items() if components[c] in members}))
    return out


def _write_layer(writer, export):
    """A layer whose tar stream ``export(out)`` writes; the Layer."""
    lw = writer.layer()
    try:
        export(lw)
        return lw.finish()
    finally:
        lw.abort()


def _imgref(imgref) -> ImageReference:
    return imgref if isinstance(imgref, ImageReference) else ImageReference.parse(imgref)


def encapsulate(repo, rev: str, imgref, *, labels: dict | None = None, cmd: list | None = None,
                copymeta=(), copymeta_opt=(), legacy_version_label: bool = False,
                created: str | None = None, architecture: str | None = None,
                components: dict | None = None, max_layers: int | None = None) -> str:
    """Write commit ``rev`` of ``repo`` as an image at ``imgref`` (``oci:DIR[:TAG]``,
    ``oci-archive:FILE[:TAG]`` or ``docker://HOST[:PORT]/NAME[:TAG]``, a string or
    ImageReference); return the manifest's digest.

    With ``components`` ({content checksum: component name}) the image is chunked into
    at most ``max_layers`` layers (module docstring); without, it has one layer."""
    dest = _imgref(imgref)
    checksum = repo.resolve_rev(rev)
    commit = repo.load_commit(checksum)
    created = created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(commit.timestamp))
    all_labels = commit_labels(commit.metadata, copymeta, copymeta_opt, legacy_version_label)
    all_labels[OSTREE_COMMIT_LABEL] = checksum
    if cmd is None:
        meta_cmd = _meta_value(commit.metadata, CONTAINER_CMD_KEY)
        cmd = list(meta_cmd) if isinstance(meta_cmd, (list, tuple)) else None
    description = commit.subject or f"ostree export of commit {checksum}"
    arch = architecture or go_arch()
    chunks = _chunks(repo, checksum, components, max_layers) if components else []
    with create_image(dest) as (writer, tag):
        chunked = frozenset(c for _, _, objs in chunks for c in objs)
        layer = _write_layer(writer, lambda out: export_commit_tar(repo, checksum, out, chunked))
        layers, diff_ids = [layer.descriptor()], [layer.diff_id]
        history = [{"created": created, "created_by": description}]
        for name, names, objects in chunks:
            layer = _write_layer(writer, lambda out, objs=objects: export_chunk_tar(repo, checksum, objs, out))
            layers.append(layer.descriptor({COMPONENTS_ANNOTATION: ",".join(names)}))
            diff_ids.append(layer.diff_id)
            history.append({"created": created, "created_by": name})
        all_labels[DIFFID_LABEL] = diff_ids[-1]
        all_labels.update(labels or {})
        ctr = {"Labels": dict(sorted(all_labels.items()))}
        if cmd is not None:
            ctr["Cmd"] = list(cmd)
        config = {
            "created": created,
            "architecture": arch,
            "os": "linux",
            "config": ctr,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        }
        cdesc = writer.write_blob(encode_json(config), MEDIA_CONFIG)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": cdesc,
            "layers": layers,
            "annotations": dict(sorted(all_labels.items())),
        }
        mdesc = writer.add_manifest(manifest, {"architecture": arch, "os": "linux"}, tag)
    return mdesc["digest"]


@dataclass
class Unencapsulated:
    """What unencapsulate imported: the commit, and the image's manifest digest."""

    commit: str
    manifest_digest: str


def unencapsulate(repo, imgref, write_ref: str | None = None) -> Unencapsulated:
    """Import the ostree commit of the image ``imgref`` (an OstreeImageReference or its
    string, e.g. ``ostree-unverified-image:oci:DIR``) into ``repo``; point ``write_ref``
    at it if given.

    Everything lands in one transaction, after each layer's size, digest and diff_id
    checked out, the commit verified (``ostree-remote-image:REMOTE:...``: signed for
    REMOTE) and found complete, and the ``ostree.commit`` label matching it."""
    ref = imgref if isinstance(imgref, OstreeImageReference) else OstreeImageReference.parse(imgref)
    if ref.sigverify == SIGNED:
        raise ContainerError("ostree-image-signed: containers signature policies are not "
                             "supported yet")
    remote = ref.remote if ref.sigverify == REMOTE else None
    with open_image(ref.imgref) as img:
        if not img.layers:
            raise ContainerError("Image has no layers")
        last = len(img.layers) - 1
        final = img.labels.get(DIFFID_LABEL)
        if final is not None:
            if final not in img.diff_ids:
                raise ContainerError(f"Label {DIFFID_LABEL} names no layer of the image")
            last = img.diff_ids.index(final)
        if last != len(img.layers) - 1:
            raise ContainerError(f"Image has {len(img.layers) - 1 - last} non-ostree layers")
        with repo.transaction():
            # the chunk layers hold content objects the commit layer refers to
            for i in range(1, last + 1):
                with img.open_layer(i) as stream:
                    import_object_set_tar(repo, stream)
                    stream.finish()
            with img.open_layer(0) as stream:
                checksum = import_commit_tar(repo, stream, verify_remote=remote)
                stream.finish()
            label = img.labels.get(OSTREE_COMMIT_LABEL)
            if label is not None and label != checksum:
                raise ContainerError(f"Image label {OSTREE_COMMIT_LABEL}={label} does not match "
                                     f"its commit {checksum}")
        digest = img.manifest_digest
    if write_ref:
        repo.set_ref(write_ref, checksum)
    return Unencapsulated(checksum, digest)


def components_by_directory(repo, rev: str, depth: int = 3) -> dict:
    """{content checksum: component}: each object's component is the directory, cut to
    ``depth`` levels, of the first tree path found for it (``usr/lib/modules``); files of
    the root are ``/``. Chunking with no content metadata given uses these."""
    commit = repo.load_commit(repo.resolve_rev(rev))
    components: dict[str, str] = {}
    stack = [((), commit.root_tree)]
    while stack:
        parts, tree_csum = stack.pop()
        tree = repo.load_dirtree(tree_csum)
        for _, fcsum in tree.files:
            components.setdefault(fcsum, "/".join(parts[:depth]) or "/")
        for name, tcsum, _ in reversed(tree.dirs):
            stack.append((parts + (name,), tcsum))
    return components


@dataclass
class ContentMeta:
    """An ostree-ext content meta file (``--contentmeta``): components, labels, created."""

    components: dict
    labels: dict
    created: str | None


def load_contentmeta(path: str) -> ContentMeta:
    """Read ostree-ext's content meta JSON (version 1): ``layers`` maps a layer id to its
    name, ``mapping`` a content checksum to a layer id; ``labels`` and ``created`` are
    optional. ContainerError for anything else."""
    import json
    try:
        with open(path, "rb") as f:
            raw = json.loads(f.read(64 << 20))
    except OSError as e:
        raise ContainerError(f"Opening {path}: {e.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise ContainerError(f"Invalid JSON in {path}") from None
    if not isinstance(raw, dict):
        raise ContainerError(f"Invalid content meta in {path}: not a JSON object")
    if raw.get("version") != 1:
        raise ContainerError(f"Unsupported metadata version: {raw.get('version')}. "
                             "Currently supported: 1")
    if raw.get("ordered"):
        raise ContainerError("Ordered mapping not currently supported.")
    layers, mapping = raw.get("layers"), raw.get("mapping")
    labels = raw.get("labels") or {}
    if not isinstance(layers, dict) or not isinstance(mapping, dict) or not isinstance(labels, dict):
        raise ContainerError(f"Invalid content meta in {path}: layers, mapping and labels "
                             "must be objects")
    components = {}
    for csum, layer_id in mapping.items():
        name = layers.get(layer_id)
        if not isinstance(name, str):
            raise ContainerError(f"Invalid content meta in {path}: unknown layer {layer_id!r}")
        components[csum] = name
    created = raw.get("created")
    return ContentMeta(components, {str(k): str(v) for k, v in labels.items()},
                       created if isinstance(created, str) else None)
