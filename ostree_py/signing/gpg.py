"""GPG signatures on commits and summaries, through the ``gpg`` program (GnuPG 2).

Signing runs ``gpg --detach-sign`` in the caller's GnuPG home (``--gpg-homedir``
or the default one), as GPGME does for the reference; detached binary
signatures are appended to the ``ostree.gpgsigs`` (``aay``) entry of a
commit's detached metadata or of ``summary.sig``.

Verification gathers the trusted keys the way the reference does (a remote's
``REMOTE.trustedkeys.gpg`` or, for no particular remote, every ``*.gpg``
keyring in the repository; the global directory ``$OSTREE_GPG_HOME`` or
``/usr/share/ostree/trusted.gpg.d/``; a ``--gpg-homedir``'s keyrings),
concatenates them into a throw-away GnuPG home (see ``remote_gpg``), runs
``gpg --verify`` there with ``--status-fd`` and reads its machine-readable
status lines the way GPGME does, so every signature gets the same
attributes (valid, key missing/expired/revoked, fingerprints, timestamps)
and the same description the reference prints.
"""

import os
import subprocess
import time

from ostree_py.core import gvariant
from ostree_py.errors import OstreeError
from ostree_py.signing.remote_gpg import GpgError, KeyringSet, gpg_program, parse_colon_listing, run_gpg

GPGSIGS_KEY = "ostree.gpgsigs"
SUMMARY_SIG_TYPE = "a{sv}"

# Stands for "every remote": verify with the keyrings of all remotes (ALL_REMOTES).
ALL_REMOTES = object()

# OpenPGP public key algorithm numbers -> GPGME's names (gpgme_pubkey_algo_name).
_PUBKEY_ALGO_NAMES = {1: "RSA", 2: "RSA-E", 3: "RSA-S", 16: "ELG-E", 17: "DSA", 18: "ECDH",
                      19: "ECDSA", 20: "ELG", 22: "EdDSA"}

# Signature status, as GPGME's gpg_err_code values we care about.
ST_OK = "ok"
ST_BAD = "bad-signature"
ST_SIG_EXPIRED = "sig-expired"
ST_KEY_EXPIRED = "key-expired"
ST_REVOKED = "cert-revoked"
ST_NO_PUBKEY = "no-pubkey"
ST_UNSUPPORTED = "unsupported-algorithm"
ST_NO_DATA = "no-data"
ST_GENERAL = "general"

_RESULT_STATUS = {"GOODSIG": ST_OK, "EXPSIG": ST_SIG_EXPIRED, "EXPKEYSIG": ST_KEY_EXPIRED,
                  "REVKEYSIG": ST_REVOKED, "BADSIG": ST_BAD}


class GpgNoSignatureError(GpgError):
    """The data carries no GPG signatures (OSTREE_GPG_ERROR_NO_SIGNATURE)."""


class GpgVerifyError(GpgError):
    """No valid signature; ``code`` says why (missing-key, revoked-key, expired-key...)."""

    def __init__(self, message, code="invalid-signature"):
        super().__init__(message)
        self.code = code


_NO_SIGNATURES = ("GPG verification enabled, but no signatures found (use gpg-verify=false "
                  "in remote config to disable)")


# ---------------------------------------------------------------- results

