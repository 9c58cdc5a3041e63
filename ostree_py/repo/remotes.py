"""Remotes: named places to pull from, as the reference stores them.

A remote is a ``[remote "NAME"]`` group in the repo's ``config``, or in a file
``SYSROOT/etc/ostree/remotes.d/*.conf`` for the system repo: one opened
through a sysroot that is not the physical root (``--sysroot`` at a
deployment), or the repo that is ``/ostree/repo`` (sysroot ``/``). A remote
added to such a repo goes to ``remotes.d/NAME.conf`` unless the repo config
sets ``core.add-remotes-config-dir=false``; on any other repo that setting
has no effect (there is no remotes.d to write to).

A repo with ``core.parent`` also sees its parent's remotes, and an option
missing from a remote falls back to the parent's remote of the same name.
A "remote name" that starts with ``file://`` stands for that URL with every
option at its default (and no GPG verification), as in the reference.

Per remote the repo also keeps a GPG keyring ``NAME.trustedkeys.gpg`` (deleted
with the remote) and a cookie jar ``NAME.cookies.txt`` (kept).
Deleting a remote keeps its refs under refs/remotes/NAME, as the reference does.
"""

import contextlib
import os
import re

from ostree_py.errors import OstreeError
from ostree_py.core.keyfile import KeyFile, KeyFileError, split_list
from ostree_py.core.objects import validate_remote_name

SYSCONF_REMOTES = "etc/ostree/remotes.d"
_GROUP_RE = re.compile(r'^remote "(.+)"$')


class RemoteNotFoundError(OstreeError):
    """``Remote "NAME" not found``."""


def group_name(name: str) -> str:
    """The key file group of remote ``name``."""
    return f'remote "{name}"'


def keyring_name(name: str) -> str:
    """The file name of remote ``name``'s GPG keyring (in the repo or remotes.d)."""
    return f"{name}.trustedkeys.gpg"


def _truthy(raw: str) -> bool | None:
    """GKeyFile's boolean parse: True/False, or None when it is not a boolean."""
    s = raw.rstrip(" \t")
    if s in ("true", "1"):
        return True
    if s in ("false", "0"):
        return False
    return None


