"""OCI image layouts: written and read, ``oci:DIR[:TAG]`` and ``oci-archive:FILE[:TAG]``.

A layout directory holds ``oci-layout`` (``{"imageLayoutVersion":"1.0.0"}``),
``index.json`` (the image index: one descriptor per manifest, a tag as its
``org.opencontainers.image.ref.name`` annotation) and ``blobs/sha256/HEX``,
each blob named by the sha256 of its bytes: manifests, configs, layers. An
``oci-archive:`` file is the same layout as a tar stream.

Writing: blobs go to a temporary name in ``blobs/sha256`` and are renamed to
their digest once complete; a layer is gzip-compressed as it is written
(its digest over the compressed bytes, its diff_id over the tar). The
index is replaced atomically. An ``oci-archive:`` image is built in a
temporary directory next to the file and packed into it at the end.

Reading verifies before use: a descriptor must name a sha256 digest and a
size; ``index.json``, a manifest or a config is read only up to its size
cap and must match its descriptor's size and digest before it is parsed; a
layer is streamed and its size, digest and diff_id are checked when its
end is reached (so the caller's transaction can still refuse it). An
``oci-archive:`` file is unpacked into a temporary directory first, taking
only the layout's own files.
"""

from __future__ import annotations

import abc
import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import tempfile
import zlib

from ostree_py.container.imgref import ImageReference
from ostree_py.container.tarcodec import DIRECTORY, REGULAR, TarReader, TarWriter
from ostree_py.errors import ContainerError
from ostree_py.util.fs import write_atomic

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
GZIP_LAYERS = (MEDIA_LAYER_GZIP, DOCKER_LAYER_GZIP)
TAR_LAYERS = (MEDIA_LAYER_TAR, "application/vnd.docker.image.rootfs.diff.tar")
REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'

# caps on what is read into memory (containers/image caps manifests at 4 MiB)
MAX_INDEX_SIZE = 4 << 20
MAX_MANIFEST_SIZE = 4 << 20
MAX_CONFIG_SIZE = 8 << 20
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})\Z")
_CHUNK = 1 << 20


