"""An ostree-ext tar stream into a repository (the "import" direction).

Reads what tar_export writes, and what ostree-ext writes (format v1, also
its chunked layers): the first entry under ``sysroot/ostree/repo/`` that is
not a directory, the ``config`` file or under ``refs/`` must be the commit
object; each ``.file`` must come right after its ``.file-xattrs-link``
(a regular file holding the ``a(ayay)`` xattrs, or a hardlink to a
``.file-xattrs`` object met before). Every object is verified against the
checksum in its name as it is written (contents are streamed), and at the
end the commit must be complete in the repository: every dirtree, dirmeta
and content object it reaches present.

Refused, with a ContainerError and nothing left in the repository (all of
it runs in one transaction): absolute paths and ``..``; paths under the
repository that are not part of its layout; a second commit; a content
object without its xattrs, or xattrs without their object; a tree path
hardlinked to anything but a content object already in the stream (or the
repository); oversized metadata, xattrs or header records; truncation.
"""

from __future__ import annotations

import hashlib
import re
import stat

from ostree_py.container.tar_export import OBJECTS_PREFIX, REPO_PREFIX
from ostree_py.container.tarcodec import DIRECTORY, HARDLINK, REGULAR, SYMLINK, TarReader
from ostree_py.core import gvariant
from ostree_py.core.content import FileInfo
from ostree_py.core.objects import COMMITMETA_TYPE, MAX_METADATA_SIZE, Commit, xattrs_from_bytes
from ostree_py.errors import ContainerError, OstreeError

# ostree-ext's cap on one object's xattrs; and on all the .file-xattrs objects kept
MAX_XATTRS_SIZE = 1 << 20
MAX_XATTRS_CACHE = 64 << 20
_OBJECT_NAME = re.compile(r"objects/([0-9a-f]{2})/([0-9a-f]{62})\.([a-z-]+)\Z")
_OBJECT_KINDS = ("commit", "commitmeta", "dirtree", "dirmeta", "file", "file-xattrs",
                 "file-xattrs-link")
# other parts of the skeleton, whose entries are skipped
_IGNORED_REPO_DIRS = ("refs/", "extensions/", "state/", "tmp/")


def _clean_path(raw: bytes) -> str:
    """The entry's path, relative, without ``./``; refuse absolute paths and ``..``."""
    try:
        path = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ContainerError(f"Invalid non-UTF-8 path in tar stream: {raw!r}") from None
    if path.startswith("/"):
        raise ContainerError(f"Invalid absolute path in tar stream: {path}")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ContainerError(f"Invalid path with '..' in tar stream: {path}")
    return "/".join(parts)


def parse_object_path(relpath: str) -> tuple[str, str]:
    """(checksum, kind) of ``objects/XX/REST.KIND`` (a path under the repository);
    raise ContainerError for anything else."""
    m = _OBJECT_NAME.match(relpath)
    if not m or m.group(3) not in _OBJECT_KINDS:
        raise ContainerError(f"Invalid object path in tar stream: {REPO_PREFIX}{relpath}")
    return m.group(1) + m.group(2), m.group(3)