class Remote:
    """One remote's configuration.

    ``options`` maps every key of the group to its (unescaped) string value;
    ``file`` is the remotes.d file it lives in (None: the repo config).
    Typed accessors (``url``, ``gpg_verify``...) apply the reference's
    defaults, falling back to the parent repo's remote of the same name.
    """

    def __init__(self, name: str, keyfile: KeyFile | None = None, file: str | None = None):
        self.name = name
        self.group = group_name(name)
        self.keyring = keyring_name(name)
        self.file = file
        self.keyfile = KeyFile()
        self.keyfile.add_group(self.group)
        if keyfile is not None:
            for k in keyfile.keys(self.group):
                self.keyfile.set_raw(self.group, k, keyfile.get_raw(self.group, k))
        self.fallback: "Remote | None" = None  # the parent repo's remote of this name
        self.is_file_url = False

    @classmethod
    def for_file_url(cls, url: str) -> "Remote":
        """The pseudo-remote a ``file://`` URL given as remote name stands for."""
        r = cls(url)
        r.is_file_url = True
        return r

    def __repr__(self):
        return f"Remote({self.name!r}, url={self.get_option('url')!r})"

    @property
    def options(self) -> dict:
        """Every key of this remote's group -> its string value."""
        return {k: self.keyfile.get(self.group, k) for k in self.keyfile.keys(self.group)}

    # ------------------------------------------------------------ generic access
    def get_raw(self, key: str, default=None):
        """The unescaped value as written (no fallback to the parent)."""
        return self.keyfile.get(self.group, key, default)

    def get_option(self, key: str, default=None):
        """ostree_repo_get_remote_option: the string value, else the parent's, else ``default``."""
        if self.is_file_url:
            return default
        v = self.keyfile.get(self.group, key)
        if v is not None:
            return v
        if self.fallback is not None:
            return self.fallback.get_option(key, default)
        return default

    def get_bool(self, key: str, default: bool = False) -> bool:
        """ostree_repo_get_remote_boolean_option; a non-boolean value raises as GKeyFile does."""
        if self.is_file_url:
            return default
        if self.keyfile.has_key(self.group, key):
            b = _truthy(self.keyfile.get_raw(self.group, key))
            if b is None:
                raise KeyFileError(f"Key file contains key “{key}” which has a value that "
                                   f"cannot be interpreted.")
            return b
        if self.fallback is not None:
            return self.fallback.get_bool(key, default)
        return default

    def get_list(self, key: str, separator: str = ";") -> list[str] | None:
        """ostree_repo_get_remote_list_option: a ``;``-separated list, or None when unset."""
        if self.is_file_url:
            return None
        if self.keyfile.has_key(self.group, key):
            return split_list(self.keyfile.get_raw(self.group, key), separator)
        if self.fallback is not None:
            return self.fallback.get_list(key, separator)
        return None

    def get_list_any_separator(self, key: str, separators: str = ";,") -> list[str] | None:
        """A list separated by whichever one of ``separators`` the value uses (gpgkeypath)."""
        raw = self.keyfile.get_raw(self.group, key) if self.keyfile.has_key(self.group, key) else None
        if raw is None:
            return None
        used = [s for s in separators if s in raw]
        if not used:
            return [raw]
        if len(used) > 1:
            raise OstreeError("key value list contains more than one separator")
        return split_list(raw, used[0])

    # ------------------------------------------------------------ typed access
    @property
    def url(self) -> str:
        """The URL (``mirrorlist=URL`` kept as is); raises when the remote has none."""
        if self.is_file_url:
            return self.name
        u = self.get_option("url")
        if u is None:
            raise OstreeError(f'No "url" option in remote "{self.name}"')
        return u

    @property
    def metalink(self) -> str | None:
        return self.get_option("metalink")

    @property
    def contenturl(self) -> str | None:
        return self.get_option("contenturl")

    @property
    def gpg_verify(self) -> bool:
        """Default True; never for a ``file://`` pseudo-remote."""
        if self.is_file_url:
            return False
        return self.get_bool("gpg-verify", True)

    @property
    def gpg_verify_summary(self) -> bool:
        return self.get_bool("gpg-verify-summary", False)

    def _sign_setting(self, key):
        raw = self.get_option(key)
        if raw is None or raw == "":
            return None
        b = _truthy(raw)
        if b is not None:
            return b
        return self.get_list(key) or []

    @property
    def sign_verify(self):
        """None (unset), True (any configured type), False, or a list of signature types."""
        return self._sign_setting("sign-verify")

    @property
    def sign_verify_summary(self):
        return self._sign_setting("sign-verify-summary")

    @property
    def collection_id(self) -> str | None:
        return self.get_option("collection-id")

    @property
    def branches(self) -> list[str]:
        return self.get_list("branches") or []

    @property
    def tls_permissive(self) -> bool:
        return self.get_bool("tls-permissive", False)

    @property
    def tls_client_cert_path(self) -> str | None:
        return self.get_option("tls-client-cert-path")

    @property
    def tls_client_key_path(self) -> str | None:
        return self.get_option("tls-client-key-path")

    @property
    def tls_ca_path(self) -> str | None:
        return self.get_option("tls-ca-path")

    @property
    def proxy(self) -> str | None:
        return self.get_option("proxy")

    @property
    def unconfigured_state(self) -> str | None:
        return self.get_option("unconfigured-state")

    @property
    def custom_backend(self) -> str | None:
        return self.get_option("custom-backend")

    @property
    def gpgkeypath(self) -> list[str] | None:
        return self.get_list_any_separator("gpgkeypath")

    def to_text(self) -> str:
        """The group as a key file of its own (a remotes.d file's contents)."""
        return self.keyfile.to_text()


# ---------------------------------------------------------------- sysroot context

def is_system_repo(repo) -> bool:
    """Whether ``repo`` is the system repo: opened through a sysroot, or /ostree/repo itself."""
    if getattr(repo, "sysroot_path", None) is not None:
        return True
    return _is_slash_ostree_repo(repo)


def _is_slash_ostree_repo(repo) -> bool:
    try:
        a = os.stat(repo.path)
        b = os.stat("/ostree/repo")
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def remotes_d_dir(repo, sysroot: str | None = None) -> str | None:
    """The remotes.d directory for ``repo`` (or the given ``sysroot``), or None.

    A repo opened through a sysroot (``open_sysroot_repo``) uses that sysroot's
    remotes.d only when the sysroot is not the physical root; /ostree/repo
    uses /etc/ostree/remotes.d; any other repo has none.
    """
    if sysroot is None:
        via = getattr(repo, "sysroot_path", None)
        if via is not None:
            if getattr(repo, "sysroot_is_physical", True):
                return None
            sysroot = via
        elif _is_slash_ostree_repo(repo):
            sysroot = "/"
        else:
            return None
    return os.path.join(sysroot, SYSCONF_REMOTES)


