"""Commit and summary signatures: the signing engines and their common interface.

``Sign`` is the reference's OstreeSign interface: an engine has a ``name``,
the detached-metadata key its signatures live under (``metadata_key``, type
``aay``), takes a secret key (``set_sk``) to ``sign(data) -> bytes`` and
public keys (``set_pk``/``add_pk``/``load_pk``) to ``verify(data,
signatures) -> success message``; failures raise ``SignError`` with the
reference's messages. Engines: ``ed25519`` (PyNaCl/libsodium) and ``dummy``
(tests only). ``get_by_name`` / ``get_all`` find them.

Commit and summary helpers (``sign_commit``, ``commit_verify``,
``sign_summary``) and the remote policy (``sign-verify``,
``sign-verify-summary``, ``verification-TYPE-key``/``-file``) are here too;
GPG lives in ``signing.gpg``. ``verify_commit`` / ``verify_summary`` apply a
remote's whole policy (GPG and sign API); the pull engine builds its checks
from the same functions and the remote's configuration.
"""

import os

from ostree_py.errors import OstreeError

SIGN_TYPES = ("ed25519", "dummy")
DEFAULT_SIGN_TYPE = "ed25519"


class SignError(OstreeError):
    """A signing or verification failure of a sign-API engine."""


class Sign:
    """The OstreeSign interface; engines override what they support."""

    name = ""
    metadata_key = ""
    metadata_format = "aay"

    def clear_keys(self) -> None:
        raise SignError("not implemented")

    def set_sk(self, key) -> None:
        raise SignError("not implemented")

    def set_pk(self, key) -> None:
        raise SignError("not implemented")

    def add_pk(self, key) -> None:
        raise SignError("not implemented")

    def load_pk(self, filename: str | None = None, basedir: str | None = None) -> None:
        raise SignError("not implemented")

    def read_sk(self, line: bytes) -> bytes:
        """ostree_sign_read_sk: the secret key in one line of a key file (raw here)."""
        return line

    def sign(self, data: bytes) -> bytes:
        raise SignError("not implemented")

    def verify(self, data: bytes, signatures) -> str:
        """Return a success message if one of ``signatures`` (a list of bytes, or None) checks out."""
        raise SignError("not implemented")

    def signatures_in(self, metadata) -> list | None:
        """This engine's signatures in an a{sv} dict (None when absent or of another type)."""
        from ostree_py.core.gvariant import Variant
        if not metadata:
            return None
        v = metadata.get(self.metadata_key)
        if not isinstance(v, Variant) or v.type != self.metadata_format:
            return None
        return [bytes(s) for s in v.value]


def read_secret_key_file(sign: Sign, path: str) -> bytes:
    """The secret key of ``commit --sign-from-file=PATH`` (ostree 2023.6+): the file's
    first line, decoded as ``sign``'s type reads its key files (base64 for ed25519)."""
    try:
        with open(path, "rb") as f:
            line = f.readline()
    except OSError as e:
        # GIO names the file by its absolute path
        raise OstreeError(f"Error opening file {os.path.abspath(path)}: {os.strerror(e.errno)}") from None
    if not line:
        raise SignError(f"Reading {path}: no key in the file")
    return sign.read_sk(line[:-1] if line.endswith(b"\n") else line)


def get_by_name(name: str) -> Sign:
    """ostree_sign_get_by_name."""
    if name == "ed25519":
        from ostree_py.signing.ed25519 import Ed25519Sign
        return Ed25519Sign()
    if name == "dummy":
        from ostree_py.signing.dummy import DummySign
        return DummySign()
    raise SignError("Requested signature type is not implemented")


def get_all() -> list:
    """ostree_sign_get_all: one engine of every type."""
    return [get_by_name(n) for n in SIGN_TYPES]


