"""Compiling a static delta (ostree_repo_static_delta_generate).

The delta carries every object reachable from TO and not from FROM (all of
TO's from scratch), except the TO commit itself, which is in the superblock:

1. metadata objects, spliced whole;
2. modified regular files, as bsdiff patches against the FROM file they most
   likely replace (same base name, or same name before the first dot, and a
   size within 30%; compressed .xz/.bz2 files and empty files excluded; the
   old file must be world-readable so any client can read it);
3. the other new regular files, spliced whole, except those larger than
   ``min_fallback_size`` which become fallback entries (fetched as plain
   objects by a pull);
4. symlinks.

Objects go into parts of at most ``max_chunk_size`` payload bytes. bsdiff
patches are computed on a thread pool before the parts are laid out, and
each finished part is xz-compressed on the pool while the next fills up.
The reference also finds rolling-checksum matches ("rollsum"); this compiler
does not (it uses bsdiff instead), but applies such deltas.
"""

import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor

from ostree_py.core.content import file_header
from ostree_py.errors import OstreeError
from ostree_py.core.gvariant import Variant
from ostree_py.core.objects import OBJTYPE_IDS, xattrs_to_wire
from ostree_py.repo.traverse import key_parts, parse_dirtree_lenient, traverse_commit
from ostree_py.deltas import format as fmt

SIMILARITY_THRESHOLD_PERCENT = 30
_META_TYPES = ("dirtree", "dirmeta", "commit", "tombstone-commit", "commitmeta")


class GenerateOptions:
    """The generate parameters (sizes in megabytes of 1000*1000 bytes, as the reference)."""

    def __init__(self, min_fallback_size: int = 4, max_bsdiff_size: int = 128, max_chunk_size: int = 32,
                 bsdiff: bool = True, inline: bool = False, endianness: str | None = None,
                 filename: str | None = None, metadata: dict | None = None, sign=None, sign_keys=(),
                 compression: int = fmt.COMPRESSION_XZ, threads: int | None = None, log=None):
        self.min_fallback_size = min_fallback_size
        self.max_bsdiff_size = max_bsdiff_size
        self.max_chunk_size = max_chunk_size
        self.bsdiff = bsdiff
        self.inline = inline
        self.endianness = endianness or fmt.HOST_ENDIAN
        self.filename = filename
        self.metadata = metadata or {}
        self.sign = sign
        self.sign_keys = list(sign_keys)
        self.compression = compression
        self.threads = threads or min(4, os.cpu_count() or 1)
        self.log = log or (lambda _msg: None)


class _Part:
    __slots__ = ("objects", "payload", "ops", "modes", "mode_index", "xattrs", "xattr_index",
                 "usize", "future", "data", "header")

    def __init__(self):
        self.objects = []
        self.payload = bytearray()
        self.ops = bytearray()
        self.modes = []
        self.mode_index = {}
        self.xattrs = []
        self.xattr_index = {}
        self.usize = 0
        self.future = None
        self.data = None
        self.header = None

    def mode_ofs(self, info) -> int:
        from ostree_py.core.gvariant import bswap32
        key = (bswap32(info.uid), bswap32(info.gid), bswap32(info.mode))
        i = self.mode_index.get(key)
        if i is None:
            i = self.mode_index[key] = len(self.modes)
            self.modes.append(key)
        return i

    def xattr_ofs(self, info) -> int:
        wire = tuple((bytes(n), bytes(v)) for n, v in xattrs_to_wire(info.xattrs))
        i = self.xattr_index.get(wire)
        if i is None:
            i = self.xattr_index[wire] = len(self.xattrs)
            self.xattrs.append(list(wire))
        return i


def _load_info(repo, csum: str):
    info, stream = repo.load_file(csum)
    if stream is not None:
        stream.close()
    return info


def _load_content(repo, csum: str) -> bytes:
    info, stream = repo.load_file(csum)
    if stream is None:
        return info.symlink_target.encode("utf-8", "surrogateescape")
    try:
        return stream.read()
    finally:
        stream.close()


def _storage_size(repo, objtype: str, csum: str) -> int:
    r, p = repo.find_object(objtype, csum)
    return os.lstat(p).st_size


# ---------------------------------------------------------------- similar objects

