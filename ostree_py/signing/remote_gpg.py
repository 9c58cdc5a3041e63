"""GPG keys of remotes: importing into a remote's keyring and listing trusted keys.

The reference does this with GPGME; we drive the ``gpg`` program (GnuPG 2)
the same way GPGME does: in a throw-away home directory holding a
``pubring.gpg`` keyring (the old keyring format, which is what remotes'
``NAME.trustedkeys.gpg`` files are), reading ``--with-colons`` listings and
``--status-fd`` import results.

``KeyringSet`` gathers the keys trusted for a remote exactly as
_ostree_repo_gpg_prepare_verifier does (the remote's keyring, its
``gpgkeypath`` files, or the global keyring directory) and can build a
GnuPG home from them, for verification code to use too.
"""

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import urllib.parse

from ostree_py.errors import OstreeError

GLOBAL_KEYRING_DIR = "/usr/share/ostree/trusted.gpg.d/"


class GpgError(OstreeError):
    """A GPG failure, reported as ``GPG: ...`` like the reference."""


def gpg_program() -> str:
    """The GnuPG 2 program to run (gpg2 preferred, as libtest's which_gpg)."""
    for name in ("gpg2", "gpg"):
        p = shutil.which(name)
        if p:
            return p
    raise GpgError("GPG: gpg is not installed (install the gnupg package)")


def run_gpg(home: str, args: list, data: bytes | None = None, check: bool = False):
    """Run gpg in ``home`` non-interactively; returns the CompletedProcess (bytes)."""
    argv = [gpg_program(), "--homedir", home, "--batch", "--no-tty", "--no-autostart",
            "--no-permission-warning", "--no-greeting", *args]
    env = dict(os.environ)
    env.pop("GPG_AGENT_INFO", None)
    env["LC_ALL"] = "C"
    p = subprocess.run(argv, input=data if data is not None else b"", capture_output=True, env=env)
    if check and p.returncode != 0:
        raise GpgError("GPG: " + p.stderr.decode("utf-8", "replace").strip().replace("gpg: ", ""))
    return p


@contextlib.contextmanager
def temp_home(pubring: bytes | None = b""):
    """A temporary GnuPG home (mode 0700) with a ``pubring.gpg`` keyring; removed afterwards."""
    d = tempfile.mkdtemp(prefix="ostree-gpg-")
    try:
        if pubring is not None:
            with open(os.path.join(d, "pubring.gpg"), "wb") as f:
                f.write(pubring)
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def read_keyring(home: str) -> bytes:
    with open(os.path.join(home, "pubring.gpg"), "rb") as f:
        return f.read()


# ---------------------------------------------------------------- keys

class GpgSubkey:
    """A primary key or subkey: fingerprint, created/expires (unix, 0 = never), flags."""

    def __init__(self, fingerprint="", created=0, expires=0, revoked=False, expired=False, invalid=False):
        self.fingerprint = fingerprint
        self.created = created
        self.expires = expires
        self.revoked = revoked
        self.expired = expired
        self.invalid = invalid

    def __repr__(self):
        return f"GpgSubkey({self.fingerprint!r})"


class GpgUid:
    """A user id with its WKD update URLs (None when it has no mail address)."""

    def __init__(self, uid, revoked=False, invalid=False):
        self.uid = uid
        self.revoked = revoked
        self.invalid = invalid
        self.name, self.comment, self.email = _split_uid(uid)
        self.address = mailbox_from_uid(uid)
        self.advanced_url = self.direct_url = None
        if self.address is not None:
            self.advanced_url, self.direct_url = wkd_urls(self.address)


class GpgKey:
    """A key as ostree_repo_remote_get_gpg_keys describes it: subkeys (primary first) and uids."""

    def __init__(self):
        self.subkeys: list[GpgSubkey] = []
        self.uids: list[GpgUid] = []

    @property
    def primary(self) -> GpgSubkey:
        return self.subkeys[0]

    @property
    def fingerprint(self) -> str:
        return self.subkeys[0].fingerprint if self.subkeys else ""