_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def glib_base64_decode(text: str) -> bytes:
    """g_base64_decode: characters outside the alphabet are skipped, '=' counts as a zero digit
    that drops the bytes it pads, and an incomplete last group is ignored."""
    out = bytearray()
    v = i = 0
    last0 = last1 = ""
    for ch in text:
        if ch == "=":
            rank = 0
        else:
            rank = _B64.get(ch)
            if rank is None:
                continue
        last1, last0 = last0, ch
        v = ((v << 6) | rank) & 0xFFFFFF
        i += 1
        if i == 4:
            out.append(v >> 16)
            if last1 != "=":
                out.append((v >> 8) & 0xFF)
            if last0 != "=":
                out.append(v & 0xFF)
            i = 0
    return bytes(out)


# ---------------------------------------------------------------- commits and summaries

def append_signature(metadata, key: str, signature: bytes) -> dict:
    """_sign_detached_metadata_append: ``signature`` added to the ``aay`` under ``key``."""
    from ostree_py.signing.gpg import append_signature as _append
    return _append(metadata, signature, key)


def commit_and_detached_metadata(repo, checksum: str):
    """(commit bytes, detached metadata dict or None), with the reference's error prefixes."""
    try:
        data = repo.load_metadata_bytes("commit", checksum)
    except OstreeError as e:
        raise OstreeError(f"Failed to read commit: {e.message}") from None
    try:
        meta = repo.load_commitmeta(checksum)
    except OstreeError as e:
        raise OstreeError(f"Failed to read detached metadata: {e.message}") from None
    return data, meta


def sign_commit(repo, sign: Sign, checksum: str) -> None:
    """ostree_sign_commit: sign the commit object and append to its detached metadata."""
    data, old = commit_and_detached_metadata(repo, checksum)
    try:
        sig = sign.sign(data)
    except OstreeError as e:
        raise SignError(f"Not able to sign the cobject: {e.message}") from None
    repo.write_commitmeta(checksum, append_signature(old, sign.metadata_key, sig))


def commit_verify(repo, sign: Sign, checksum: str) -> str:
    """ostree_sign_commit_verify: the success message, or SignError."""
    data, meta = commit_and_detached_metadata(repo, checksum)
    return sign.verify(data, sign.signatures_in(meta))


def sign_summary(repo, sign: Sign, keys) -> None:
    """ostree_sign_summary: sign ``summary`` with each secret key into ``summary.sig``."""
    from ostree_py.signing import gpg
    data = gpg.read_summary(repo)
    meta = gpg.read_summary_sig(repo)
    if not keys:
        raise SignError("No keys passed for signing summary")
    for key in keys:
        sign.set_sk(key)
        meta = append_signature(meta, sign.metadata_key, sign.sign(data))
    gpg.write_summary_sig(repo, meta)


# ---------------------------------------------------------------- remote policy

def _remote(repo, name):
    from ostree_py.repo.remotes import get_remote
    return get_remote(repo, name)


def _load_public_keys(sign: Sign, remote, required: bool) -> None:
    """_signapi_load_public_keys: ``verification-TYPE-file`` and ``verification-TYPE-key``."""
    pk_file = remote.get_option(f"verification-{sign.name}-file")
    pk_ascii = remote.get_option(f"verification-{sign.name}-key")
    if pk_file is None and pk_ascii is None:
        if required:
            raise SignError(f"No keys found for required signapi type {sign.name}")
        return
    if pk_file is not None:
        try:
            sign.load_pk(filename=pk_file)
        except OstreeError:
            # (sic: the reference's message lacks the closing quote)
            raise SignError(f"Failed loading '{sign.name}' keys from '{pk_file}") from None
    if pk_ascii is not None:
        try:
            sign.add_pk(pk_ascii)
        except OstreeError:
            raise SignError(f"Failed loading '{sign.name}' keys from inline `verification-key`") from None