def add_remotes_config_dir(repo) -> bool:
    """core.add-remotes-config-dir (default: whether this is the system repo)."""
    cfg = repo.config
    if cfg.has_key("core", "add-remotes-config-dir"):
        return cfg.get_boolean("core", "add-remotes-config-dir")
    return is_system_repo(repo)


# ---------------------------------------------------------------- loading

def _remotes_of_keyfile(kf: KeyFile, file: str | None):
    for g in kf.groups():
        m = _GROUP_RE.match(g)
        if m:
            yield Remote(m.group(1), kf, file)


def load_remotes(repo) -> dict:
    """This repo's own remotes (not its parent's): name -> Remote, config first, then remotes.d."""
    out: dict[str, Remote] = {}

    def add_all(remotes):
        remotes = list(remotes)
        for r in remotes:
            if r.name in out:
                raise OstreeError(f'Multiple specifications found for remote "{r.name}"')
        for r in remotes:
            out[r.name] = r

    add_all(_remotes_of_keyfile(repo.config, None))
    d = remotes_d_dir(repo)
    if d is not None:
        try:
            entries = list(os.scandir(d))
        except (FileNotFoundError, NotADirectoryError):
            entries = []
        for e in entries:
            if e.name.endswith(".conf") and e.is_file():
                try:
                    kf = KeyFile.load(e.path)
                except OSError as err:
                    raise OstreeError(f"{e.path}: {os.strerror(err.errno)}") from None
                add_all(_remotes_of_keyfile(kf, e.path))
    return out


def _parent_chain(repo):
    r = repo
    while r is not None:
        yield r
        r = r.parent


def list_remotes(repo) -> list[str]:
    """Names of the remotes of ``repo`` and its parents, sorted (strcmp order)."""
    names = set()
    for r in _parent_chain(repo):
        names.update(load_remotes(r))
    return sorted(names, key=lambda s: s.encode("utf-8", "surrogateescape"))


@contextlib.contextmanager
def dynamic_remotes(repo, remotes):
    """Make ``remotes`` (Remote objects not in any config) known to ``repo`` for a while.

    As the reference's _ostree_repo_add_remote for the remotes repo finders
    make up: pulls, summaries and GPG checks find them by name; configured
    remotes of the same name win.
    """
    table = repo.__dict__.setdefault("_dynamic_remotes", {})
    added = [r for r in remotes if r.name not in table]
    for r in added:
        table[r.name] = r
    try:
        yield
    finally:
        for r in added:
            table.pop(r.name, None)


def find_remote(repo, name: str, inherited: bool = True) -> Remote | None:
    """The remote ``name`` (from a parent repo too, if ``inherited``), or None."""
    chain = list(_parent_chain(repo)) if inherited else [repo]
    found = None
    for r in chain:
        rem = load_remotes(r).get(name)
        if rem is None:
            continue
        if found is None:
            found = rem
            last = rem
        else:
            last.fallback = rem
            last = rem
    if found is None:
        found = getattr(repo, "__dict__", {}).get("_dynamic_remotes", {}).get(name)
    return found


def get_remote(repo, name: str) -> Remote:
    """The remote ``name`` (a ``file://`` URL stands for itself); raises when there is none."""
    if name.startswith("file://"):
        return Remote.for_file_url(name)
    r = find_remote(repo, name)
    if r is None:
        raise RemoteNotFoundError(f'Remote "{name}" not found')
    return r


def get_url(repo, name: str) -> str:
    """ostree_repo_remote_get_url."""
    return get_remote(repo, name).url


# ---------------------------------------------------------------- changes

def _option_raw(value) -> str:
    """How keyfile_set_from_vardict writes a value: string, boolean or string list."""
    from ostree_py.core.keyfile import escape_value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "".join(escape_value(v).replace(";", "\\;") + ";" for v in value)
    if isinstance(value, str):
        return escape_value(value)
    raise TypeError(f"unsupported remote option value {value!r}")


def _fill_group(kf: KeyFile, group: str, url: str | None, options: dict | None) -> None:
    if url is not None:
        if url.startswith("metalink="):
            kf.set(group, "metalink", url[len("metalink="):])
        else:
            kf.set(group, "url", url)
    for k, v in (options or {}).items():
        kf.set_raw(group, k, _option_raw(v))