def _unescape_colons(s: str) -> str:
    """gpg --with-colons escapes ':' and control characters as \\xHH."""
    if "\\x" not in s:
        return s
    out = bytearray()
    raw = s.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(raw):
        if raw[i:i + 2] == b"\\x" and i + 4 <= len(raw):
            try:
                out.append(int(raw[i + 2:i + 4], 16))
                i += 4
                continue
            except ValueError:
                pass
        out.append(raw[i])
        i += 1
    return out.decode("utf-8", "surrogateescape")


def parse_colon_listing(text: str) -> list[GpgKey]:
    """Keys from ``gpg --with-colons --fixed-list-mode --list-keys`` output, in order."""
    keys: list[GpgKey] = []
    cur_sub = None
    for line in text.splitlines():
        f = line.split(":")
        rec = f[0]
        if rec == "pub":
            keys.append(GpgKey())
        if rec in ("pub", "sub") and keys:
            validity = f[1] if len(f) > 1 else ""
            cur_sub = GpgSubkey(
                created=_int(f[5] if len(f) > 5 else ""),
                expires=_int(f[6] if len(f) > 6 else ""),
                revoked="r" in validity, expired="e" in validity, invalid="i" in validity)
            keys[-1].subkeys.append(cur_sub)
        elif rec == "fpr" and cur_sub is not None and not cur_sub.fingerprint:
            cur_sub.fingerprint = f[9] if len(f) > 9 else ""
        elif rec == "uid" and keys:
            validity = f[1] if len(f) > 1 else ""
            uid = _unescape_colons(f[9] if len(f) > 9 else "")
            keys[-1].uids.append(GpgUid(uid, revoked="r" in validity, invalid="i" in validity))
            cur_sub = None
    return keys


def _int(s: str) -> int:
    try:
        return int(s)
    except ValueError:
        return 0


def _split_uid(uid: str):
    """GPGME's name / comment / email split of a user id 'Name (Comment) <email>'."""
    name, comment, email = uid, "", ""
    lt = uid.rfind("<")
    if lt >= 0 and uid.endswith(">"):
        email = uid[lt + 1:-1]
        name = uid[:lt].rstrip()
    lp = name.rfind("(")
    if lp >= 0 and name.endswith(")"):
        comment = name[lp + 1:-1]
        name = name[:lp].rstrip()
    return name, comment, email


def mailbox_from_uid(uid: str) -> str | None:
    """The mail address of a user id (the part in <>, or the whole if it is one), lowercased."""
    lt = uid.find("<")
    if lt >= 0:
        gt = uid.find(">", lt)
        if gt < 0:
            return None
        addr = uid[lt + 1:gt]
    else:
        addr = uid
    if not _is_valid_mailbox(addr):
        return None
    return addr.lower()


def _is_valid_mailbox(addr: str) -> bool:
    if not addr or addr.count("@") != 1:
        return False
    local, domain = addr.split("@")
    if not local or not domain or "." not in domain or domain.startswith(".") or domain.endswith("."):
        return False
    if ".." in domain:
        return False
    return not any(c in addr for c in " \t\n<>()[],;:\"\\") and all(ord(c) > 0x20 for c in addr)


_ZB32 = "ybndrfg8ejkmcpqxot1uwisza345h769"


def zbase32(data: bytes) -> str:
    """z-base-32 encoding (as used by the OpenPGP Web Key Directory)."""
    bits = int.from_bytes(data, "big")
    nbits = len(data) * 8
    out = []
    for pos in range(0, nbits, 5):
        shift = nbits - pos - 5
        chunk = (bits >> shift) & 31 if shift >= 0 else (bits << -shift) & 31
        out.append(_ZB32[chunk])
    return "".join(out)


def wkd_urls(email: str) -> tuple[str, str]:
    """The advanced and direct WKD update URLs of a mail address (ot_gpg_wkd_urls)."""
    parts = email.split("@")
    if len(parts) != 2:
        raise OstreeError(f'Invalid email address "{email}"')
    local, domain = parts
    local_lower = "".join(c.lower() if c.isascii() else c for c in local)
    domain_lower = "".join(c.lower() if c.isascii() else c for c in domain)
    encoded = zbase32(hashlib.sha1(local_lower.encode("utf-8", "surrogateescape")).digest())
    escaped = urllib.parse.quote(local, safe="-._~")
    advanced = f"https://openpgpkey.{domain}/.well-known/openpgpkey/{domain_lower}/hu/{encoded}?l={escaped}"
    direct = f"https://{domain}/.well-known/openpgpkey/hu/{encoded}?l={escaped}"
    return advanced, direct