def verifiers_from_config(repo, remote_name: str, key: str):
    """The engines a remote's ``sign-verify``/``sign-verify-summary`` asks for (None: disabled)."""
    remote = _remote(repo, remote_name)
    raw = remote.get_option(key)
    if raw is None or raw == "":
        return None
    if raw in ("true", "1", "false", "0"):
        if raw in ("false", "0"):
            return None
        verifiers = get_all()
        for sign in verifiers:
            _load_public_keys(sign, remote, False)
        return verifiers
    verifiers = []
    for name in remote.get_list(key) or []:
        sign = get_by_name(name)
        _load_public_keys(sign, remote, True)
        verifiers.append(sign)
    return verifiers


def init_for_remote(repo, remote_name: str):
    """_signapi_init_for_remote: (commit verifiers, summary verifiers), each None when disabled."""
    return (verifiers_from_config(repo, remote_name, "sign-verify"),
            verifiers_from_config(repo, remote_name, "sign-verify-summary"))


def sign_verify_for_remote(verifiers, data: bytes, metadata) -> str:
    """_sign_verify_for_remote: accept the first engine whose signatures verify."""
    n_invalid = 0
    last_error = None
    found = False
    for sign in verifiers:
        sigs = sign.signatures_in(metadata)
        if sigs is None:
            continue
        found = True
        try:
            return sign.verify(data, sigs)
        except OstreeError as e:
            n_invalid += 1
            if last_error is None:
                last_error = e
    if not found:
        raise SignError("No signatures found")
    msg = last_error.message
    if n_invalid > 1:
        msg = f"({n_invalid - 1} other invalid signatures): {msg}"
    raise SignError(msg)


def verify_commit_signapi(verifiers, checksum: str, commit_bytes: bytes, detached_metadata) -> str:
    """A pulled commit against the sign-API engines (``Can't verify commit: ...`` on failure)."""
    if detached_metadata is None:
        raise SignError("Can't verify commit without detached metadata")
    try:
        return sign_verify_for_remote(verifiers, commit_bytes, detached_metadata)
    except OstreeError as e:
        raise SignError(f"Can't verify commit: {e.message}") from None


def verify_summary_signapi(verifiers, summary: bytes | None, sig_bytes: bytes | None,
                           for_pull: bool = True) -> str:
    """A summary against the sign-API engines of ``sign-verify-summary``.

    ``for_pull``: the pull's wording when summary.sig is missing; otherwise that of
    ostree_repo_remote_fetch_summary (remote refs, remote summary).
    """
    from ostree_py.core import gvariant
    if summary is None:
        raise SignError("Signature verification enabled, but no summary found (check that the configured "
                        "URL in remote config is correct)")
    if sig_bytes is None:
        if for_pull:
            raise SignError("Signatures verification enabled, but no summary.sig found (use "
                            "sign-verify-summary=false in remote config to disable)")
        raise SignError("Signature verification enabled, but no summary signatures found (use "
                        "sign-verify-summary=false in remote config to disable)")
    try:
        meta = gvariant.deserialize("a{sv}", sig_bytes)
    except OstreeError:
        meta = {}
    return sign_verify_for_remote(verifiers, summary, meta)


def verify_commit(repo, remote: str, checksum: str, commit_bytes: bytes, detached_metadata,
                  gpg_verify: bool | None = None, sign_verifiers=None) -> str:
    """Check a commit from ``remote`` as its configuration asks (gpg-verify, sign-verify).

    ``gpg_verify`` None: the remote's ``gpg-verify`` (default true);
    ``sign_verifiers`` None: from the remote's ``sign-verify``. Returns a
    description of what verified; raises OstreeError.
    """
    from ostree_py.signing import gpg
    r = _remote(repo, remote)
    if gpg_verify is None:
        gpg_verify = r.get_bool("gpg-verify", True)
    if sign_verifiers is None:
        sign_verifiers = verifiers_from_config(repo, remote, "sign-verify")
    out = []
    if gpg_verify:
        result = gpg.verify_commit_for_remote(repo, remote, checksum, commit_bytes, detached_metadata)
        out.append("".join(result.describe(i, "GPG: ") for i in range(result.count_all())))
    if sign_verifiers:
        msg = verify_commit_signapi(sign_verifiers, checksum, commit_bytes, detached_metadata)
        out.append(msg)
    return "\n".join(out)


