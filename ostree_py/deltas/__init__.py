"""Static deltas: generate, apply (offline and from a pull), inspect, delete, index.

The format is the reference's (see ``format``), so deltas made by either
ostree or ostree-py apply with the other. Entry points:

- ``list_deltas`` / ``delete_delta`` / ``delta_exists``
- ``show_delta`` -> the lines ``ostree static-delta show`` prints
- ``generate.generate_delta(repo, from, to, GenerateOptions(...))``
- ``apply.apply_offline(repo, path, sign)`` (inside a transaction)
- ``verify_delta_signature(repo, delta_id, sign)``
- ``indexes.list_indexes`` / ``indexes.reindex``
- ``apply_delta_from_fetcher(repo, frm, to, superblock, fetch_part)``: for pulls
"""

import os
import shutil

from ostree_py.errors import OstreeError
from ostree_py.deltas import format as fmt
from ostree_py.repo import summary


def list_deltas(repo) -> list[str]:
    """Names (``FROM-TO`` or ``TO``) of the deltas in the repository, in directory order."""
    out = []
    top = os.path.join(repo.path, "deltas")
    try:
        firsts = list(os.scandir(top))
    except (FileNotFoundError, NotADirectoryError):
        return out
    except OSError as e:
        raise OstreeError(f"opendir(deltas): {os.strerror(e.errno)}") from None
    for d in firsts:
        if not d.is_dir(follow_symlinks=False):
            continue
        for sub in os.scandir(d.path):
            if not sub.is_dir(follow_symlinks=False):
                continue
            if not os.path.lexists(os.path.join(sub.path, "superblock")):
                continue
            buf = d.name + sub.name
            try:
                if "-" in buf:
                    a, b = buf.split("-", 1)
                    out.append(summary.mb64_to_checksum(a[:43]) + "-" + summary.mb64_to_checksum(b[:43]))
                else:
                    out.append(summary.mb64_to_checksum(buf[:43]))
            except ValueError:
                continue
    return out


def delta_exists(repo, delta_id: str) -> bool:
    frm, to = summary.parse_delta_name(delta_id)
    return os.path.lexists(os.path.join(repo.path, summary.delta_superblock_path(frm, to)))


def delete_delta(repo, delta_id: str) -> None:
    """Remove a delta's directory; "Can't find delta" if it is not there."""
    frm, to = summary.parse_delta_name(delta_id)
    d = os.path.join(repo.path, fmt.delta_dir(frm, to))
    if not os.path.lexists(d):
        raise OstreeError(f"Can't find delta {delta_id}")
    with repo.lock(exclusive=True):
        shutil.rmtree(d)


def _open_superblock(repo, delta_id: str) -> tuple[bytes, str]:
    """(superblock bytes, what to call it in errors) of a delta name or a path containing '/'."""
    if "/" in delta_id:
        path = delta_id
        rel = delta_id
    else:
        frm, to = summary.parse_delta_name(delta_id)
        rel = summary.delta_superblock_path(frm, to)
        path = os.path.join(repo.path, rel)
    try:
        with open(path, "rb") as f:
            return f.read(), rel
    except OSError as e:
        raise OstreeError(f"openat({rel}): {os.strerror(e.errno)}") from None