class GpgSignature:
    """One signature's attributes, as ostree_gpg_verify_result_get_all gives them."""

    __slots__ = ("status", "validity", "fingerprint", "timestamp", "exp_timestamp", "pubkey_algo",
                 "hash_algo", "user_name", "user_email", "fingerprint_primary", "key_exp_timestamp",
                 "key_exp_timestamp_primary", "key")

    def __init__(self):
        self.status = ST_GENERAL
        self.validity = "unknown"
        self.fingerprint = ""
        self.timestamp = 0
        self.exp_timestamp = 0
        self.pubkey_algo = 0
        self.hash_algo = 0
        self.user_name = "[unknown name]"
        self.user_email = "[unknown email]"
        self.fingerprint_primary = ""
        self.key_exp_timestamp = 0
        self.key_exp_timestamp_primary = 0
        self.key = None

    # GPGME's signature summary bits, reduced to what ostree reads
    @property
    def _green(self) -> bool:
        return self.validity in ("full", "ultimate") and self.status in (ST_OK, ST_SIG_EXPIRED, ST_KEY_EXPIRED)

    @property
    def valid(self) -> bool:
        if self._green:
            return True
        # no summary bit at all and no error: valid, though not certified
        return self.status == ST_OK and self.validity != "never"

    @property
    def sig_expired(self) -> bool:
        return self.status == ST_SIG_EXPIRED

    @property
    def key_expired(self) -> bool:
        return self.status == ST_KEY_EXPIRED

    @property
    def key_revoked(self) -> bool:
        return self.status == ST_REVOKED

    @property
    def key_missing(self) -> bool:
        return self.status == ST_NO_PUBKEY

    @property
    def pubkey_algo_name(self) -> str:
        return _PUBKEY_ALGO_NAMES.get(self.pubkey_algo, "[unknown name]")

    def __repr__(self):
        return f"GpgSignature({self.fingerprint!r}, {self.status})"


class GpgVerifyResult:
    """The signatures found by one verification, and the keys it trusted."""

    def __init__(self, signatures, keys):
        self.signatures: list[GpgSignature] = signatures
        self.keys = keys  # GpgKey list of the verification keyring

    def count_all(self) -> int:
        return len(self.signatures)

    def count_valid(self) -> int:
        return sum(1 for s in self.signatures if s.valid)

    def lookup(self, key_id: str) -> int | None:
        """ostree_gpg_verify_result_lookup: the index of the signature made by ``key_id``'s key."""
        key = find_key(self.keys, key_id)
        if key is None:
            return None
        for i, sig in enumerate(self.signatures):
            if sig.key is not None and sig.key.fingerprint == key.fingerprint:
                return i
        return None

    def describe(self, index: int, line_prefix: str = "") -> str:
        return describe_signature(self.signatures[index], line_prefix)

    def describe_all(self, line_prefix: str = "  ") -> str:
        """The signatures' descriptions, each after an empty line (as ``ostree show`` prints them)."""
        return "".join("\n" + describe_signature(s, line_prefix) for s in self.signatures)

    def require_valid_signature(self) -> None:
        """ostree_gpg_verify_result_require_valid_signature: raise unless one signature is valid."""
        if self.count_valid() > 0:
            return
        if not self.signatures:
            raise GpgVerifyError("No GPG signatures found", "no-signature")
        parts = []
        for sig in reversed(self.signatures):
            parts.append(describe_signature(sig, ""))
        last = self.signatures[-1]
        if last.key_missing:
            code = "missing-key"
        elif last.key_revoked:
            code = "revoked-key"
        elif last.key_expired:
            code = "expired-key"
        elif last.sig_expired:
            code = "expired-signature"
        else:
            code = "invalid-signature"
        raise GpgVerifyError("".join(parts).rstrip(" \t\n\r\f\v"), code)


def find_key(keys, pattern: str):
    """The one key ``pattern`` names (key ID, fingerprint or user ID substring), as gpgme_get_key."""
    p = pattern.strip()
    if p.endswith("!"):
        p = p[:-1]
    hexpart = p[2:] if p[:2].lower() == "0x" else p
    matches = []
    if len(hexpart) in (8, 16, 32, 40) and all(c in "0123456789abcdefABCDEF" for c in hexpart):
        h = hexpart.upper()
        for k in keys:
            if any(sk.fingerprint.upper().endswith(h) for sk in k.subkeys):
                matches.append(k)
    else:
        if p.startswith("="):
            matches = [k for k in keys if any(u.uid == p[1:] for u in k.uids)]
        else:
            needle = p.strip("<>").lower() if p.startswith("<") else p.lower()
            matches = [k for k in keys if any(needle in u.uid.lower() for u in k.uids)]
    # the same key listed twice (it was in two keyrings) is not ambiguous, as for gpgme_get_key
    if not matches or any(k.fingerprint != matches[0].fingerprint for k in matches[1:]):
        return None
    return matches[0]


