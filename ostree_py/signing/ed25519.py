"""ed25519 signatures (the reference's libsodium signing engine), through PyNaCl.

Keys are given as the reference takes them: base64 strings of a 64-byte
secret key (seed followed by public key, libsodium's layout) or a 32-byte
public key; key files hold one base64 public key per line. Without loaded
keys, verification reads ``trusted.ed25519`` and ``trusted.ed25519.d/*``
(and the ``revoked.*`` counterparts) in /etc/ostree and /usr/share/ostree,
or in a ``--keys-dir``. Signatures are 64 bytes, in ``ostree.sign.ed25519``.
"""

import os

from ostree_py.signing import Sign, SignError, glib_base64_decode

SECRETKEYBYTES = 64
PUBLICKEYBYTES = 32
SIGNBYTES = 64
DEFAULT_BASE_DIRS = ("/etc/ostree", "/usr/share/ostree")


def _sodium():
    try:
        import nacl.bindings as b
    except ImportError:
        raise SignError("ed25519: engine is not supported (install PyNaCl)") from None
    return b


class Ed25519Sign(Sign):
    name = "ed25519"
    metadata_key = "ostree.sign.ed25519"

    def __init__(self):
        self.secret_key: bytes | None = None
        self.public_keys: list[bytes] = []   # most recently added first, as the reference's list
        self.revoked_keys: list[bytes] = []

    def clear_keys(self) -> None:
        self.secret_key = None
        self.public_keys = []
        self.revoked_keys = []

    def set_sk(self, key) -> None:
        self.clear_keys()
        raw = glib_base64_decode(key) if isinstance(key, str) else bytes(key)
        if len(raw) != SECRETKEYBYTES:
            raise SignError("Incorrect ed25519 secret key")
        self.secret_key = raw

    def read_sk(self, line: bytes) -> bytes:
        # the reference's base64 blob reader: one key per line
        return glib_base64_decode(line.decode("ascii", "replace"))

    def set_pk(self, key) -> None:
        self.clear_keys()
        self.add_pk(key)

    def add_pk(self, key) -> None:
        raw = glib_base64_decode(key) if isinstance(key, str) else bytes(key)
        if len(raw) != PUBLICKEYBYTES:
            raise SignError("Incorrect ed25519 public key")
        if raw not in self.public_keys:
            self.public_keys.insert(0, raw)

    def _add_revoked(self, key: str) -> None:
        raw = glib_base64_decode(key)
        if len(raw) != PUBLICKEYBYTES:
            raise SignError("Incorrect ed25519 revoked key")
        if raw not in self.revoked_keys:
            self.revoked_keys.insert(0, raw)

    # ------------------------------------------------------------ key files
    def _load_file(self, path: str, trusted: bool) -> None:
        """One base64 key per line; raises unless at least one key was added."""
        added = False
        first_error = None
        for line in read_key_file(path):
            try:
                if trusted:
                    self.add_pk(line)
                else:
                    self._add_revoked(line)
                added = True
            except SignError as e:
                # the reference keeps going, remembering the first failure
                if first_error is None:
                    first_error = e
        if not added:
            if first_error is not None:
                raise first_error
            raise SignError(f"signature: ed25519: no valid keys in file '{path}'")

    def _load_dirs(self, basedir: str | None, trusted: bool) -> None:
        bases = [basedir] if basedir is not None else list(DEFAULT_BASE_DIRS)
        files = []
        for base in bases:
            name = os.path.join(base, "trusted.ed25519" if trusted else "revoked.ed25519")
            files.append(name)
            try:
                entries = os.listdir(name + ".d")
            except OSError:
                continue
            files.extend(os.path.join(name + ".d", e) for e in entries)
        loaded = False
        for path in files:
            try:
                self._load_file(path, trusted)
                loaded = True
            except SignError:
                continue
        if not loaded:
            raise SignError("signature: ed25519: no keys loaded")

    def load_pk(self, filename: str | None = None, basedir: str | None = None) -> None:
        if filename is not None:
            self._load_file(filename, True)
            return
        self._load_dirs(basedir, True)
        try:
            self._load_dirs(basedir, False)
        except SignError:
            pass

    # ------------------------------------------------------------ signing
    def sign(self, data: bytes) -> bytes:
        if self.secret_key is None:
            raise SignError("Not able to sign: secret key is not set")
        # libsodium's crypto_sign with the 64-byte secret key, as the reference: the
        # signature is the first 64 bytes of the signed message
        return bytes(_sodium().crypto_sign(bytes(data), self.secret_key)[:SIGNBYTES])

    @staticmethod
    def sign_with(secret_key: str, data: bytes) -> bytes:
        """The signature of ``data`` by a base64 secret key."""
        e = Ed25519Sign()
        e.set_sk(secret_key)
        return e.sign(data)

    def verify(self, data: bytes, signatures) -> str:
        if data is None:
            raise SignError("ed25519: unable to verify NULL data")
        if signatures is None:
            raise SignError("ed25519: commit have no signatures of my type")
        sodium = _sodium()
        if not self.public_keys:
            self.load_pk()
        invalid = []
        for sig in signatures:
            sig = bytes(sig)
            if len(sig) != SIGNBYTES:
                raise SignError(f"Invalid signature length of {len(sig)} bytes, expected {SIGNBYTES}")
            for pk in self.public_keys:
                if pk in self.revoked_keys:
                    continue
                try:
                    sodium.crypto_sign_open(sig + bytes(data), pk)
                except Exception:
                    invalid.append(pk.hex())
                    continue
                return f"ed25519: Signature verified successfully with key '{pk.hex()}'"
        if invalid:
            if len(invalid) > 3:
                raise SignError(f"ed25519: Signature couldn't be verified; tried {len(invalid)} keys")
            keys = "; ".join(f"key '{k}'" for k in invalid)
            raise SignError(f"ed25519: Signature couldn't be verified with: {keys}")
        raise SignError("ed25519: no signatures found")


def read_key_file(path: str) -> list[str]:
    """The lines of a keys file (``--keys-file``: one base64 key a line) as the
    reference reads them; SignError unless it is a readable regular file."""
    if not os.path.isfile(path):
        raise SignError(f"File object '{path}' is not a regular file")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SignError(f"{path}: {os.strerror(e.errno)}") from None
    return _read_lines(data)


def _read_lines(data: bytes):
    """g_data_input_stream_read_line over a whole file: lines without their '\\n' (or '\\r\\n')."""
    text = data.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def generate_keypair(seed: bytes | None = None) -> tuple[str, str]:
    """(base64 secret key, base64 public key), for tests and tools."""
    import base64
    sodium = _sodium()
    if seed is None:
        pk, sk = sodium.crypto_sign_keypair()
    else:
        pk, sk = sodium.crypto_sign_seed_keypair(seed)
    return base64.b64encode(sk).decode(), base64.b64encode(pk).decode()