def encode_json(obj) -> bytes:
    """The bytes of a manifest, config or index: compact JSON, keys in order given."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def descriptor_digest(desc) -> str:
    """The hex sha256 a descriptor names; raise ContainerError if it names no valid one."""
    if not isinstance(desc, dict):
        raise ContainerError("Invalid descriptor: not an object")
    m = _DIGEST.match(str(desc.get("digest", "")))
    if not m:
        raise ContainerError(f"Invalid or unsupported digest {desc.get('digest')!r}")
    size = desc.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ContainerError(f"Invalid size in descriptor of {desc['digest']}")
    return m.group(1)


class Layer:
    """A layer written: its descriptor fields and the sha256 of its tar (diff_id)."""

    def __init__(self, digest: str, size: int, diff_id: str, media_type: str):
        self.digest, self.size, self.diff_id, self.media_type = digest, size, diff_id, media_type

    def descriptor(self, annotations: dict | None = None) -> dict:
        d = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if annotations:
            d["annotations"] = annotations
        return d


class LayerWriter:
    """A binary stream: tar bytes written to it become a gzip layer blob."""

    def __init__(self, writer: "OciWriter", level: int = 6):
        self._w = writer
        self._fd, self._tmp = tempfile.mkstemp(prefix=".tmp-layer-", dir=writer.blobdir)
        self._f = os.fdopen(self._fd, "wb")
        self._z = zlib.compressobj(level, zlib.DEFLATED, 31)
        self._blob = hashlib.sha256()
        self._tar = hashlib.sha256()
        self._size = 0

    def _out(self, data: bytes) -> None:
        if data:
            self._blob.update(data)
            self._size += len(data)
            self._f.write(data)

    def write(self, data) -> int:
        self._tar.update(data)
        self._out(self._z.compress(data))
        return len(data)

    def finish(self) -> Layer:
        """Flush, name the blob by its digest; the Layer."""
        self._out(self._z.flush())
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        hexd = self._blob.hexdigest()
        os.rename(self._tmp, os.path.join(self._w.blobdir, hexd))
        self._tmp = None
        return Layer("sha256:" + hexd, self._size, "sha256:" + self._tar.hexdigest(),
                     MEDIA_LAYER_GZIP)

    def abort(self) -> None:
        """Drop the unfinished blob."""
        if self._tmp is not None:
            self._f.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)
            self._tmp = None


class OciWriter:
    """Writes blobs and manifests into the OCI layout directory ``path`` (made if needed)."""

    def __init__(self, path: str):
        self.path = path
        self.blobdir = os.path.join(path, "blobs", "sha256")
        try:
            os.makedirs(self.blobdir, exist_ok=True)
            layout = os.path.join(path, "oci-layout")
            if not os.path.exists(layout):
                write_atomic(layout, LAYOUT)
        except OSError as e:
            raise ContainerError(f"Creating OCI layout {path}: {e.strerror}") from None

    def write_blob(self, data: bytes, media_type: str) -> dict:
        """Store ``data``; its descriptor."""
        hexd = hashlib.sha256(data).hexdigest()
        p = os.path.join(self.blobdir, hexd)
        if not os.path.exists(p):
            try:
                write_atomic(p, data)
            except OSError as e:
                raise ContainerError(f"Writing blob sha256:{hexd}: {e.strerror}") from None
        return {"mediaType": media_type, "digest": "sha256:" + hexd, "size": len(data)}

    def layer(self) -> LayerWriter:
        """A LayerWriter for a new gzip layer."""
        try:
            return LayerWriter(self)
        except OSError as e:
            raise ContainerError(f"Creating a layer in {self.path}: {e.strerror}") from None

    def add_manifest(self, manifest: dict, platform: dict, tag: str | None) -> dict:
        """Store the manifest and list it in index.json: with a tag, next to the other
        tags (replacing that tag's); without one, as the only manifest. Its descriptor."""
        desc = self.write_blob(encode_json(manifest), MEDIA_MANIFEST)
        desc = dict(desc, platform=platform)
        manifests = []
        if tag is not None:
            desc["annotations"] = {REF_NAME: tag}
            index_path = os.path.join(self.path, "index.json")
            if os.path.exists(index_path):
                index = _parse_json(_read_capped(index_path, MAX_INDEX_SIZE, "index.json"),
                                    "index.json")
                manifests = [m for m in index.get("manifests", [])
                             if isinstance(m, dict) and (m.get("annotations") or {}).get(REF_NAME) != tag]
        manifests.append(desc)
        index = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": manifests}
        try:
            write_atomic(os.path.join(self.path, "index.json"), encode_json(index))
        except OSError as e:
            raise ContainerError(f"Writing {self.path}/index.json: {e.strerror}") from None
        return desc


def _read_capped(path: str, cap: int, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except FileNotFoundError:
        raise ContainerError(f"{what} not found in the image") from None
    except OSError as e:
        raise ContainerError(f"Reading {what}: {e.strerror}") from None
    if len(data) > cap:
        raise ContainerError(f"{what} exceeds the maximum size of {cap} bytes")
    return data


def _parse_json(data: bytes, what: str) -> dict:
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ContainerError(f"Invalid JSON in {what}") from None
    if not isinstance(obj, dict):
        raise ContainerError(f"Invalid {what}: not a JSON object")
    return obj


class _VerifyingReader:
    """Reads a blob and checks its size and digest when its end is reached."""

    def __init__(self, f, desc: dict, hexd: str):
        self._f = f
        self._want_size = desc["size"]
        self._want = hexd
        self._h = hashlib.sha256()
        self._n = 0
        self.verified = False

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = _CHUNK
        data = self._f.read(min(n, self._want_size - self._n + 1))
        if data:
            self._n += len(data)
            if self._n > self._want_size:
                raise ContainerError(f"Blob sha256:{self._want} is larger than its descriptor's size")
            self._h.update(data)
        elif not self.verified:
            self._check()
        return data

    def _check(self) -> None:
        if self._n != self._want_size:
            raise ContainerError(f"Blob sha256:{self._want}: expected {self._want_size} bytes, "
                                 f"got {self._n}")
        if self._h.hexdigest() != self._want:
            raise ContainerError(f"Blob sha256:{self._want}: digest mismatch "
                                 f"(got sha256:{self._h.hexdigest()})")
        self.verified = True

    def drain(self) -> None:
        """Read to the end (checking it)."""
        while self.read(_CHUNK):
            pass


class _DiffIdReader:
    """The uncompressed stream of a layer, hashed for its diff_id."""

    def __init__(self, src, want: str | None):
        self._src = src
        self._h = hashlib.sha256()
        self._want = want

    def read(self, n: int = -1) -> bytes:
        try:
            data = self._src.read(n if n >= 0 else _CHUNK)
        except (OSError, EOFError, zlib.error) as e:
            raise ContainerError(f"Corrupted layer: {e}") from None
        self._h.update(data)
        return data

    def finish(self) -> None:
        """Read to the end; check the diff_id."""
        while self.read(_CHUNK):
            pass
        got = "sha256:" + self._h.hexdigest()
        if self._want is not None and got != self._want:
            raise ContainerError(f"Layer diff_id mismatch: expected {self._want}, got {got}")


class ImageReader(abc.ABC):
    """What ``open_image`` yields: one image, its manifest and config read and verified
    (``manifest_digest``, ``manifest``, ``config``, ``config_digest``, ``layers`` (their
    descriptors), ``diff_ids``, ``labels``), its blobs read through ``read_blob`` and
    ``open_layer``. A subclass says where blobs come from (``_open_blob``, ``read_blob``)."""

    def _load(self, manifest: dict, manifest_digest: str) -> None:
        """Take the manifest (already checked against its digest); read its config."""
        self.manifest_digest = manifest_digest
        self.manifest = manifest
        cdesc = self.manifest.get("config")
        self.config = _parse_json(self.read_blob(cdesc, MAX_CONFIG_SIZE), "config")
        self.config_digest = cdesc["digest"]
        layers = self.manifest.get("layers")
        if not isinstance(layers, list):
            raise ContainerError("Invalid manifest: no layers")
        for d in layers:
            descriptor_digest(d)
        self.layers: list[dict] = layers
        rootfs = self.config.get("rootfs") or {}
        diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
        if not isinstance(diff_ids, list) or len(diff_ids) != len(layers):
            raise ContainerError("Invalid config: its diff_ids do not match the manifest's layers")
        self.diff_ids: list[str] = diff_ids

    @property
    def labels(self) -> dict:
        """The config's labels (``config.Labels``)."""
        cfg = self.config.get("config") or {}
        labels = cfg.get("Labels") if isinstance(cfg, dict) else None
        return labels if isinstance(labels, dict) else {}

    @abc.abstractmethod
    def read_blob(self, desc, cap: int) -> bytes:
        """A small blob's bytes, checked against its descriptor before they are returned."""

    @abc.abstractmethod
    def _open_blob(self, desc):
        """A context manager: the blob's raw bytes as a binary stream (unverified)."""

    @contextlib.contextmanager
    def open_layer(self, i: int):
        """The uncompressed tar stream of layer ``i``; when the caller has read what it
        wants, ``finish()`` on it reads the rest and checks size, digest and diff_id."""
        desc = self.layers[i]
        media = desc.get("mediaType")
        if media not in GZIP_LAYERS + TAR_LAYERS:
            raise ContainerError(f"Unsupported layer type {media!r}")
        hexd = descriptor_digest(desc)
        with self._open_blob(desc) as f:
            blob = _VerifyingReader(f, desc, hexd)
            src = gzip.GzipFile(fileobj=blob, mode="rb") if media in GZIP_LAYERS else blob
            stream = _DiffIdReader(src, self.diff_ids[i])
            orig_finish = stream.finish

            def finish():
                orig_finish()
                blob.drain()
            stream.finish = finish
            yield stream


class OciImage(ImageReader):
    """One image of an OCI layout directory, its manifest and config read and verified."""

    def __init__(self, path: str, tag: str | None):
        self.path = path
        if not os.path.isfile(os.path.join(path, "oci-layout")):
            raise ContainerError(f"{path}: not an OCI image layout (no oci-layout file)")
        index = _parse_json(_read_capped(os.path.join(path, "index.json"), MAX_INDEX_SIZE,
                                         "index.json"), "index.json")
        manifests = index.get("manifests")
        if not isinstance(manifests, list):
            raise ContainerError("Invalid index.json: no manifests")
        if tag is not None:
            found = [m for m in manifests if isinstance(m, dict)
                     and isinstance(m.get("annotations"), dict) and m["annotations"].get(REF_NAME) == tag]
            if not found:
                raise ContainerError(f"No image tagged '{tag}' in {path}")
        else:
            found = manifests
            if len(found) != 1:
                raise ContainerError(f"{path} holds {len(found)} images: name one with :TAG")
        desc = found[0]
        if desc.get("mediaType") not in (MEDIA_MANIFEST, DOCKER_MANIFEST):
            raise ContainerError(f"Unsupported manifest type {desc.get('mediaType')!r}")
        self._load(_parse_json(self.read_blob(desc, MAX_MANIFEST_SIZE), "manifest"),
                   desc.get("digest"))

    def _blob_path(self, desc) -> str:
        hexd = descriptor_digest(desc)
        p = os.path.join(self.path, "blobs", "sha256", hexd)
        try:
            size = os.stat(p).st_size
        except FileNotFoundError:
            raise ContainerError(f"Blob {desc['digest']} is missing from the image") from None
        if size != desc["size"]:
            raise ContainerError(f"Blob {desc['digest']}: expected {desc['size']} bytes, found {size}")
        return p

    def read_blob(self, desc, cap: int) -> bytes:
        """A small blob's bytes, checked against its descriptor before they are returned."""
        p = self._blob_path(desc)
        if desc["size"] > cap:
            raise ContainerError(f"Blob {desc['digest']} of {desc['size']} bytes exceeds the "
                                 f"maximum of {cap}")
        data = _read_capped(p, cap, desc["digest"])
        if len(data) != desc["size"] or hashlib.sha256(data).hexdigest() != descriptor_digest(desc):
            raise ContainerError(f"Blob {desc['digest']}: digest or size mismatch")
        return data

    def _open_blob(self, desc):
        return open(self._blob_path(desc), "rb")


def _archive_tmpdir(path: str) -> str:
    return tempfile.mkdtemp(prefix=".oci-", dir=os.path.dirname(os.path.abspath(path)) or ".")


def pack_archive(layout_dir: str, dest: str) -> None:
    """Write the OCI layout directory ``layout_dir`` to ``dest`` as an oci-archive tar
    (through a temporary file renamed into place)."""
    tmp = dest + ".tmp-" + os.urandom(4).hex()
    try:
        with open(tmp, "wb") as f:
            w = TarWriter(f)
            for rel in ("oci-layout", "index.json"):
                with open(os.path.join(layout_dir, rel), "rb") as src:
                    w.add(rel.encode(), REGULAR, 0o644, size=os.fstat(src.fileno()).st_size, stream=src)
            w.add(b"blobs", DIRECTORY, 0o755)
            w.add(b"blobs/sha256", DIRECTORY, 0o755)
            blobdir = os.path.join(layout_dir, "blobs", "sha256")
            for name in sorted(os.listdir(blobdir)):
                if name.startswith("."):
                    continue
                with open(os.path.join(blobdir, name), "rb") as src:
                    w.add(b"blobs/sha256/" + name.encode(), REGULAR, 0o644,
                          size=os.fstat(src.fileno()).st_size, stream=src)
            w.finish()
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, dest)
    except OSError as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise ContainerError(f"Writing {dest}: {e.strerror}") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def unpack_archive(src: str, dest_dir: str) -> None:
    """Unpack the oci-archive ``src`` into ``dest_dir``: only ``oci-layout``,
    ``index.json`` and ``blobs/sha256/HEX`` (and their directories) are taken."""
    try:
        f = open(src, "rb")
    except OSError as e:
        raise ContainerError(f"Opening {src}: {e.strerror}") from None
    with f:
        for e in TarReader(f):
            path = "/".join(p for p in e.path.decode("utf-8", "replace").split("/") if p not in ("", "."))
            if e.typeflag == DIRECTORY and path in ("", "blobs", "blobs/sha256"):
                continue
            if e.typeflag != REGULAR or not (path in ("oci-layout", "index.json")
                                             or re.fullmatch(r"blobs/sha256/[0-9a-f]{64}", path)):
                raise ContainerError(f"Unexpected entry {path!r} in OCI archive {src}")
            out = os.path.join(dest_dir, path)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "wb") as o:
                while True:
                    chunk = e.read(_CHUNK)
                    if not chunk:
                        break
                    o.write(chunk)