def _keys_for_fpr(keys, fpr: str):
    if not fpr:
        return None
    h = fpr.upper()
    found = [k for k in keys if any(sk.fingerprint.upper().endswith(h) for sk in k.subkeys)]
    if not found or any(k.fingerprint != found[0].fingerprint for k in found[1:]):
        return None
    return found[0]


def _parse_timestamp(s: str) -> int:
    """GPGME's _gpgme_parse_timestamp: seconds, or ISO 8601 ``YYYYMMDDTHHMMSS`` (UTC)."""
    if "T" in s:
        try:
            import calendar
            return calendar.timegm(time.strptime(s[:15], "%Y%m%dT%H%M%S"))
        except ValueError:
            return 0
    try:
        return int(s)
    except ValueError:
        return 0


def _int(s: str) -> int:
    try:
        return int(s)
    except ValueError:
        return 0


def parse_verify_status(text: str) -> list[GpgSignature]:
    """Signatures from ``gpg --status-fd`` verification output, as GPGME's verify handler reads it."""
    sigs: list[GpgSignature] = []
    cur = None
    fresh = False  # NEWSIG seen, result line not yet
    for line in text.splitlines():
        if not line.startswith("[GNUPG:] "):
            continue
        f = line[9:].split(" ")
        kw, args = f[0], f[1:]
        if kw == "NEWSIG":
            cur = GpgSignature()
            sigs.append(cur)
            fresh = True
        elif kw in _RESULT_STATUS or kw == "ERRSIG":
            if not fresh:
                cur = GpgSignature()
                sigs.append(cur)
            fresh = False
            if kw == "ERRSIG":
                # ERRSIG <keyid> <pkalgo> <hashalgo> <sig_class> <time> <rc> [<fpr>]
                cur.fingerprint = args[6] if len(args) > 6 and args[6] not in ("", "-") else \
                    (args[0] if args else "")
                cur.pubkey_algo = _int(args[1]) if len(args) > 1 else 0
                cur.hash_algo = _int(args[2]) if len(args) > 2 else 0
                cur.timestamp = _parse_timestamp(args[4]) if len(args) > 4 else 0
                rc = args[5] if len(args) > 5 else ""
                cur.status = ST_NO_PUBKEY if rc == "9" else ST_UNSUPPORTED if rc == "4" else ST_GENERAL
            else:
                cur.status = _RESULT_STATUS[kw]
                cur.fingerprint = args[0] if args else ""
        elif kw == "VALIDSIG" and cur is not None:
            # VALIDSIG <fpr> <date> <timestamp> <expires> <version> <reserved> <pkalgo> <hashalgo> <class> [<primary>]
            cur.fingerprint = args[0] if args else cur.fingerprint
            if len(args) > 2:
                cur.timestamp = _parse_timestamp(args[2])
            if len(args) > 3:
                cur.exp_timestamp = _parse_timestamp(args[3])
            if len(args) > 6:
                cur.pubkey_algo = _int(args[6])
            if len(args) > 7:
                cur.hash_algo = _int(args[7])
        elif kw == "NODATA":
            if cur is None:
                raise GpgError("GPG: Unable to complete signature verification: GPGME: No data")
            cur.status = ST_NO_DATA
        elif kw.startswith("TRUST_") and cur is not None:
            cur.validity = {"TRUST_UNDEFINED": "undefined", "TRUST_NEVER": "never",
                            "TRUST_MARGINAL": "marginal", "TRUST_FULLY": "full",
                            "TRUST_ULTIMATE": "ultimate"}.get(kw, "unknown")
    return sigs