# ---------------------------------------------------------------- keyring sets

class KeyringSet:
    """The keys trusted for a verification: keyring files and data, and ASCII key files."""

    def __init__(self):
        self.keyring_files: list[str] = []   # missing ones are skipped
        self.keyring_data: list[bytes] = []
        self.key_ascii_files: list[str] = []

    def add_keyring_file(self, path: str) -> None:
        self.keyring_files.append(path)

    def add_keyring_data(self, data: bytes) -> None:
        self.keyring_data.append(data)

    def add_key_ascii_file(self, path: str) -> None:
        self.key_ascii_files.append(path)

    def add_keyring_dir(self, path: str) -> None:
        """Every regular ``*.gpg`` file in ``path`` but trustdb.gpg and secring.gpg."""
        try:
            entries = list(os.scandir(path))
        except OSError as e:
            raise OstreeError(f"opendir({path}): {os.strerror(e.errno)}") from None
        for e in entries:
            if not e.is_file(follow_symlinks=False) or not e.name.endswith(".gpg"):
                continue
            if e.name in ("trustdb.gpg", "secring.gpg"):
                continue
            with open(e.path, "rb") as f:
                self.keyring_data.append(f.read())

    def add_keyfile_path(self, path: str) -> None:
        """A gpgkeypath entry: a directory's regular files, or else the file itself, as ASCII keys."""
        try:
            entries = list(os.scandir(path))
        except NotADirectoryError:
            self.add_key_ascii_file(path)
            return
        except OSError as e:
            raise OstreeError(f"opendir({path}): {os.strerror(e.errno)}") from None
        for e in entries:
            if e.is_file(follow_symlinks=False):
                self.add_key_ascii_file(os.path.join(path, e.name))

    def add_global_keyring_dir(self, environ=None) -> None:
        """$OSTREE_GPG_HOME, or /usr/share/ostree/trusted.gpg.d/, if it is a directory."""
        environ = os.environ if environ is None else environ
        path = environ.get("OSTREE_GPG_HOME") or GLOBAL_KEYRING_DIR
        if os.path.isdir(path):
            try:
                self.add_keyring_dir(path)
            except OstreeError as e:
                raise OstreeError(f"Reading keyring directory '{path.rstrip('/') or '/'}': {e.message}") from None

    def pubring(self) -> bytes:
        """The keyring files and data, concatenated (what goes into pubring.gpg)."""
        parts = []
        for p in self.keyring_files:
            try:
                with open(p, "rb") as f:
                    parts.append(f.read())
            except FileNotFoundError:
                continue
            except OSError as e:
                raise GpgError(f"GPG: {p}: {os.strerror(e.errno)}") from None
        parts.extend(self.keyring_data)
        return b"".join(parts)

    @contextlib.contextmanager
    def home(self):
        """A temporary GnuPG home holding all these keys."""
        pubring = self.pubring()
        with temp_home(pubring) as home:
            for path in self.key_ascii_files:
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError as e:
                    raise GpgError(f"GPG: openat({path}): {os.strerror(e.errno)}") from None
                run_gpg(home, ["--import"], data)
            yield home

    def list_keys(self) -> list[GpgKey]:
        with self.home() as home:
            return list_home_keys(home)


def list_home_keys(home: str, patterns: list | None = None) -> list[GpgKey]:
    p = run_gpg(home, ["--with-colons", "--fixed-list-mode", "--with-fingerprint",
                       "--list-keys", *(patterns or [])])
    return parse_colon_listing(p.stdout.decode("utf-8", "surrogateescape"))