@contextlib.contextmanager
def open_image(imgref: ImageReference):
    """The image (an ImageReader) at ``oci:DIR[:TAG]``, ``oci-archive:FILE[:TAG]`` or
    ``docker://HOST[:PORT]/NAME[:TAG|@DIGEST]`` (layers fetched when opened)."""
    path, tag = imgref.path_and_tag()
    if imgref.transport == "oci":
        yield OciImage(path, tag)
    elif imgref.transport == "oci-archive":
        tmp = tempfile.mkdtemp(prefix="oci-archive-")
        try:
            unpack_archive(path, tmp)
            yield OciImage(tmp, tag)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    elif imgref.transport == "registry":
        from ostree_py.container.registry import open_registry_image
        with open_registry_image(imgref.name) as img:
            yield img
    else:
        raise ContainerError(f"Unsupported transport for now: {imgref.transport}")


@contextlib.contextmanager
def create_image(imgref: ImageReference):
    """(writer, tag) for ``oci:DIR[:TAG]``, ``oci-archive:FILE[:TAG]`` (an OciWriter; an
    archive is written when the block ends without an error) or ``docker://...`` (a
    registry.RegistryWriter: blobs pushed as written, the manifest by add_manifest)."""
    path, tag = imgref.path_and_tag()
    if imgref.transport == "oci":
        yield OciWriter(path), tag
    elif imgref.transport == "oci-archive":
        tmp = _archive_tmpdir(path)
        try:
            yield OciWriter(tmp), tag
            pack_archive(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    elif imgref.transport == "registry":
        from ostree_py.container.registry import create_registry_image
        with create_registry_image(imgref.name) as (writer, tag):
            yield writer, tag
    else:
        raise ContainerError(f"Unsupported transport for now: {imgref.transport}")