def show_delta(repo, delta_id: str, out) -> None:
    """Write what ``ostree static-delta show`` prints to ``out`` (a text stream), part by part."""
    from ostree_py.util.text import format_size
    from ostree_py.deltas.apply import ExecuteStats, execute_part, open_part
    data, _rel = _open_superblock(repo, delta_id)
    signed = fmt.is_signed_superblock(data)
    sb = fmt.parse_superblock(data)
    w = out.write
    w(f"Delta: {delta_id}\n")
    w(f"Signed: {'yes' if signed else 'no'}\n")
    if sb.from_checksum:
        w(f"From: {sb.from_checksum}\n")
    else:
        w("From <scratch>\n")
    w(f"To: {sb.to_checksum}\n")
    desc = {"l": "little", "B": "big"}.get(sb.endianness, "invalid")
    if sb.endianness != "invalid" and sb.endianness_heuristic:
        desc += " (heuristic)"
    w(f"Endianness: {desc}\n")
    w(f"Timestamp: {sb.timestamp}\n")
    w(f"Number of parents: {len(sb.parents) // 64}\n")
    w(f"Number of fallback entries: {len(sb.fallbacks)}\n")
    fsize = fusize = 0
    for _t, csum, size, usize in sb.fallbacks:
        w(f"  {csum.hex()}\n")
        fsize += size
        fusize += usize
    w(f"Total Fallback Size: {fsize} ({format_size(fsize)})\n")
    w(f"Total Fallback Uncompressed Size: {fusize} ({format_size(fusize)})\n")
    w(f"Number of parts: {len(sb.parts)}\n")
    tsize = tusize = 0
    for i, (_v, _csum, size, usize, objects) in enumerate(sb.parts):
        tsize += size
        tusize += usize
        w(f"PartMeta{i}: nobjects={len(objects) // fmt.OBJTYPE_CSUM_LEN} size={size} usize={usize}\n")
        rel = fmt.part_relpath(sb.from_checksum, sb.to_checksum, i)
        try:
            f = open(os.path.join(repo.path, rel), "rb")
        except OSError as e:
            raise OstreeError(f"openat({rel}): {os.strerror(e.errno)}") from None
        with open_part(repo, sb, i, f, None) as body:
            w(f"PartPayload{i}: nmodes={body.n_modes} nxattrs={body.n_xattrs} blobsize={body.payload_size} "
              f"opsize={body.ops_size}\n")
            stats = ExecuteStats()
            execute_part(repo, objects, body, stats_only=True, stats=stats)
        n = [stats.n_ops[op] for op in fmt.OP_ORDER]
        w(f"PartPayloadOps{i}: openspliceclose={n[0]} open={n[1]} write={n[2]} setread={n[3]} "
          f"unsetread={n[4]} close={n[5]} bspatch={n[6]}\n")
    w(f"Total Part Size: {tsize} ({format_size(tsize)})\n")
    w(f"Total Part Uncompressed Size: {tusize} ({format_size(tusize)})\n")
    w(f"Total Size: {tsize + fsize} ({format_size(tsize + fsize)})\n")
    w(f"Total Uncompressed Size: {tusize + fusize} ({format_size(tusize + fusize)})\n")


def verify_delta_signature(repo, delta_id: str, sign) -> str:
    """ostree_repo_static_delta_verify_signature: success message, or OstreeError."""
    from ostree_py.deltas.apply import verify_signature
    data, _rel = _open_superblock(repo, delta_id)
    if not fmt.is_signed_superblock(data):
        raise OstreeError("no signatures in static-delta")
    return verify_signature(data, sign)


def apply_delta_from_fetcher(repo, frm: str | None, to: str, superblock: bytes, fetch_part,
                             threads: int | None = None, on_part_done=None) -> fmt.Superblock:
    """Apply a delta whose parts come from ``fetch_part(i)`` -> a binary file (a pull).

    Writes the target commit (marked partial; the caller clears the mark
    once the commit's other objects, e.g. fallbacks, are stored), then runs
    the parts not already satisfied. Part checksums are verified; inline
    parts are trusted as part of the superblock. Returns the parsed
    superblock (its ``fallbacks`` are for the caller to fetch).
    """
    from ostree_py.deltas.apply import apply_parts, write_target_commit
    sb = fmt.parse_superblock(superblock)
    if sb.to_checksum != to:
        raise OstreeError(f"Delta superblock target {sb.to_checksum} does not match {to}")
    write_target_commit(repo, sb)
    apply_parts(repo, sb, fetch=fetch_part, threads=threads, on_part_done=on_part_done)
    return sb
