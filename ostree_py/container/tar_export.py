"""A commit as an ostree-ext tar stream (the "export" direction).

The stream is what ostree-ext's ``export_commit`` writes (format v1):

1. the root directory ``.`` (its dirmeta's owner and mode);
2. the repository skeleton, all root-owned: directories ``sysroot``,
   ``sysroot/ostree``, ``sysroot/ostree/repo``, ``.../repo/objects``,
   ``objects/00`` to ``objects/ff``, then ``extensions``, ``refs``,
   ``refs/heads``, ``refs/mirrors``, ``refs/remotes``, ``state``, ``tmp``,
   ``tmp/cache`` (mode 0755), and the file ``config`` (0644) declaring
   ``mode=bare-split-xattrs``;
3. the commit object, then its detached metadata if it has some, then the
   root dirmeta object (objects at ``sysroot/ostree/repo/objects/XX/REST.TYPE``,
   regular files 0644 owned by root);
4. the tree, directory by directory: the dirtree object, then each file
   (in dirtree order) as its content object the first time it is met --
   ``.file-xattrs-link`` (a regular file holding the ``a(ayay)`` xattrs),
   a PAX header with ``SCHILY.xattr.*`` for every xattr but
   ``security.selinux``, the ``.file`` entry (owner and permission bits of
   the object; a symlink's target) -- and then its path in the tree as a
   hardlink to the ``.file`` (a zero-length regular file as a regular
   entry instead); then each subdirectory's dirmeta object (first time),
   its directory entry and its contents. ``usr/etc`` is written as ``etc``;
   the root's ``sysroot`` directory gets no tree entries (it would clash
   with the skeleton);
5. ``var/tmp`` (root, 01777) when the commit has none; two zero blocks.

Objects are written once each. Memory stays flat in file sizes (contents
are streamed) and grows only with the number of distinct objects (their
32-byte digests are remembered to write each once).

One difference from ostree-ext: the objects under the root's ``sysroot``
directory are still written (without tree paths), so that a commit whose
``/sysroot`` holds the only copy of an object (even the empty dirtree)
comes back complete.
"""

from __future__ import annotations

import stat

from ostree_py.container.tarcodec import DIRECTORY, HARDLINK, REGULAR, SYMLINK, TarWriter
from ostree_py.core.objects import OBJTYPES, xattrs_to_bytes
from ostree_py.errors import ContainerError, ObjectNotFoundError

REPO_PREFIX = "sysroot/ostree/repo/"
OBJECTS_PREFIX = REPO_PREFIX + "objects/"
REPO_CONFIG = b"[core]\nrepo_version=1\nmode=bare-split-xattrs\n"
_SKELETON_SUBDIRS = ("extensions", "refs", "refs/heads", "refs/mirrors", "refs/remotes",
                     "state", "tmp", "tmp/cache")
SELINUX_XATTR = b"security.selinux"
_KIND = {"dirtree": b"t", "dirmeta": b"m", "file": b"f"}


def object_tar_path(checksum: str, objtype: str) -> bytes:
    """Where an object sits in the stream: ``sysroot/ostree/repo/objects/XX/REST.TYPE``
    (``objtype`` an ostree object type, or ``file-xattrs-link``)."""
    ext = OBJTYPES.get(objtype, objtype)
    return f"{OBJECTS_PREFIX}{checksum[:2]}/{checksum[2:]}.{ext}".encode()


def tree_tar_path(path: bytes) -> bytes:
    """The stream path of tree path ``path`` (relative, no leading ``./``): ``usr/etc``
    is written as ``etc``."""
    if path == b"usr/etc" or path.startswith(b"usr/etc/"):
        return path[4:]
    return path