class _Importer:
    def __init__(self, repo, verify_remote: str | None = None):
        self.repo = repo
        self.verify_remote = verify_remote
        self.verified = verify_remote is None
        self.commit: str | None = None
        self.pending: tuple[str, list] | None = None  # (file checksum, its xattrs)
        self.xattrs_cache: dict[str, bytes] = {}  # .file-xattrs objects by checksum
        self.xattrs_cached = 0
        self.objects = 0
        self.content_checksums: list | None = None  # collects content checksums if a list

    def entry(self, e) -> None:
        path = _clean_path(e.path)
        if e.typeflag not in (REGULAR, HARDLINK, SYMLINK, DIRECTORY):
            raise ContainerError(f"Unsupported tar entry type {e.typeflag!r} for {path}")
        if path + "/" == REPO_PREFIX or not path.startswith(REPO_PREFIX):
            self.tree_entry(e, path)
            return
        rel = path[len(REPO_PREFIX):]
        if e.typeflag == DIRECTORY:
            return
        if rel == "config" or rel.startswith(_IGNORED_REPO_DIRS):
            return
        if self.commit is None:
            self.first_object(e, rel)
        else:
            self.object(e, rel)

    def tree_entry(self, e, path: str) -> None:
        """A path of the tree (or of the skeleton above the repository)."""
        if e.typeflag != HARDLINK:
            return
        target = _clean_path(e.linkname)
        if not target.startswith(OBJECTS_PREFIX):
            raise ContainerError(f"Hardlink {path} to {target}: not an object of the stream")
        csum, kind = parse_object_path(target[len(REPO_PREFIX):])
        if kind != "file" or not self.repo.has_object("file", csum):
            raise ContainerError(f"Hardlink {path} to missing object {target}")

    def first_object(self, e, rel: str) -> None:
        csum, kind = parse_object_path(rel)
        if kind != "commit":
            raise ContainerError(f"Expected commit object, found {REPO_PREFIX}{rel}")
        data = self.metadata_bytes(e, rel)
        try:
            Commit.from_bytes(data)
        except OstreeError as err:
            raise ContainerError(f"Invalid commit object {csum}: {err.message}") from None
        self.repo.write_metadata("commit", data, expected=csum)
        self.repo.mark_commit_partial(csum, True)
        self.commit = csum
        self.objects += 1

    def metadata_bytes(self, e, rel: str) -> bytes:
        if e.typeflag != REGULAR:
            raise ContainerError(f"Invalid non-regular metadata object {REPO_PREFIX}{rel}")
        return e.read_all(MAX_METADATA_SIZE)

    def object(self, e, rel: str) -> None:
        csum, kind = parse_object_path(rel)
        if not self.verified and kind != "commitmeta":
            raise ContainerError(f"Using remote {self.verify_remote} for verification; expected "
                                 f"commitmeta object, not {kind}")
        if kind != "file" and kind != "file-xattrs" and self.pending is not None:
            raise ContainerError(f"Found dangling xattrs for file object {self.pending[0]}")
        if kind == "commit":
            raise ContainerError("Found multiple commit objects")
        if kind == "commitmeta":
            if csum != self.commit:
                raise ContainerError(f"Detached metadata {csum} is not the commit's")
            data = self.metadata_bytes(e, rel)
            try:
                gvariant.deserialize(COMMITMETA_TYPE, data)
            except OstreeError as err:
                raise ContainerError(f"Invalid detached metadata: {err.message}") from None
            if not self.verified:
                self.verify(data)
            self.repo.write_object_bytes("commitmeta", csum, data, replace=True)
        elif kind in ("dirtree", "dirmeta"):
            self.repo.write_metadata(kind, self.metadata_bytes(e, rel), expected=csum)
        elif kind == "file-xattrs":
            if e.typeflag != REGULAR:
                raise ContainerError(f"Invalid xattrs object {REPO_PREFIX}{rel}")
            data = e.read_all(MAX_XATTRS_SIZE)
            if hashlib.sha256(data).hexdigest() != csum:
                raise ContainerError(f"Corrupted xattrs object {csum}")
            if csum not in self.xattrs_cache:
                self.xattrs_cached += len(data)
                if self.xattrs_cached > MAX_XATTRS_CACHE:
                    raise ContainerError(f"Too many xattrs objects (over {MAX_XATTRS_CACHE} bytes)")
                self.xattrs_cache[csum] = data
        elif kind == "file-xattrs-link":
            self.xattrs_link(e, csum, rel)
        else:
            self.content(e, csum)
        self.objects += 1

    def verify(self, commitmeta: bytes) -> None:
        """The commit must be signed as its remote asks before anything else is written."""
        from ostree_py.signing import signature_verify_commit_data
        commit_bytes = self.repo.load_metadata_bytes("commit", self.commit)
        signature_verify_commit_data(self.repo, self.verify_remote, commit_bytes,
                                     gvariant.deserialize(COMMITMETA_TYPE, commitmeta))
        self.verified = True

    def xattrs_link(self, e, csum: str, rel: str) -> None:
        if self.pending is not None:
            raise ContainerError(f"Found dangling xattrs for file object {self.pending[0]}")
        if e.typeflag == REGULAR:
            data = e.read_all(MAX_XATTRS_SIZE)
        elif e.typeflag == HARDLINK:
            target = _clean_path(e.linkname)
            if not target.startswith(OBJECTS_PREFIX):
                raise ContainerError(f"Invalid xattrs link target {target}")
            xcsum, kind = parse_object_path(target[len(REPO_PREFIX):])
            if kind != "file-xattrs" or xcsum not in self.xattrs_cache:
                raise ContainerError(f"xattrs link {csum} to missing object {target}")
            data = self.xattrs_cache[xcsum]
        else:
            raise ContainerError(f"Invalid xattrs entry {REPO_PREFIX}{rel}")
        try:
            xattrs = xattrs_from_bytes(data)
        except OstreeError as err:
            raise ContainerError(f"Invalid xattrs for {csum}: {err.message}") from None
        self.pending = (csum, xattrs)

    def content(self, e, csum: str) -> None:
        if self.pending is None:
            raise ContainerError(f"Missing xattrs reference for file object {csum}")
        pcsum, xattrs = self.pending
        self.pending = None
        if pcsum != csum:
            raise ContainerError(f"Object mismatch: found xattrs for {pcsum}, then object {csum}")
        if self.content_checksums is not None:
            self.content_checksums.append(csum)
        if self.repo.has_object("file", csum):
            return
        if e.typeflag == REGULAR:
            info = FileInfo(stat.S_IFREG | (e.mode & 0o7777), e.uid, e.gid, e.size, "", xattrs)
            self.repo.write_content(info, stream=e, expected=csum)
        elif e.typeflag == SYMLINK:
            try:
                target = e.linkname.decode("utf-8")
            except UnicodeDecodeError:
                raise ContainerError(f"Non-UTF-8 symlink target in object {csum}") from None
            info = FileInfo(stat.S_IFLNK | 0o777, e.uid, e.gid, 0, target, xattrs)
            self.repo.write_content(info, expected=csum)
        else:
            raise ContainerError(f"Invalid tar entry type {e.typeflag!r} for object {csum}")

    def finish(self, reader) -> str:
        if self.commit is None:
            raise ContainerError("Commit object not found in tar stream")
        if not self.verified:
            raise ContainerError(f"Using remote {self.verify_remote} for verification; "
                                 "no detached metadata after the commit")
        if self.pending is not None:
            raise ContainerError(f"Found dangling xattrs for file object {self.pending[0]}")
        if not reader.ended:
            raise ContainerError("Truncated tar stream")
        check_commit_complete(self.repo, self.commit)
        self.repo.mark_commit_partial(self.commit, False)
        return self.commit