def _sizenames(repo, commit_csum: str, include_only: set | None, infos: dict):
    """[(size, checksum, [basenames])] of the regular files of a commit, sorted by size."""
    from ostree_py.repo.traverse import parse_commit_lenient
    data = repo.load_metadata_bytes("commit", commit_csum)
    _parent, tree, _meta, _ts, _md = parse_commit_lenient(data)
    table = {}
    seen_trees = set()
    stack = [bytes(tree)]
    while stack:
        t = stack.pop()
        files, dirs = parse_dirtree_lenient(repo.load_metadata_bytes("dirtree", t.hex()))
        for name, fraw in files:
            csum = bytes(fraw).hex()
            if include_only is not None and csum not in include_only:
                continue
            entry = table.get(csum)
            if entry is None:
                info = infos.get(csum)
                if info is None:
                    info = infos[csum] = _load_info(repo, csum)
                if not info.is_regular:
                    continue
                entry = table[csum] = [info.size, csum, []]
            entry[2].append(name)
        for _name, sub, _m in dirs:
            sub = bytes(sub)
            if sub not in seen_trees:
                seen_trees.add(sub)
                stack.append(sub)
    out = sorted(table.values(), key=lambda e: e[0])
    return out


def _names_intersect(a, b, fuzzy: bool) -> bool:
    for x in a:
        xdot = x.find(".")
        for y in b:
            ydot = y.find(".")
            if fuzzy and xdot > 0 and ydot > 0 and xdot == ydot:
                if x[:xdot] == y[:ydot]:
                    return True
            elif x == y:
                return True
    return False


def _is_candidate(entry) -> bool:
    if entry[0] == 0:
        return False
    for name in entry[2]:
        dot = name.rfind(".")
        if dot >= 0 and name[dot + 1:] in ("xz", "bz2"):
            return False
    return True


def compute_similar_objects(repo, from_commit: str, to_commit: str, new_regfiles: set, infos: dict) -> dict:
    """{to checksum: from checksum} of new regular files that look like modified old ones."""
    from_sizes = _sizenames(repo, from_commit, None, infos)
    to_sizes = _sizenames(repo, to_commit, new_regfiles, infos)
    out = {}
    lower = 0
    upper = len(from_sizes)
    for to in to_sizes:
        if not _is_candidate(to):
            continue
        min_t = int(to[0] * (1.0 - SIMILARITY_THRESHOLD_PERCENT / 100.0))
        max_t = int(to[0] * (1.0 + SIMILARITY_THRESHOLD_PERCENT / 100.0))
        found = False
        for fuzzy in (False, True):
            if found:
                break
            j = lower
            while j < upper:
                frm = from_sizes[j]
                j += 1
                if not _is_candidate(frm):
                    continue
                if frm[0] < min_t:
                    lower += 1
                    continue
                if frm[0] > max_t:
                    break
                if not _names_intersect(frm[2], to[2], fuzzy):
                    continue
                out[to[1]] = frm[1]
                found = True
                break
    return out


# ---------------------------------------------------------------- the compiler