def _fill_key_details(sigs, keys) -> None:
    """User name/email, primary fingerprint and expiry times from the signing key (gpgme_get_key)."""
    for sig in sigs:
        key = _keys_for_fpr(keys, sig.fingerprint)
        sig.key = key
        if key is None:
            continue
        if key.uids:
            u = key.uids[0]
            sig.user_name, sig.user_email = u.name, u.email
        if key.subkeys:
            sig.fingerprint_primary = key.subkeys[0].fingerprint
            sig.key_exp_timestamp_primary = key.subkeys[0].expires
            for sk in key.subkeys:
                if sk.fingerprint == sig.fingerprint:
                    sig.key_exp_timestamp = sk.expires
                    break


# ---------------------------------------------------------------- describing

def _locale_is_utf8(environ=None) -> bool:
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        v = env.get(var)
        if v:
            low = v.lower().replace("-", "")
            return "utf8" in low
    return False


def format_time_c(ts: int, environ=None) -> str | None:
    """g_date_time_format(local time, "%c") in the C locale; None when GLib cannot represent ``ts``.

    GLib pads a one-digit day (%e) with a FIGURE SPACE, which a non-UTF-8
    locale prints as '?'.
    """
    try:
        t = time.localtime(ts)
    except (OverflowError, OSError, ValueError):
        return None
    if t.tm_year > 9999 or t.tm_year < 1:
        return None
    day = str(t.tm_mday)
    if t.tm_mday < 10:
        day = ("\u2007" if _locale_is_utf8(environ) else "?") + day
    return time.strftime("%a %b ", t) + day + time.strftime(" %H:%M:%S %Y", t)


def describe_signature(sig: GpgSignature, line_prefix: str = "") -> str:
    """ostree_gpg_verify_result_describe_variant's text for one signature."""
    fpr = sig.fingerprint
    key_id = fpr[-16:] if len(fpr) > 16 else fpr
    made = format_time_c(sig.timestamp)
    if made is None:
        return f"Can't check signature: timestamp {sig.timestamp} is invalid\n"
    out = [f"{line_prefix}Signature made {made} using {sig.pubkey_algo_name} key ID {key_id}\n", line_prefix]
    who = f'"{sig.user_name} <{sig.user_email}>"'
    if sig.key_missing:
        out.append("Can't check signature: public key not found\n")
    elif sig.valid:
        out.append(f"Good signature from {who}\n")
    elif sig.key_revoked:
        out.append("Key revoked\n")
    elif sig.sig_expired:
        out.append(f"Expired signature from {who}\n")
    else:
        out.append(f"BAD signature from {who}\n")
    primary = sig.fingerprint_primary
    if not sig.key_missing and fpr != primary:
        pid = primary[-16:] if len(primary) > 16 else primary
        out.append(f"{line_prefix}Primary key ID {pid}\n")

    def expire(kind, ts, expired):
        when = format_time_c(ts)
        if when is None:
            out.append(f"{line_prefix}{kind} expiry timestamp ({ts}) is invalid\n")
        else:
            out.append(f"{line_prefix}{kind} {'expired' if expired else 'expires'} {when}\n")

    if sig.exp_timestamp > 0:
        expire("Signature", sig.exp_timestamp, sig.sig_expired)
    if sig.key_exp_timestamp > 0:
        expire("Key", sig.key_exp_timestamp, sig.key_expired)
    if sig.key_exp_timestamp_primary > 0 and fpr != primary:
        expire("Primary key", sig.key_exp_timestamp_primary, sig.key_expired)
    return "".join(out)


# ---------------------------------------------------------------- verification