def keyrings_for_remote(repo, name: str | None, add_global: bool | None = None,
                        environ=None) -> KeyringSet:
    """The keys trusted for remote ``name`` (None: the global keys), as the reference gathers them.

    A remote's own keyring (repo, remotes.d, or a parent repo's) replaces the
    global keyrings; its ``gpgkeypath`` files are added. ``add_global`` says
    whether the global directory is used when the remote has no keyring
    (verification does; listing a remote's keys does not).
    """
    from ostree_py.repo import remotes
    ks = KeyringSet()
    if add_global is None:
        add_global = name is None
    if name is not None:
        remote = remotes.find_remote(repo, name)
        if remote is None:
            raise remotes.RemoteNotFoundError(f'Remote "{name}" not found')
        keyring = remotes.find_keyring(repo, remote)
        if keyring is not None:
            with open(keyring, "rb") as f:
                ks.add_keyring_data(f.read())
            add_global = False
        paths = remote.gpgkeypath
        for p in paths or []:
            ks.add_keyfile_path(p)
    if add_global:
        ks.add_global_keyring_dir(environ)
    return ks


def list_keys(repo, name: str | None, environ=None) -> list[GpgKey]:
    """ostree_repo_remote_get_gpg_keys: the keys trusted for remote ``name``, or the global ones."""
    ks = keyrings_for_remote(repo, name, environ=environ)
    return ks.list_keys()


def import_keys(repo, name: str, data: bytes | None, key_ids: list | None = None) -> int:
    """ostree_repo_remote_gpg_import: add keys from ``data`` to the remote's keyring.

    ``data`` is keyring or ASCII-armored key data (several concatenated are
    fine); ``key_ids`` limits which of its keys are imported. Returns the
    number of keys new to the keyring. The keyring is replaced atomically and
    only when every key imported.
    """
    from ostree_py.repo import remotes
    from ostree_py.util.fs import write_atomic
    if remotes.find_remote(repo, name) is None:
        raise GpgError(f'GPG: Remote "{name}" not found')
    keyring = remotes.remote_keyring_path(repo, name)
    with temp_home(None) as src:
        if data:
            run_gpg(src, ["--import"], data)
        if key_ids:
            fprs = []
            for kid in key_ids:
                found = list_home_keys(src, [kid])
                if not found:
                    raise GpgError(f'GPG: Unable to find key "{kid}": GPGME: End of file')
                if len(found) > 1:
                    raise GpgError(f'GPG: Unable to find key "{kid}": GPGME: Ambiguous name')
                fprs.append(found[0].fingerprint)
        else:
            fprs = [k.fingerprint for k in list_home_keys(src)]
        exported = run_gpg(src, ["--export", *fprs]).stdout if fprs else b""
        if not exported:
            raise GpgError("GPG: Unable to export keys: GPGME: No data")
        try:
            with open(keyring, "rb") as f:
                current = f.read()
        except FileNotFoundError:
            current = b""
        except OSError as e:
            raise GpgError(f"GPG: Unable to copy remote's keyring: {os.strerror(e.errno)}") from None
        with temp_home(current) as dst:
            p = run_gpg(dst, ["--status-fd", "1", "--import"], exported)
            imported = 0
            for line in p.stdout.decode("utf-8", "replace").splitlines():
                f = line.split()
                if len(f) >= 3 and f[0] == "[GNUPG:]" and f[1] == "IMPORT_PROBLEM":
                    fpr = f[3] if len(f) > 3 else ""
                    raise GpgError(f'GPG: Unable to import key "{fpr}"')
                if len(f) >= 5 and f[0] == "[GNUPG:]" and f[1] == "IMPORT_RES":
                    imported = int(f[4])
            write_atomic(keyring, read_keyring(dst))
    return imported


def import_keys_from(repo, name: str, source) -> int:
    """import_keys from a file: ``source`` is a path or a binary file object
    (``remote add --gpg-import``, even when the remote already existed)."""
    if isinstance(source, (str, bytes, os.PathLike)):
        try:
            with open(source, "rb") as f:
                data = f.read()
        except OSError as e:
            raise OstreeError(f"Error opening file {os.fsdecode(source)}: {os.strerror(e.errno)}") from None
    else:
        data = source.read()
    return import_keys(repo, name, data)