class _Builder:
    def __init__(self, repo, opts: GenerateOptions, pool):
        self.repo = repo
        self.o = opts
        self.pool = pool
        self.parts = []
        self.max_chunk = opts.max_chunk_size * 1000 * 1000
        self.loose_size = 0
        self.pending = []

    def new_part(self) -> _Part:
        if self.parts:
            self.finish_part(self.parts[-1])
        p = _Part()
        self.parts.append(p)
        return p

    @property
    def cur(self) -> _Part:
        return self.parts[-1]

    def finish_part(self, part: _Part) -> None:
        body = fmt.serialize_part_payload(part.modes, part.xattrs, bytes(part.payload), bytes(part.ops))
        part.payload = part.ops = None
        # bound the memory held by parts waiting for their compression
        while len(self.pending) > self.o.threads:
            self.pending.pop(0).result()
        part.future = self.pool.submit(fmt.compress_part, body, self.o.compression)
        self.pending.append(part.future)

    def _maybe_split(self, size: int) -> None:
        """Start a new part if this one has objects and ``size`` more bytes would overflow it."""
        cur = self.cur
        if cur.objects and len(cur.payload) + size > self.max_chunk:
            self.new_part()

    def add_metadata(self, objtype: str, csum: str) -> None:
        data = self.repo.load_metadata_bytes(objtype, csum)
        self._maybe_split(len(data))
        part = self.cur
        self.loose_size += _storage_size(self.repo, objtype, csum)
        part.usize += len(data)
        part.objects.append((objtype, csum))
        start = len(part.payload)
        part.payload += data
        part.ops.append(fmt.OP_OPEN_SPLICE_AND_CLOSE)
        fmt.write_varuint64(part.ops, len(data))
        fmt.write_varuint64(part.ops, start)

    def add_content(self, csum: str, info) -> None:
        if info.is_symlink:
            data = info.symlink_target.encode("utf-8", "surrogateescape")
            size = 0
        else:
            data = _load_content(self.repo, csum)
            size = len(data)
        self._maybe_split(size)
        part = self.cur
        self.loose_size += _storage_size(self.repo, "file", csum)
        part.usize += size
        part.objects.append(("file", csum))
        mode_ofs = part.mode_ofs(info)
        xattr_ofs = part.xattr_ofs(info)
        start = len(part.payload)
        part.payload += data
        ops = part.ops
        ops.append(fmt.OP_OPEN_SPLICE_AND_CLOSE)
        fmt.write_varuint64(ops, mode_ofs)
        fmt.write_varuint64(ops, xattr_ofs)
        fmt.write_varuint64(ops, len(data))
        fmt.write_varuint64(ops, start)

    def add_bsdiff(self, to_csum: str, from_csum: str, info, patch: bytes) -> None:
        self._maybe_split(0)
        part = self.cur
        part.usize += info.size
        part.objects.append(("file", to_csum))
        mode_ofs = part.mode_ofs(info)
        xattr_ofs = part.xattr_ofs(info)
        ops = part.ops
        ops.append(fmt.OP_SET_READ_SOURCE)
        fmt.write_varuint64(ops, len(part.payload))
        part.payload += bytes.fromhex(from_csum)
        ops.append(fmt.OP_OPEN)
        fmt.write_varuint64(ops, mode_ofs)
        fmt.write_varuint64(ops, xattr_ofs)
        fmt.write_varuint64(ops, info.size)
        ops.append(fmt.OP_BSPATCH)
        fmt.write_varuint64(ops, len(part.payload))
        fmt.write_varuint64(ops, len(patch))
        part.payload += patch
        ops.append(fmt.OP_CLOSE)
        ops.append(fmt.OP_UNSET_READ_SOURCE)


def _reachable(repo, commit: str) -> set:
    reachable = set()
    traverse_commit(repo, commit, 0, reachable)
    return reachable


def _bsdiff_job(repo, from_csum: str, to_csum: str) -> bytes:
    from ostree_py.deltas import bsdiff
    return bsdiff.diff(_load_content(repo, from_csum), _load_content(repo, to_csum))