def keyrings_for(repo, remote=ALL_REMOTES, keyringdir: str | None = None,
                 extra_keyring: str | None = None, add_global: bool = True) -> KeyringSet:
    """_ostree_repo_gpg_prepare_verifier: the keys trusted for ``remote``.

    ``remote``: a remote name (its keyring, else the global keyrings, plus its
    gpgkeypath), ALL_REMOTES (every ``*.gpg`` keyring in the repository plus
    the global ones) or None (only the global ones).
    """
    from ostree_py.signing.remote_gpg import keyrings_for_remote
    if remote is ALL_REMOTES:
        ks = KeyringSet()
        ks.add_keyring_dir(repo.path)
        if add_global:
            ks.add_global_keyring_dir()
    elif remote is None:
        ks = KeyringSet()
        if add_global:
            ks.add_global_keyring_dir()
    else:
        ks = keyrings_for_remote(repo, remote, add_global=add_global)
    if keyringdir is not None:
        ks.add_keyring_dir(keyringdir)
    if extra_keyring is not None:
        ks.add_keyring_file(extra_keyring)
    return ks


def verify_data(keyrings: KeyringSet, data: bytes, signatures: bytes) -> GpgVerifyResult:
    """Check concatenated detached ``signatures`` over ``data`` against ``keyrings``."""
    try:
        with keyrings.home() as home:
            sigpath = os.path.join(home, "signatures.sig")
            with open(sigpath, "wb") as f:
                f.write(signatures)
            p = run_gpg(home, ["--status-fd", "1", "--verify", sigpath, "-"], data)
            sigs = parse_verify_status(p.stdout.decode("utf-8", "replace"))
            if not sigs and p.returncode != 0:
                err = p.stderr.decode("utf-8", "replace").strip().splitlines()
                msg = err[-1].replace("gpg: ", "") if err else "General error"
                raise GpgError(f"GPG: Unable to complete signature verification: {msg}")
            keys = []
            if sigs:
                listing = run_gpg(home, ["--with-colons", "--fixed-list-mode", "--with-fingerprint",
                                         "--list-keys"])
                keys = parse_colon_listing(listing.stdout.decode("utf-8", "surrogateescape"))
    except GpgError:
        raise
    except OstreeError as e:
        raise GpgError(f"GPG: {e.message}") from None
    _fill_key_details(sigs, keys)
    return GpgVerifyResult(sigs, keys)


def signatures_from_metadata(metadata) -> bytes | None:
    """The ``ostree.gpgsigs`` of an a{sv} (dict), concatenated; None when there is none."""
    if not metadata:
        return None
    v = metadata.get(GPGSIGS_KEY)
    if v is None or not isinstance(v, gvariant.Variant) or v.type != "aay":
        return None
    return b"".join(bytes(s) for s in v.value)


def verify_with_metadata(repo, data: bytes, metadata, remote=ALL_REMOTES, keyringdir=None,
                         extra_keyring=None) -> GpgVerifyResult:
    """_ostree_repo_gpg_verify_with_metadata: raises GpgNoSignatureError when there are none."""
    sigs = signatures_from_metadata(metadata)
    if sigs is None:
        raise GpgNoSignatureError(_NO_SIGNATURES)
    ks = keyrings_for(repo, remote, keyringdir, extra_keyring)
    return verify_data(ks, data, sigs)


def verify_commit_ext(repo, checksum: str, keyringdir: str | None = None, extra_keyring: str | None = None,
                      remote=None) -> GpgVerifyResult:
    """ostree_repo_verify_commit_ext / _for_remote (remote None: every remote's keyring)."""
    from ostree_py.signing import commit_and_detached_metadata
    data, meta = commit_and_detached_metadata(repo, checksum)
    return verify_with_metadata(repo, data, meta, ALL_REMOTES if remote is None else remote,
                                keyringdir, extra_keyring)


def verify_commit_for_remote(repo, remote: str, checksum: str, commit_bytes: bytes,
                             detached_metadata) -> GpgVerifyResult:
    """Require a valid signature on a commit from ``remote``'s keys; errors are ``Commit CSUM: ...``."""
    try:
        result = verify_with_metadata(repo, commit_bytes, detached_metadata, remote)
        result.require_valid_signature()
    except OstreeError as e:
        raise type(e)(f"Commit {checksum}: {e.message}") from None
    return result


