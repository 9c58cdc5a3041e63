"""Paths inside a commit's tree, resolved the way OstreeRepoFile resolves them.

``RepoFile.root(repo, commit_checksum)`` is ``/`` of a commit; ``resolve_path``
follows ostree's rules (an absolute path starts at the root, each component
up to and including a ``/`` names a child, a trailing ``/`` is dropped once,
so ``a//b`` or ``/a/.`` look up a child named "" or "." and fail), and a file
is looked up only when it is used: ``info()``, ``children()``, ``open()``.
Errors read like the reference's: ``No such file or directory: /a/b``,
``Not a directory``, ``Can't open directory``.
"""

import stat

from ostree_py.errors import InvalidObjectError, OstreeError

_MAX_SYMLINK_DEPTH = 40


class Info:
    """What ls/diff need to know about an entry: like a GFileInfo from an OstreeRepoFile."""

    __slots__ = ("kind", "mode", "uid", "gid", "size", "symlink_target", "xattrs")

    def __init__(self, kind, mode, uid, gid, size=0, symlink_target=None, xattrs=None):
        self.kind = kind          # "dir", "file" (regular), "symlink", "special"
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.symlink_target = symlink_target
        self.xattrs = xattrs      # [(name, value)] without NUL, or None when not loaded


def file_info_from(finfo) -> Info:
    """An Info for a content object's FileInfo."""
    mode = finfo.mode
    if stat.S_ISREG(mode):
        kind, size, target = "file", finfo.size, None
    elif stat.S_ISLNK(mode):
        kind, size, target = "symlink", 0, finfo.symlink_target
    else:
        kind, size, target = "special", 0, None
    return Info(kind, mode, finfo.uid, finfo.gid, size, target, finfo.xattrs)


def load_file_info(repo, checksum: str) -> Info:
    """Info of a content object (opens nothing it does not need)."""
    finfo, stream = repo.load_file(checksum)
    if stream is not None:
        stream.close()
    return file_info_from(finfo)