def check_commit_complete(repo, checksum: str) -> None:
    """Raise ContainerError unless every object commit ``checksum`` reaches is present."""
    commit = repo.load_commit(checksum)
    seen: set[str] = set()

    def need(objtype: str, csum: str) -> None:
        if not repo.has_object(objtype, csum):
            raise ContainerError(f"Commit {checksum} is incomplete: missing {objtype} {csum}")

    need("dirmeta", commit.root_meta)
    stack = [commit.root_tree]
    while stack:
        tree_csum = stack.pop()
        if tree_csum in seen:
            continue
        seen.add(tree_csum)
        need("dirtree", tree_csum)
        tree = repo.load_dirtree(tree_csum)
        for _, fcsum in tree.files:
            need("file", fcsum)
        for _, tcsum, mcsum in tree.dirs:
            need("dirmeta", mcsum)
            stack.append(tcsum)


def import_commit_tar(repo, stream, verify_remote: str | None = None) -> str:
    """Import the ostree-ext tar stream read from ``stream`` into ``repo`` (see the module
    docstring); return the commit checksum. Runs in a transaction of its own, or in the
    caller's (which then decides, e.g. after checking a digest, whether it lands).

    With ``verify_remote``, the commit's detached metadata must come right after it
    and sign it as that remote's configuration asks (gpg-verify, sign-verify), before
    any other object is written; anything else is refused."""
    reader = TarReader(stream)
    with repo.transaction():
        imp = _Importer(repo, verify_remote)
        for e in reader:
            imp.entry(e)
        return imp.finish(reader)


def import_object_set_tar(repo, stream, checksums: list | None = None) -> int:
    """Import the content objects of an ostree-ext chunk layer (no commit, no metadata
    objects); return how many objects it held, and append their checksums to
    ``checksums`` if given. Same checks as import_commit_tar."""
    reader = TarReader(stream)
    with repo.transaction():
        imp = _Importer(repo)
        imp.commit = ""  # no commit in a chunk: every object entry goes to object()
        imp.content_checksums = checksums
        for e in reader:
            path = _clean_path(e.path)
            if path.startswith(OBJECTS_PREFIX) and e.typeflag != DIRECTORY:
                kind = parse_object_path(path[len(REPO_PREFIX):])[1]
                if kind not in ("file", "file-xattrs", "file-xattrs-link"):
                    raise ContainerError(f"Found metadata object {path} in a chunk layer")
            imp.entry(e)
        if imp.pending is not None:
            raise ContainerError(f"Found dangling xattrs for file object {imp.pending[0]}")
        if not reader.ended:
            raise ContainerError("Truncated tar stream")
        return imp.objects