def verify_summary_result(repo, remote: str, summary: bytes, signatures: bytes) -> GpgVerifyResult:
    """ostree_repo_verify_summary: the summary's signatures checked with ``remote``'s keys."""
    try:
        meta = gvariant.deserialize(SUMMARY_SIG_TYPE, signatures)
    except OstreeError:
        meta = {}
    return verify_with_metadata(repo, summary, meta, remote)


def verify_summary(repo, remote: str, summary: bytes, signatures: bytes) -> GpgVerifyResult:
    """ostree_repo_verify_summary + require_valid_signature for ``remote``."""
    result = verify_summary_result(repo, remote, summary, signatures)
    result.require_valid_signature()
    return result


def verify_result_text(result: GpgVerifyResult) -> str:
    """ostree_print_gpg_verify_result: what pull and remote summary print about signatures."""
    n = result.count_all()
    return f"GPG: Verification enabled, found {n} signature{'' if n == 1 else 's'}:\n" + result.describe_all("  ")


# ---------------------------------------------------------------- signing

def _gpg_env():
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    return env


def _gpg(homedir: str | None, args: list, data: bytes = b""):
    """Run gpg for signing: the agent may be started (it holds the secret keys)."""
    argv = [gpg_program()]
    if homedir is not None:
        argv += ["--homedir", homedir]
    argv += ["--batch", "--no-tty", "--no-greeting", "--no-permission-warning", *args]
    return subprocess.run(argv, input=data, capture_output=True, env=_gpg_env())


def find_secret_key(key_id: str, homedir: str | None):
    """The secret key ``key_id`` names in ``homedir``, as gpgme_get_key(secret) finds it."""
    where = homedir if homedir is not None else "<default>"
    p = _gpg(homedir, ["--with-colons", "--fixed-list-mode", "--with-fingerprint",
                       "--list-secret-keys", "--", key_id])
    lines = []
    for line in p.stdout.decode("utf-8", "surrogateescape").splitlines():
        rec, sep, rest = line.partition(":")
        lines.append({"sec": "pub", "ssb": "sub"}.get(rec, rec) + sep + rest)
    keys = parse_colon_listing("\n".join(lines))
    if not keys:
        raise GpgError(f"No gpg key found with ID {key_id} (homedir: {where})")
    if len(keys) > 1:
        raise GpgError(f"gpg key id {key_id} ambiguous (homedir: {where}). Try the fingerprint instead")
    return keys[0]


def sign_data(data: bytes, key_id: str, homedir: str | None = None) -> bytes:
    """A detached binary signature of ``data`` by ``key_id`` (sign_data in ostree-repo.c)."""
    key = find_secret_key(key_id, homedir)
    p = _gpg(homedir, ["--detach-sign", "--local-user", key.fingerprint or key_id, "--output", "-"], data)
    if p.returncode != 0 or not p.stdout:
        err = [ln.replace("gpg: ", "", 1) for ln in p.stderr.decode("utf-8", "replace").strip().splitlines()]
        msg = err[-1] if err else "General error"
        raise GpgError(f"Failure signing commit file: {msg}")
    return p.stdout


def append_signature(metadata, signature: bytes, key: str = GPGSIGS_KEY) -> dict:
    """The a{sv} with ``signature`` appended to its ``aay`` entry ``key``, in GVariantDict order."""
    from ostree_py.core.ghash import variant_dict
    items = list(metadata.items()) if metadata else []
    old = metadata.get(key) if metadata else None
    sigs = list(old.value) if isinstance(old, gvariant.Variant) and old.type == "aay" else []
    sigs.append(bytes(signature))
    return variant_dict(items, [(key, gvariant.Variant("aay", sigs))])