def verify_summary(repo, remote: str, summary_bytes: bytes | None, sig_bytes: bytes | None,
                   gpg_verify_summary: bool | None = None, sign_verifiers=None) -> None:
    """_ostree_repo_verify_summary: the remote's gpg-verify-summary and sign-verify-summary policy."""
    from ostree_py.signing import gpg
    r = _remote(repo, remote)
    if gpg_verify_summary is None:
        gpg_verify_summary = r.get_bool("gpg-verify-summary", False)
    if sign_verifiers is None:
        sign_verifiers = verifiers_from_config(repo, remote, "sign-verify-summary")
    if gpg_verify_summary:
        if summary_bytes is None:
            raise OstreeError("GPG verification enabled, but no summary found (check that the configured "
                              "URL in remote config is correct)")
        if sig_bytes is None:
            raise gpg.GpgNoSignatureError("GPG verification enabled, but no summary signatures found "
                                          "(use gpg-verify-summary=false in remote config to disable)")
        gpg.verify_summary(repo, remote, summary_bytes, sig_bytes)
    if sign_verifiers:
        verify_summary_signapi(sign_verifiers, summary_bytes, sig_bytes, for_pull=False)


def signature_verify_commit_data(repo, remote: str, commit_bytes: bytes, detached_metadata) -> str:
    """ostree_repo_signature_verify_commit_data: the commit must have a valid signature of every
    kind the remote asks for (gpg-verify, sign-verify); returns the description of the checks."""
    from ostree_py.signing import gpg
    if detached_metadata is None:
        raise SignError("Can't verify commit without detached metadata")
    r = _remote(repo, remote)
    gpg_verify = r.get_bool("gpg-verify", True)
    sign_verifiers = verifiers_from_config(repo, remote, "sign-verify")
    if not gpg_verify and not sign_verifiers:
        raise SignError(f"Cannot verify commit for remote {remote}; GPG verification disabled, "
                        "and no signapi verifiers configured")
    out = ""
    if gpg_verify:
        result = gpg.verify_with_metadata(repo, commit_bytes, detached_metadata, remote)
        result.require_valid_signature()
        out = "".join(result.describe(i, "GPG: ") for i in range(result.count_all()))
    if sign_verifiers:
        try:
            msg = sign_verify_for_remote(sign_verifiers, commit_bytes, detached_metadata)
        except OstreeError as e:
            raise SignError(f"Can't verify commit: {e.message}") from None
        out = (out + "\n" if gpg_verify else out) + msg
    return out


def commit_gpg_signatures_text(repo, checksum: str, homedir: str | None = None, remote: str | None = None) -> str:
    """What ``ostree show`` prints after a commit about its GPG signatures ("" when unsigned).

    An unsigned commit costs no gpg run (nor the import of ``signing.gpg``).
    """
    from ostree_py.core.gvariant import Variant
    md = repo.load_commitmeta(checksum)
    v = md.get("ostree.gpgsigs") if md else None
    if not isinstance(v, Variant) or v.type != "aay":
        return ""
    from ostree_py.signing.gpg import commit_signatures_text
    return commit_signatures_text(repo, checksum, homedir, remote)


def gpg_available() -> bool:
    """Whether a gpg program is installed (GPG features need one)."""
    import shutil
    return bool(shutil.which("gpg2") or shutil.which("gpg"))


def ed25519_available() -> bool:
    """Whether the ed25519 engine can run (PyNaCl importable)."""
    try:
        import importlib.util
        return importlib.util.find_spec("nacl") is not None
    except (ImportError, ValueError):
        return False


__all__ = ["Sign", "SignError", "get_by_name", "get_all", "sign_commit", "commit_verify", "sign_summary",
           "verify_commit", "verify_summary", "init_for_remote"]