class _Exporter:
    def __init__(self, repo, checksum: str, out, exclude: frozenset = frozenset()):
        self.repo = repo
        self.checksum = checksum
        self.exclude = exclude  # content objects (and their tree paths) other layers carry
        self.w = TarWriter(out)
        self.wrote: set[bytes] = set()  # (type byte + digest) of objects written
        self.wrote_vartmp = False

    def _once(self, objtype: str, checksum: str) -> bool:
        key = _KIND[objtype] + bytes.fromhex(checksum)
        if key in self.wrote:
            return False
        self.wrote.add(key)
        return True

    def dir_entry(self, path: bytes, uid: int, gid: int, mode: int) -> None:
        self.w.add(path, DIRECTORY, mode, uid, gid)

    def metadata_object(self, objtype: str, checksum: str, data: bytes | None = None) -> None:
        if objtype in ("dirtree", "dirmeta") and not self._once(objtype, checksum):
            return
        if data is None:
            data = self.repo.load_metadata_bytes(objtype, checksum)
        self.w.add(object_tar_path(checksum, objtype), REGULAR, 0o644, size=len(data), data=data)

    def skeleton(self) -> None:
        for d in ("sysroot", "sysroot/ostree", "sysroot/ostree/repo", "sysroot/ostree/repo/objects"):
            self.dir_entry(d.encode(), 0, 0, 0o755)
        for i in range(256):
            self.dir_entry(f"{OBJECTS_PREFIX}{i:02x}".encode(), 0, 0, 0o755)
        for d in _SKELETON_SUBDIRS:
            self.dir_entry((REPO_PREFIX + d).encode(), 0, 0, 0o755)
        self.w.add((REPO_PREFIX + "config").encode(), REGULAR, 0o644, size=len(REPO_CONFIG),
                   data=REPO_CONFIG)

    def content(self, checksum: str):
        """Write the content object if new; return (its info, object path)."""
        info, stream = self.repo.load_file(checksum)
        objpath = object_tar_path(checksum, "file")
        try:
            if self._once("file", checksum):
                xdata = xattrs_to_bytes(info.xattrs)
                self.w.add(object_tar_path(checksum, "file-xattrs-link"), REGULAR, 0o644,
                           size=len(xdata), data=xdata)
                self.w.pax([("SCHILY.xattr." + _xattr_name(n, checksum), v)
                            for n, v in info.xattrs if n != SELINUX_XATTR])
                if info.is_symlink:
                    self.w.add(objpath, SYMLINK, info.mode, info.uid, info.gid,
                               linkname=info.symlink_target.encode("utf-8", "surrogateescape"))
                else:
                    self.w.add(objpath, REGULAR, info.mode, info.uid, info.gid, size=info.size,
                               stream=stream)
        finally:
            if stream is not None:
                stream.close()
        return info, objpath

    def tree_file(self, path: bytes, checksum: str) -> None:
        info, objpath = self.content(checksum)
        if info.is_regular and info.size == 0:
            self.w.add(path, REGULAR, info.mode, info.uid, info.gid)
        else:
            self.w.add(path, HARDLINK, info.mode, info.uid, info.gid, linkname=objpath)

    def dirtree(self, path: bytes, checksum: str, with_paths: bool = True) -> None:
        self.metadata_object("dirtree", checksum)
        tree = self.repo.load_dirtree(checksum)
        for name, csum in tree.files:
            if csum in self.exclude:
                continue
            if with_paths:
                self.tree_file(tree_tar_path(_join(path, name)), csum)
            else:
                self.content(csum)
        if path == b"var/tmp":
            self.wrote_vartmp = True
        for name, tcsum, mcsum in tree.dirs:
            self.metadata_object("dirmeta", mcsum)
            sub = _join(path, name)
            if not with_paths or (path == b"" and name == "sysroot"):
                self.dirtree(sub, tcsum, with_paths=False)
                continue
            meta = self.repo.load_dirmeta(mcsum)
            self.dir_entry(tree_tar_path(sub), meta.uid, meta.gid, meta.mode)
            self.dirtree(sub, tcsum)

    def run(self) -> None:
        repo, csum = self.repo, self.checksum
        commit_data = repo.load_metadata_bytes("commit", csum)
        commit = repo.load_commit(csum)
        rootmeta = repo.load_dirmeta(commit.root_meta)
        self.dir_entry(b".", rootmeta.uid, rootmeta.gid, rootmeta.mode)
        self.skeleton()
        self.metadata_object("commit", csum, commit_data)
        try:
            detached = repo.load_metadata_bytes("commitmeta", csum)
        except ObjectNotFoundError:
            detached = None
        if detached is not None:
            self.metadata_object("commitmeta", csum, detached)
        self.metadata_object("dirmeta", commit.root_meta)
        self.dirtree(b"", commit.root_tree)
        if not self.wrote_vartmp:
            self.dir_entry(b"var/tmp", 0, 0, stat.S_IFDIR | 0o1777)
        self.w.finish()


def _xattr_name(name: bytes, checksum: str) -> str:
    try:
        return name.decode("utf-8")
    except UnicodeDecodeError:
        raise ContainerError(f"Found non-UTF-8 xattr {name!r} in object {checksum}") from None


def _join(parent: bytes, name: str) -> bytes:
    n = name.encode("utf-8", "surrogateescape")
    return parent + b"/" + n if parent else n


def export_commit_tar(repo, rev: str, out, exclude=frozenset()) -> str:
    """Write commit ``rev`` of ``repo`` to the binary stream ``out`` as an ostree-ext
    tar stream (see the module docstring); return the commit checksum.

    ``exclude``: content objects left out, with the tree paths linked to them (the
    chunk layers of a chunked image carry them, see export_chunk_tar)."""
    checksum = repo.resolve_rev(rev)
    _Exporter(repo, checksum, out, frozenset(exclude)).run()
    return checksum


def content_paths(repo, checksum: str, wanted) -> dict[str, list[bytes]]:
    """{content checksum: its tree paths (relative, as bytes)} of commit ``checksum``, for
    the objects in ``wanted``; memory grows with those objects only."""
    out: dict[str, list[bytes]] = {}
    stack = [(b"", repo.load_commit(checksum).root_tree)]
    while stack:
        path, tree_csum = stack.pop()
        tree = repo.load_dirtree(tree_csum)
        for name, csum in tree.files:
            if csum in wanted:
                out.setdefault(csum, []).append(_join(path, name))
        for name, tcsum, _ in reversed(tree.dirs):
            stack.append((_join(path, name), tcsum))
    return out


def export_chunk_tar(repo, checksum: str, objects: dict, out) -> None:
    """Write a chunk layer of commit ``checksum``, as ostree-ext's export_chunk does: the
    repository skeleton, then each content object of ``objects`` ({checksum: tree
    paths}, in checksum order) followed by its tree paths linked to it."""
    ex = _Exporter(repo, checksum, out)
    ex.skeleton()
    for csum in sorted(objects):
        for path in objects[csum]:
            ex.tree_file(tree_tar_path(path), csum)
    ex.w.finish()