def sign_commit(repo, checksum: str, key_id: str, homedir: str | None = None) -> None:
    """ostree_repo_sign_commit: add ``key_id``'s signature unless the commit already has one."""
    try:
        data = repo.load_metadata_bytes("commit", checksum)
    except OstreeError as e:
        raise OstreeError(f"Failed to read commit: {e.message}") from None
    try:
        old = repo.load_commitmeta(checksum)
    except OstreeError as e:
        raise OstreeError(f"Failed to read detached metadata: {e.message}") from None
    try:
        result = verify_with_metadata(repo, data, old, ALL_REMOTES, keyringdir=homedir)
    except GpgNoSignatureError:
        result = None
    if result is not None and result.lookup(key_id) is not None:
        raise OstreeError(f"Commit is already signed with GPG key {key_id}")
    sig = sign_data(data, key_id, homedir)
    repo.write_commitmeta(checksum, append_signature(old, sig))


def delete_signatures(repo, checksum: str, key_ids) -> int:
    """``gpg-sign --delete``: drop the signatures made by any of ``key_ids``; how many went."""
    from ostree_py.core.ghash import variant_dict
    old = repo.load_commitmeta(checksum)
    sigs_v = old.get(GPGSIGS_KEY) if old else None
    if not isinstance(sigs_v, gvariant.Variant) or sigs_v.type != "aay":
        return 0
    result = verify_commit_ext(repo, checksum)
    sigs = list(sigs_v.value)
    if result.count_all() != len(sigs):
        raise OstreeError("Signature count mismatch")
    trash = []
    for kid in key_ids:
        i = result.lookup(kid)
        if i is not None and i not in trash:
            trash.append(i)
    keep = [s for i, s in enumerate(sigs) if i not in trash]
    if keep:
        new = variant_dict(list(old.items()), [(GPGSIGS_KEY, gvariant.Variant("aay", keep))])
    else:
        new = variant_dict(list(old.items()), [(GPGSIGS_KEY, None)])
    repo.write_commitmeta(checksum, new)
    return len(trash)


def read_summary_sig(repo) -> dict | None:
    path = os.path.join(repo.path, "summary.sig")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise OstreeError(f"openat(summary.sig): {os.strerror(e.errno)}") from None
    return gvariant.deserialize(SUMMARY_SIG_TYPE, data)


def read_summary(repo) -> bytes:
    try:
        with open(os.path.join(repo.path, "summary"), "rb") as f:
            return f.read()
    except OSError as e:
        raise OstreeError(f"openat(summary): {os.strerror(e.errno)}") from None


def write_summary_sig(repo, metadata) -> None:
    from ostree_py.util.fs import write_atomic
    write_atomic(os.path.join(repo.path, "summary.sig"), gvariant.serialize(SUMMARY_SIG_TYPE, metadata))


def add_signature_summary(repo, key_ids, homedir: str | None = None) -> None:
    """ostree_repo_add_gpg_signature_summary: sign ``summary`` with each key into ``summary.sig``."""
    data = read_summary(repo)
    meta = read_summary_sig(repo)
    for kid in key_ids:
        meta = append_signature(meta, sign_data(data, kid, homedir))
    write_summary_sig(repo, meta)


def commit_signatures_text(repo, checksum: str, homedir: str | None = None, remote: str | None = None,
                           header: str = "Found {n} signature{s}:\n") -> str:
    """What ``ostree show`` prints after a commit: its GPG signatures, or "" when it has none."""
    try:
        if remote is not None:
            result = verify_commit_ext(repo, checksum, remote=remote)
        else:
            result = verify_commit_ext(repo, checksum, keyringdir=homedir)
    except GpgNoSignatureError:
        return ""
    n = result.count_all()
    return header.format(n=n, s="" if n == 1 else "s") + result.describe_all("  ")


def commit_signatures_for_remote_text(repo, checksum: str, remote: str, line_prefix: str = "    GPG: ") -> str:
    """What ``admin status`` prints for a deployment whose remote has gpg-verify: each
    signature's description checked with ``remote``'s keys (an unsigned commit is an error,
    as in the reference)."""
    result = verify_commit_ext(repo, checksum, remote=remote)
    return "".join(result.describe(i, line_prefix) for i in range(result.count_all()))
