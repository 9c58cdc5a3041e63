"""The reference's ``dummy`` signature type, for testing only (OSTREE_DUMMY_SIGN_ENABLED=1).

A "signature" is the secret key string itself; it verifies when it equals
the public key string.
"""

import os

from ostree_py.signing import Sign, SignError


def _check_enabled() -> None:
    if os.environ.get("OSTREE_DUMMY_SIGN_ENABLED") != "1":
        raise SignError("dummy signature type is only for ostree testing")


class DummySign(Sign):
    name = "dummy"
    metadata_key = "ostree.sign.dummy"

    def __init__(self):
        self.sk: str | None = None
        self.pk: str | None = None

    def set_sk(self, key) -> None:
        _check_enabled()
        self.sk = key if isinstance(key, str) else bytes(key).decode("utf-8", "surrogateescape")

    def set_pk(self, key) -> None:
        self.pk = key if isinstance(key, str) else bytes(key).decode("utf-8", "surrogateescape")

    add_pk = set_pk

    def sign(self, data: bytes) -> bytes:
        _check_enabled()
        return (self.sk or "").encode("utf-8", "surrogateescape")

    def verify(self, data: bytes, signatures) -> str:
        _check_enabled()
        if signatures is None:
            raise SignError("signature: dummy: commit have no signatures of my type")
        n = 0
        for sig in signatures:
            n += 1
            text = bytes(sig).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            if self.pk is not None and text == self.pk:
                return "dummy: Signature verified"
        if n:
            raise SignError(f"signature: dummy: incorrect signatures found: {n}")
        raise SignError("signature: dummy: no signatures")