def generate_delta(repo, frm: str | None, to: str, opts: GenerateOptions | None = None) -> dict:
    """Write the delta FROM (None: from scratch) -> TO; return statistics.

    Written to the repository's ``deltas/`` unless ``opts.filename`` names
    the superblock file (parts then go beside it). Parts are written first,
    the superblock last, each through a temporary file.
    """
    opts = opts or GenerateOptions()
    log = opts.log
    to_commit_data = repo.load_metadata_bytes("commit", to)
    if opts.filename is not None:
        if opts.filename == "":
            raise OstreeError("Invalid 'filename' parameter")
        out_dir = os.path.dirname(opts.filename) or "."
        sb_name = os.path.basename(opts.filename)
        if not os.path.isdir(out_dir):
            raise OstreeError(f"opendir({out_dir}): {os.strerror(2)}")
    else:
        out_dir = os.path.join(repo.path, fmt.delta_dir(frm, to))
        sb_name = "superblock"

    from_reachable = _reachable(repo, frm) if frm else set()
    to_reachable = _reachable(repo, to)
    new_meta = []
    new_regfiles = []
    new_symlinks = []
    infos = {}
    for key in to_reachable:
        if key in from_reachable:
            continue
        csum, objtype = key_parts(key)
        if objtype in _META_TYPES:
            new_meta.append((objtype, csum))
        else:
            info = infos.get(csum)
            if info is None:
                info = infos[csum] = _load_info(repo, csum)
            if info.is_regular:
                new_regfiles.append(csum)
            elif info.is_symlink:
                new_symlinks.append(csum)
            else:
                raise OstreeError(f"Invalid file object {csum}")
    new_regfiles.sort()
    new_symlinks.sort()
    n_meta_total = len(new_meta)
    # dirtrees and dirmetas sorted for a reproducible layout; the commit is in the superblock
    new_meta = sorted(m for m in new_meta if m != ("commit", to))

    modified = {}
    if frm:
        modified = compute_similar_objects(repo, frm, to, set(new_regfiles), infos)
    log(f"modified: {len(modified)}")
    log(f"new reachable: metadata={n_meta_total} content regular={len(new_regfiles)} "
        f"symlink={len(new_symlinks)}")

    max_bsdiff = opts.max_bsdiff_size * 1000 * 1000
    bsdiff_pairs = {}
    if opts.bsdiff:
        for to_csum, from_csum in sorted(modified.items()):
            from_info = infos.get(from_csum) or _load_info(repo, from_csum)
            if not from_info.mode & stat.S_IROTH:
                continue
            if infos[to_csum].size + from_info.size > max_bsdiff:
                continue
            bsdiff_pairs[to_csum] = from_csum
    log(f"rollsum for 0/{len(modified)} modified")

    min_fallback = opts.min_fallback_size * 1000 * 1000
    fallbacks = []
    whole_files = []
    for csum in new_regfiles:
        if csum in bsdiff_pairs:
            continue
        info = infos[csum]
        stream_size = 8 + len(file_header(info)) + info.size
        if min_fallback > 0 and stream_size > min_fallback:
            fallbacks.append(csum)
        else:
            whole_files.append(csum)

    with ThreadPoolExecutor(max_workers=opts.threads) as pool:
        patches = {t: pool.submit(_bsdiff_job, repo, f, t) for t, f in bsdiff_pairs.items()}
        b = _Builder(repo, opts, pool)
        b.new_part()
        for objtype, csum in new_meta:
            b.add_metadata(objtype, csum)
        n_bsdiff = 0
        n = len(patches)
        mod = n // 10
        for to_csum, fut in patches.items():
            if mod == 0 or n_bsdiff % mod == 0:
                log(f"processing bsdiff: [{n_bsdiff}/{n}]")
            try:
                patch = fut.result()
            except MemoryError:
                raise OstreeError("bsdiff generation failed") from None
            b.add_bsdiff(to_csum, bsdiff_pairs[to_csum], infos[to_csum], patch)
            n_bsdiff += 1
        for csum in whole_files:
            b.add_content(csum, infos[csum])
        for csum in new_symlinks:
            b.add_content(csum, infos[csum])
        b.finish_part(b.cur)
        headers = []
        total_size = total_usize = 0
        for i, part in enumerate(b.parts):
            part.data = part.future.result()
            part.future = None
            import hashlib
            csum = hashlib.sha256(part.data).digest()
            headers.append((fmt.DELTAPART_VERSION, csum, len(part.data), part.usize,
                            fmt.object_array(part.objects)))
            total_size += len(part.data)
            total_usize += part.usize
            log(f"part {i + 1} n:{len(part.objects)} compressed:{len(part.data)} uncompressed:{part.usize}")

    fallback_headers = []
    for csum in fallbacks:
        fallback_headers.append((OBJTYPE_IDS["file"], csum, _storage_size(repo, "file", csum),
                                 infos[csum].size))

    metadata = dict(opts.metadata)
    metadata["ostree.endianness"] = Variant("y", ord(opts.endianness))
    os.makedirs(out_dir, 0o755, exist_ok=True)
    from ostree_py.util.fs import write_atomic
    fsync = getattr(repo, "fsync", True)
    for i, part in enumerate(b.parts):
        if opts.inline:
            metadata[fmt.part_relpath(frm, to, i)] = Variant("(yay)", (part.data[0], part.data[1:]))
        else:
            write_atomic(os.path.join(out_dir, str(i)), part.data, fsync=fsync)
        part.data = None
    detached = repo.load_commitmeta(to)
    if detached is not None:
        metadata[fmt.commitmeta_key(frm, to)] = Variant("a{sv}", detached)

    superblock = fmt.build_superblock(metadata, int(time.time()), frm, to, to_commit_data,
                                      headers, fallback_headers, opts.endianness)
    log(f"uncompressed={total_usize} compressed={total_size} loose={b.loose_size}")
    log("rollsum=0 objects, 0 bytes")
    log(f"bsdiff={len(bsdiff_pairs)} objects")
    if opts.sign is not None and opts.sign_keys:
        sigs = []
        for key in opts.sign_keys:
            opts.sign.set_sk(key)
            sigs.append(opts.sign.sign(superblock))
        superblock = fmt.wrap_signed(superblock, {opts.sign.metadata_key: Variant("aay", sigs)})
    write_atomic(os.path.join(out_dir, sb_name), superblock, fsync=fsync)
    return {"parts": len(headers), "size": total_size, "usize": total_usize,
            "fallbacks": len(fallbacks), "bsdiff": len(bsdiff_pairs)}