def _write_remote_file(path: str, text: str) -> None:
    from ostree_py.util.fs import write_atomic
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, text.encode("utf-8", "surrogateescape"))


def add_remote(repo, name: str, url: str | None, options: dict | None = None,
               if_not_exists: bool = False, sysroot: str | None = None, force: bool = False) -> None:
    """Add remote ``name`` (OSTREE_REPO_REMOTE_CHANGE_ADD, _IF_NOT_EXISTS or, with ``force``, _REPLACE).

    ``url`` may be ``metalink=URL`` (stored as ``metalink``) or ``mirrorlist=URL``
    (stored as is). ``options`` is written in order after the URL: str values
    as strings, bools as true/false, lists as string lists; a later key
    overrides an earlier one in place. (``remote add --gpg-import`` then
    calls signing.remote_gpg.import_keys_from.)
    """
    validate_remote_name(name)
    if force:
        _replace_remote(repo, name, url, options, sysroot)
    else:
        existing = load_remotes(repo).get(name)
        if existing is not None:
            if not if_not_exists:
                where = existing.file or "(in config)"
                raise OstreeError(f'Remote configuration for "{name}" already exists: {where}')
        else:
            _add_new(repo, name, url, options, sysroot)


def _add_new(repo, name, url, options, sysroot):
    group = group_name(name)
    d = remotes_d_dir(repo, sysroot)
    if d is not None and add_remotes_config_dir(repo):
        kf = KeyFile()
        kf.add_group(group)
        _fill_group(kf, group, url, options)
        _write_remote_file(os.path.join(d, f"{name}.conf"), kf.to_text())
    else:
        repo.config.add_group(group)
        _fill_group(repo.config, group, url, options)
        repo.save_config()


def _replace_remote(repo, name, url, options, sysroot):
    existing = load_remotes(repo).get(name)
    if existing is None:
        _add_new(repo, name, url, options, sysroot)
        return
    group = group_name(name)
    kf = KeyFile()
    kf.add_group(group)
    _fill_group(kf, group, url, options)
    if existing.file is not None:
        _write_remote_file(existing.file, kf.to_text())
    else:
        # the group is removed and added again: it moves to the end of the config
        if repo.config.has_group(group):
            repo.config.remove_group(group)
        repo.config.add_group(group)
        for k in kf.keys(group):
            repo.config.set_raw(group, k, kf.get_raw(group, k))
        repo.save_config()


def delete_remote(repo, name: str, if_exists: bool = False, sysroot: str | None = None) -> bool:
    """Delete remote ``name`` and its keyring; its refs and cookie jar stay, as in the reference.

    Returns whether a remote was deleted. Only the repo's own remotes can be
    deleted (not its parent's).
    """
    validate_remote_name(name)
    existing = load_remotes(repo).get(name)
    if existing is None:
        if if_exists:
            return False
        raise RemoteNotFoundError(f'Remote "{name}" not found')
    if existing.file is not None:
        try:
            os.unlink(existing.file)
        except OSError as e:
            raise OstreeError(f"unlinkat({existing.file}): {os.strerror(e.errno)}") from None
    else:
        if repo.config.has_group(existing.group):
            repo.config.remove_group(existing.group)
            repo.save_config()
    try:
        os.unlink(os.path.join(repo.path, existing.keyring))
    except FileNotFoundError:
        pass
    except OSError as e:
        raise OstreeError(f"unlinkat({existing.keyring}): {os.strerror(e.errno)}") from None
    return True


def remote_keyring_path(repo, name: str) -> str:
    """Where remote ``name``'s own keyring lives in the repo (written by gpg-import)."""
    return os.path.join(repo.path, keyring_name(name))


def find_keyring(repo, remote: Remote) -> str | None:
    """The keyring file used to verify ``remote``: the repo's, else remotes.d's, else a parent's."""
    for r in _parent_chain(repo):
        p = os.path.join(r.path, remote.keyring)
        if os.path.exists(p):
            return p
        d = remotes_d_dir(r)
        if d is not None:
            p = os.path.join(d, remote.keyring)
            if os.path.exists(p):
                return p
    return None


def cookie_jar_path(repo, name: str) -> str:
    """The remote's cookie jar (Netscape format) in the repo directory."""
    return os.path.join(repo.path, f"{name}.cookies.txt")