class RepoFile:
    """A path in a commit's tree (root when ``parent`` is None)."""

    __slots__ = ("repo", "parent", "name", "tree_csum", "meta_csum", "_tree", "_meta", "_file_csum",
                 "_resolved", "_index")

    def __init__(self, repo, parent, name, tree_csum=None, meta_csum=None):
        self.repo = repo
        self.parent = parent
        if name is not None and name.endswith("/"):
            name = name[:-1]
        self.name = name
        self.tree_csum = tree_csum
        self.meta_csum = meta_csum
        self._tree = None
        self._meta = None
        self._file_csum = None
        self._resolved = False
        self._index = None

    @classmethod
    def root(cls, repo, commit_checksum: str) -> "RepoFile":
        """``/`` of a commit (the commit object is loaded now, its tree later)."""
        commit = repo.load_commit(commit_checksum)
        return cls(repo, None, None, commit.root_tree, commit.root_meta)

    @classmethod
    def for_tree(cls, repo, tree_csum: str, meta_csum: str) -> "RepoFile":
        return cls(repo, None, None, tree_csum, meta_csum)

    # ------------------------------------------------------------ names
    @property
    def path(self) -> str:
        names = []
        p = self.parent
        while p is not None and p.parent is not None:
            names.append(p.name)
            p = p.parent
        prefix = "".join("/" + n for n in reversed(names))
        return prefix + "/" + (self.name or "")

    def get_root(self) -> "RepoFile":
        f = self
        while f.parent is not None:
            f = f.parent
        return f

    def child(self, name: str) -> "RepoFile":
        return RepoFile(self.repo, self, name)

    def resolve_path(self, relpath: str) -> "RepoFile":
        """g_file_resolve_relative_path for an OstreeRepoFile (see the module docstring)."""
        f = self
        if relpath.startswith("/"):
            if relpath == "/":
                return self.get_root()
            f = self.get_root()
            relpath = relpath[1:]
        while True:
            i = relpath.find("/")
            if i < 0:
                return f.child(relpath)
            f = f.child(relpath[:i + 1])
            relpath = relpath[i + 1:]

    # ------------------------------------------------------------ resolution
    def ensure_resolved(self) -> None:
        if self._resolved:
            return
        if self.parent is None:
            self._tree = self.repo.load_dirtree(self.tree_csum)
            self._meta = self.repo.load_dirmeta(self.meta_csum)
            self._resolved = True
            return
        p = self.parent
        p.ensure_resolved()
        if p._tree is None:
            raise OstreeError("Not a directory")
        ent = p._child_index().get(self.name)
        if ent is None:
            raise FileNotFoundError_(f"No such file or directory: {self.path}")
        if len(ent) == 1:
            self._file_csum = ent[0]
        else:
            self.tree_csum, self.meta_csum = ent
            self._tree = self.repo.load_dirtree(self.tree_csum)
            self._meta = self.repo.load_dirmeta(self.meta_csum)
        self._resolved = True

    def _child_index(self) -> dict:
        """name -> (file csum,) or (tree csum, meta csum); a file wins over a directory, as in bsearch order."""
        if self._index is None:
            idx = {n: (tc, mc) for n, tc, mc in self._tree.dirs}
            idx.update((n, (c,)) for n, c in self._tree.files)
            self._index = idx
        return self._index

    def is_dir(self) -> bool:
        self.ensure_resolved()
        return self._tree is not None

    @property
    def checksum(self) -> str:
        """The dirmeta checksum of a directory, the content checksum of a file."""
        self.ensure_resolved()
        return self.meta_csum if self._tree is not None else self._file_csum

    @property
    def dirtree(self):
        self.ensure_resolved()
        return self._tree

    @property
    def dirmeta(self):
        self.ensure_resolved()
        return self._meta

    def info(self) -> Info:
        """query_info: mode/uid/gid/size/target (and xattrs) of this entry."""
        self.ensure_resolved()
        if self._tree is not None:
            m = self._meta
            return Info("dir", m.mode, m.uid, m.gid, 0, None, m.xattrs)
        return load_file_info(self.repo, self._file_csum)

    def xattrs(self):
        return self.info().xattrs or []

    def children(self):
        """Yield (child RepoFile, Info) in the reference's order: files, then directories."""
        self.ensure_resolved()
        tree = self._tree
        if tree is None:
            raise OstreeError("Not a directory")
        for n, c in tree.files:
            ch = RepoFile(self.repo, self, n)
            ch._file_csum = c
            ch._resolved = True
            yield ch, load_file_info(self.repo, c)
        for n, tc, mc in tree.dirs:
            ch = RepoFile(self.repo, self, n, tc, mc)
            a = self
            while a is not None:
                if a.tree_csum == tc:
                    # only possible with objects whose content does not match their name;
                    # walking into it would never end
                    raise InvalidObjectError(f"Corrupted dirtree object {tc}: it contains itself "
                                             f"(at {ch.path})")
                a = a.parent
            meta = self.repo.load_dirmeta(mc)
            yield ch, Info("dir", meta.mode, meta.uid, meta.gid, 0, None, meta.xattrs)

    def child_names(self):
        """(name, is_dir) of the children, without loading them."""
        self.ensure_resolved()
        tree = self._tree
        if tree is None:
            raise OstreeError("Not a directory")
        return [(n, False) for n, _ in tree.files] + [(n, True) for n, _, _ in tree.dirs]

    def lookup_child(self, name: str):
        """The child named ``name`` (unresolved), or None when this directory has none."""
        self.ensure_resolved()
        if self._tree is None:
            return None
        ent = self._child_index().get(name)
        if ent is None:
            return None
        if len(ent) == 1:
            ch = RepoFile(self.repo, self, name)
            ch._file_csum, ch._resolved = ent[0], True
            return ch
        return RepoFile(self.repo, self, name, ent[0], ent[1])

    def open(self, _depth: int = 0):
        """A binary stream of the file's contents, following symlinks within the tree."""
        self.ensure_resolved()
        if self._tree is not None:
            raise OstreeError("Can't open directory")
        finfo, stream = self.repo.load_file(self._file_csum)
        if stream is not None and stat.S_ISREG(finfo.mode):
            return stream
        if stream is not None:
            stream.close()
        if not stat.S_ISLNK(finfo.mode):
            raise OstreeError(f"Not a regular file or symbolic link: {self.path}")
        if _depth >= _MAX_SYMLINK_DEPTH:
            raise OstreeError(f"Too many levels of symbolic links: {self.path}")
        target = self.parent.resolve_path(finfo.symlink_target)
        return target.open(_depth + 1)


class FileNotFoundError_(OstreeError):
    """A path that the tree does not contain (G_IO_ERROR_NOT_FOUND)."""
