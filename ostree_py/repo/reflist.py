"""Listing and writing refs exactly as ostree's ref API does (``ostree refs``).

The names, prefixes and errors follow libostree: a prefix is a refspec
(``REMOTE:REF``, ``REF``, or the special ``REMOTE:`` / ``REMOTE:.``); a prefix
naming a directory lists the refs below it (with or without the prefix cut
off), one naming a file lists just that ref. Hidden files (names that are not
valid ref fragments) are skipped. Aliases are symlinks under refs/heads.
Deleting a ref leaves its (possibly empty) parent directories behind, and
writing a ref over an empty directory of the same name replaces it, as the
reference does.
"""

import os
import stat

from ostree_py.errors import OstreeError, RefNotFoundError
from ostree_py.core.objects import (
    is_checksum,
    is_valid_collection_id,
    is_valid_ref_fragment,
    parse_refspec,
    validate_checksum_string,
    validate_collection_id,
    validate_ref,
    validate_remote_name,
)
from ostree_py.util.fs import mkdir_p, strerror, write_atomic

def _read_ref_contents(path: str) -> str:
    """The chomped contents of a ref file (glnx_file_get_contents_utf8_at)."""
    try:
        # O_NONBLOCK and a regular-file check: a FIFO or a device (a ref
        # symlinked to /dev/zero) would block or be read without end
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
                raise OstreeError("Not a regular file")
            os.set_blocking(fd, True)
            data = f.read()
    except OSError as e:
        raise OstreeError(f"{strerror(e)}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OstreeError("Invalid UTF-8") from None
    return text.rstrip(" \t\n\r\f\v")


def _scandir(path: str, what: str):
    try:
        return list(os.scandir(path))
    except OSError as e:
        raise OstreeError(f"opendir({what}): {strerror(e)}") from None


def _entry_type(e: os.DirEntry) -> str:
    if e.is_symlink():
        return "lnk"
    if e.is_dir(follow_symlinks=False):
        return "dir"
    if e.is_file(follow_symlinks=False):
        return "reg"
    return "other"


def _enumerate(out: dict, remote: str | None, aliases_only: bool, collection_id: str | None,
               base: str, base_path: str, path: str, what: str) -> None:
    """enumerate_refs_recurse: walk ``base/path``, naming entries ``base_path + name``."""
    full = os.path.normpath(os.path.join(base, path))
    for e in _scandir(full, what):
        name = e.name
        if not is_valid_ref_fragment(name):
            continue
        rel = base_path + name
        kind = _entry_type(e)
        if kind == "dir":
            _enumerate(out, remote, aliases_only, collection_id, base, rel + "/",
                       os.path.join(path, name), name)
        elif aliases_only and kind == "lnk":
            target = os.readlink(os.path.join(base, rel))
            while target.startswith("../"):
                target = target[3:]
            out[rel] = ("alias", target)
        elif (not aliases_only and kind == "reg") or kind == "lnk":
            _add_ref(out, remote, collection_id, base, rel)


def _add_ref(out: dict, remote, collection_id, base: str, rel: str) -> None:
    contents = _read_ref_contents(os.path.join(base, rel))
    if collection_id is not None:
        out[(collection_id, rel)] = contents
    else:
        out[f"{remote}:{rel}" if remote else rel] = contents


def list_refs_ext(repo, prefix: str | None = None, cut_prefix: bool = False, aliases: bool = False,
                  exclude_remotes: bool = False) -> dict:
    """ostree_repo_list_refs_ext (``cut_prefix`` False) / ostree_repo_list_refs (True).

    Returns refspec -> checksum text; with ``aliases`` only aliases are
    listed, as refspec -> ("alias", target). Errors carry "Listing refs: ".
    """
    try:
        return _list_refs(repo, prefix, cut_prefix, aliases, exclude_remotes)
    except OstreeError as e:
        raise OstreeError(f"Listing refs: {e.message}") from None


def _list_refs(repo, prefix, cut_prefix, aliases, exclude_remotes) -> dict:
    out: dict = {}
    rp = repo.path
    if prefix is not None:
        remote = ref_prefix = None
        if prefix.endswith(":") or prefix.endswith(":."):
            r = prefix[:prefix.rindex(":")]
            if is_valid_ref_fragment(r):
                remote, ref_prefix = r, "."
        if ref_prefix is None:
            remote, ref_prefix = parse_refspec(prefix)
        if not exclude_remotes and remote:
            prefix_path = f"refs/remotes/{remote}/"
        else:
            prefix_path = "refs/heads/"
        path = prefix_path + ref_prefix
        try:
            st = os.stat(os.path.join(rp, path))
        except FileNotFoundError:
            return out
        except OSError as e:
            raise OstreeError(f"fstatat({path}): {strerror(e)}") from None
        if stat.S_ISDIR(st.st_mode):
            if cut_prefix:
                _enumerate(out, remote, aliases, None, os.path.join(rp, path), "", ".", path)
            else:
                _enumerate(out, remote, aliases, None, os.path.join(rp, prefix_path), ref_prefix + "/",
                           ref_prefix, ref_prefix)
        else:
            _add_ref(out, remote, None, os.path.join(rp, prefix_path), ref_prefix)
        return out
    _enumerate(out, None, aliases, None, os.path.join(rp, "refs/heads"), "", ".", "refs/heads")
    if not exclude_remotes:
        for e in _scandir(os.path.join(rp, "refs/remotes"), "refs/remotes"):
            if not e.is_dir(follow_symlinks=False):
                continue
            _enumerate(out, e.name, aliases, None, e.path, "", ".", e.name)
    return out


def remote_collection_id(repo, remote: str) -> str | None:
    """The collection-id configured for a remote (repo config, remotes.d, parent repos), or None."""
    try:
        from ostree_py.repo.remotes import find_remote
    except ImportError:  # pragma: no cover - the remotes module is part of the package
        cfg = repo.config
        return cfg.get(f'remote "{remote}"', "collection-id")
    r = find_remote(repo, remote)
    return r.get_option("collection-id") if r is not None else None


def list_collection_refs(repo, match_collection_id: str | None = None, exclude_remotes: bool = False,
                         exclude_mirrors: bool = False) -> dict:
    """ostree_repo_list_collection_refs: (collection_id, ref) -> checksum text.

    Includes refs/heads (under the repo's own collection id), refs/mirrors/CID,
    and refs/remotes/REMOTE for remotes configured with a collection-id.
    """
    try:
        if match_collection_id is not None:
            validate_collection_id(match_collection_id)
        out: dict = {}
        rp = repo.path
        main = repo.collection_id
        if main is not None and match_collection_id in (None, main):
            heads = os.path.join(rp, "refs/heads")
            if not os.path.isdir(heads):
                raise OstreeError("opendir(refs/heads): No such file or directory")
            _enumerate(out, None, False, main, heads, "", ".", "refs/heads")
        dirs = []
        if not exclude_mirrors:
            dirs.append("refs/mirrors")
        if not exclude_remotes:
            dirs.append("refs/remotes")
        for d in dirs:
            try:
                entries = list(os.scandir(os.path.join(rp, d)))
            except FileNotFoundError:
                continue
            except OSError as e:
                raise OstreeError(f"opendir({d}): {strerror(e)}") from None
            for e in entries:
                if not e.is_dir(follow_symlinks=False):
                    continue
                if d == "refs/mirrors":
                    cid = e.name
                else:
                    cid = remote_collection_id(repo, e.name)
                    if not is_valid_collection_id(cid):
                        continue
                if match_collection_id is not None and match_collection_id != cid:
                    continue
                _enumerate(out, None, False, cid, e.path, "", ".", e.name)
        return out
    except OstreeError as e:
        raise OstreeError(f"Listing refs: {e.message}") from None


# ---------------------------------------------------------------- writing

def _write_checksum_file(repo, dirpath: str, name: str, checksum: str) -> None:
    """write_checksum_file_at: NAME (relative to dirpath) := CHECKSUM + newline."""
    validate_checksum_string(checksum)
    if is_checksum(name):
        raise OstreeError(f"Rev name '{name}' looks like a checksum")
    if not name:
        raise OstreeError("Invalid empty ref name")
    parent = os.path.dirname(name)
    if parent:
        mkdir_p(dirpath, parent)
    data = (checksum + "\n").encode("ascii")
    dest = os.path.join(dirpath, name)
    try:
        write_atomic(dest, data, fsync=repo.fsync)
    except IsADirectoryError:
        # an (empty) directory of refs may be replaced by a ref of the same name
        below = list_refs_ext(repo, name, cut_prefix=True)
        for k in below:
            if k != name:
                raise OstreeError(f"Conflict: {k} exists under {name} when attempting write") from None
        import shutil
        shutil.rmtree(dest)
        write_atomic(dest, data, fsync=repo.fsync)


def _touch_repo(repo) -> None:
    try:
        os.utime(repo.path)
    except OSError as e:
        raise OstreeError(f"futimens: {strerror(e)}") from None


def _maybe_regenerate_summary(repo) -> None:
    from ostree_py.repo.summary import maybe_regenerate_summary
    maybe_regenerate_summary(repo)


def write_ref(repo, remote: str | None, ref: str, checksum: str | None = None, alias: str | None = None,
              collection_id: str | None = None) -> None:
    """_ostree_repo_write_ref: set (checksum), alias (alias target) or delete (neither) a ref."""
    if remote is not None:
        validate_remote_name(remote)
    if collection_id is not None:
        validate_collection_id(collection_id)
    validate_ref(ref)
    if checksum is not None:
        # the ref may name objects this transaction has only staged
        repo.publish_staged()
    rp = repo.path
    if remote is None and (collection_id is None or collection_id == repo.collection_id):
        dirpath = os.path.join(rp, "refs/heads")
        if not os.path.isdir(dirpath):
            raise OstreeError("opendir(refs/heads): No such file or directory")
    elif remote is None:
        mirrors = os.path.join(rp, "refs/mirrors")
        os.makedirs(mirrors, 0o777, exist_ok=True)
        if checksum is not None:
            os.makedirs(os.path.join(mirrors, collection_id), 0o777, exist_ok=True)
        dirpath = os.path.join(mirrors, collection_id)
        if not os.path.isdir(dirpath):
            if checksum is not None or os.path.exists(dirpath):
                raise OstreeError(f"Opening mirrors/ dir {collection_id}: Not a directory")
            dirpath = None
    else:
        remotes = os.path.join(rp, "refs/remotes")
        if not os.path.isdir(remotes):
            raise OstreeError("opendir(refs/remotes): No such file or directory")
        if checksum is not None:
            mkdir_p(remotes, remote)
        dirpath = os.path.join(remotes, remote)
        if not os.path.isdir(dirpath):
            if checksum is not None or os.path.exists(dirpath):
                raise OstreeError(f"Opening remotes/ dir {remote}: Not a directory")
            dirpath = None

    if checksum is None and alias is None:
        if dirpath is not None:
            try:
                os.unlink(os.path.join(dirpath, ref))
            except FileNotFoundError:
                pass
            except OSError as e:
                raise OstreeError(f"unlinkat({ref}): {strerror(e)}") from None
    elif checksum is not None:
        _write_checksum_file(repo, dirpath, ref, checksum)
    else:
        parent = os.path.dirname(ref)
        if parent:
            mkdir_p(dirpath, parent)
        target = "../" * ref.count("/") + alias
        tmp = os.path.join(repo.path, "tmp", f"tmplink-{os.getpid()}-{os.urandom(6).hex()}")
        os.symlink(target, tmp)
        try:
            os.rename(tmp, os.path.join(dirpath, ref))
        except OSError as e:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise OstreeError(f"renameat: {strerror(e)}") from None
    _touch_repo(repo)
    _maybe_regenerate_summary(repo)


def resolve_ref_noent_ok(repo, refspec: str, local_only: bool = False) -> str | None:
    """resolve_rev with allow_noent; a ref that is a directory counts as absent."""
    try:
        return repo.resolve_rev_ext(refspec, True, local_only)
    except RefNotFoundError:
        return None
