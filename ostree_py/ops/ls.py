"""The lines ``ostree ls`` prints for paths in a commit.

Each entry is ``TMODE UID GID SIZE [CHECKSUMS] [{ XATTRS }] PATH [-> TARGET]``
with T one of ``d - l``, MODE as ``0%04o`` of the permission bits and SIZE
right-aligned in six columns; directories list their files, then their
subdirectories (dirtree order). ``-C`` adds the dirtree and dirmeta
checksums of a directory or the content checksum of a file.
"""

from ostree_py.core.objects import XATTRS_TYPE


def entry_line(f, info, checksum: bool = False, xattrs: bool = False, nul: bool = False) -> str:
    """The line for one entry (``f`` a RepoFile, ``info`` its Info)."""
    if nul:
        return f.path + "\0"
    kind = info.kind
    if kind == "file":
        t = "-"
    elif kind == "dir":
        t = "d"
    elif kind == "symlink":
        t = "l"
    else:
        import stat
        t = "c" if stat.S_ISCHR(info.mode) else "b" if stat.S_ISBLK(info.mode) else "?"
    parts = [f"{t}0{info.mode & 0o7777:04o} {info.uid} {info.gid} {info.size:6d} "]
    if checksum:
        if kind == "dir":
            f.ensure_resolved()
            parts.append(f"{f.tree_csum} ")
        parts.append(f"{f.checksum} ")
    if xattrs:
        from ostree_py.core.gvariant_text import print_variant
        wire = [(n + b"\0", v) for n, v in (info.xattrs or [])]
        parts.append(f"{{ {print_variant(XATTRS_TYPE, wire, True)} }} ")
    parts.append(f.path)
    if kind == "symlink":
        parts.append(f" -> {info.symlink_target}")
    parts.append("\n")
    return "".join(parts)


def _recurse(f, depth: int, opts: dict):
    for child, info in f.children():
        yield entry_line(child, info, **opts)
        if info.kind == "dir" and depth != 1:
            yield from _recurse(child, depth - 1 if depth > 0 else -1, opts)


def list_path(root, path: str, recursive: bool = False, dironly: bool = False, checksum: bool = False,
              xattrs: bool = False, nul: bool = False):
    """Yield the lines for ``path`` (and, unless ``dironly``, its children; all of them if ``recursive``)."""
    f = root.resolve_path(path)
    info = f.info()
    opts = dict(checksum=checksum, xattrs=xattrs, nul=nul)
    yield entry_line(f, info, **opts)
    if info.kind == "dir":
        if recursive:
            yield from _recurse(f, -1, opts)
        elif not dironly:
            yield from _recurse(f, 1, opts)
