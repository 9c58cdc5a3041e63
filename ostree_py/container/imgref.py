"""Image references, as ostree-ext and containers-image spell them.

An ``ImageReference`` is ``TRANSPORT:NAME``: ``registry:NAME`` (also
written ``docker://NAME``, which is how it prints), ``oci:DIR[:TAG]``,
``oci-archive:FILE[:TAG]``, ``containers-storage:NAME``, ``dir:PATH``,
``docker-archive:PATH``, ``docker-daemon:NAME``. An ``OstreeImageReference``
adds how the image is verified:

- ``ostree-unverified-image:IMGREF`` (no verification) and its shorthand
  ``ostree-unverified-registry:NAME`` (= ``...-image:registry:NAME``, the
  form it prints as for a registry);
- ``ostree-remote-image:REMOTE:IMGREF`` and ``ostree-remote-registry:REMOTE:NAME``:
  the commit must be signed for that ostree remote;
- ``ostree-image-signed:IMGREF``: the containers signature policy decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from ostree_py.errors import ContainerError

TRANSPORTS = {
    "registry": "registry",
    "docker": "registry",
    "oci": "oci",
    "oci-archive": "oci-archive",
    "containers-storage": "containers-storage",
    "dir": "dir",
    "docker-archive": "docker-archive",
    "docker-daemon": "docker-daemon",
}

UNVERIFIED = "ostree-unverified-image"
SIGNED = "ostree-image-signed"
REMOTE = "ostree-remote-image"


@dataclass(frozen=True)
class ImageReference:
    """``transport`` (a value of TRANSPORTS) and ``name`` (what follows its colon)."""

    transport: str
    name: str

    @classmethod
    def parse(cls, text: str) -> "ImageReference":
        """Parse ``TRANSPORT:NAME``; raise ContainerError when it is not one."""
        if ":" not in text:
            raise ContainerError(f"Missing ':' in {text}")
        tname, name = text.split(":", 1)
        transport = TRANSPORTS.get(tname)
        if transport is None:
            raise ContainerError(f"Invalid transport '{tname}' in {text}")
        if tname == "docker":
            if not name.startswith("//"):
                raise ContainerError(f"Missing // in docker:// in {text}")
            name = name[2:]
        if not name:
            raise ContainerError(f"Invalid empty name in {text}")
        return cls(transport, name)

    def __str__(self) -> str:
        if self.transport == "registry":
            return f"docker://{self.name}"
        return f"{self.transport}:{self.name}"

    def path_and_tag(self) -> tuple[str, str | None]:
        """For ``oci:`` and ``oci-archive:``: (path, tag or None), split at the first ':'."""
        path, sep, tag = self.name.partition(":")
        return path, (tag if sep else None)


@dataclass(frozen=True)
class OstreeImageReference:
    """An image reference and its verification: ``sigverify`` is UNVERIFIED, SIGNED or
    REMOTE (then ``remote`` names the ostree remote)."""

    sigverify: str
    imgref: ImageReference
    remote: str | None = None

    @classmethod
    def parse(cls, text: str) -> "OstreeImageReference":
        """Parse one of the forms of the module docstring; raise ContainerError otherwise."""
        if ":" not in text:
            raise ContainerError(f"Missing ':' in {text}")
        scheme, rest = text.split(":", 1)
        remote = None
        if scheme in (UNVERIFIED, SIGNED):
            sigverify = scheme
        elif scheme == "ostree-unverified-registry":
            sigverify, rest = UNVERIFIED, "registry:" + rest
        elif scheme in (REMOTE, "ostree-remote-registry"):
            if ":" not in rest:
                raise ContainerError(f"Missing second ':' in {text}")
            remote, rest = rest.split(":", 1)
            if not remote:
                raise ContainerError(f"Invalid empty remote name in {text}")
            if scheme != REMOTE:
                rest = "registry:" + rest
            sigverify = REMOTE
        else:
            raise ContainerError(f"Invalid ostree image reference scheme: {scheme}")
        return cls(sigverify, ImageReference.parse(rest), remote)

    def __str__(self) -> str:
        if self.sigverify == UNVERIFIED and self.imgref.transport == "registry":
            return f"ostree-unverified-registry:{self.imgref.name}"
        if self.sigverify == REMOTE:
            return f"{REMOTE}:{self.remote}:{self.imgref}"
        return f"{self.sigverify}:{self.imgref}"

