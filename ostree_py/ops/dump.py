"""Text renderings of commits, objects and summaries, as ``ostree log/show/summary`` print them.

These return strings (the CLI writes them); they follow the reference's
layout to the byte: ``commit CSUM``, ``Parent:  ...``, ``ContentChecksum:  ...``,
``Date:  YYYY-MM-DD HH:MM:SS +0000`` (always UTC), ``Version: ...``, then the
subject and body indented by four spaces. Raw dumps print the GVariant
byte-swapped (ostree's integers are big-endian on disk), as the reference does
on a little-endian machine.
"""

import datetime
import struct
import time

from ostree_py.core import gvariant
from ostree_py.errors import OstreeError
from ostree_py.core.objects import COMMIT_TYPE, SUMMARY_TYPE
from ostree_py.util.text import format_size

# g_date_time_new_from_unix_utc accepts years 1..9999
_MAX_UNIX = 253402300799


class DumpError(OstreeError):
    """A failure part way through a dump; ``partial`` is what the reference prints before failing."""

    def __init__(self, message: str, partial: str = ""):
        super().__init__(message)
        self.partial = partial


# ---------------------------------------------------------------- byte swapping

_SWAP_FMT = {"n": ("<h", ">h"), "q": ("<H", ">H"), "i": ("<i", ">i"), "h": ("<i", ">i"),
             "u": ("<I", ">I"), "x": ("<q", ">q"), "t": ("<Q", ">Q"), "d": ("<d", ">d")}


def _split(sig: str, i: int) -> int:
    c = sig[i]
    if c in "am":
        return _split(sig, i + 1)
    if c in "({":
        i += 1
        while sig[i] not in ")}":
            i = _split(sig, i)
        return i + 1
    return i + 1


def _members(sig: str) -> list[str]:
    out, i = [], 1
    while sig[i] not in ")}":
        j = _split(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def byteswap(typ: str, value):
    """g_variant_byteswap on a value of type ``typ``: every integer and double swapped."""
    try:
        from ostree_py.core.gvariant_text import byteswap_value
    except ImportError:
        return _byteswap(typ, value)
    return byteswap_value(typ, value)


def _byteswap(typ: str, value):
    c = typ[0]
    if c in _SWAP_FMT:
        a, b = _SWAP_FMT[c]
        return struct.unpack(a, struct.pack(b, value))[0]
    if c in "ybsog":
        return value
    if c == "v":
        return gvariant.Variant(value.type, _byteswap(value.type, value.value))
    if c == "m":
        return None if value is None else _byteswap(typ[1:], value)
    if c == "a":
        et = typ[1:]
        if et == "y":
            return value
        if et[0] == "{":
            kt, vt = _members(et)
            return {_byteswap(kt, k): _byteswap(vt, v) for k, v in value.items()}
        return [_byteswap(et, v) for v in value]
    # tuple or dict entry
    return tuple(_byteswap(t, v) for t, v in zip(_members(typ), value))


def dump_variant(typ: str, value) -> str:
    """ot_dump_variant: the byte-swapped value in annotated text form, plus a newline."""
    from ostree_py.core.gvariant_text import print_variant
    return print_variant(typ, byteswap(typ, value), True) + "\n"


def print_unswapped(typ: str, value) -> str:
    from ostree_py.core.gvariant_text import print_variant
    return print_variant(typ, value, True) + "\n"


# ---------------------------------------------------------------- times and sizes

def format_timestamp_utc(ts: int) -> str:
    """``YYYY-MM-DD HH:MM:SS +0000``; an out-of-range timestamp raises like the reference."""
    if ts > _MAX_UNIX:
        raise OstreeError(f"Invalid timestamp: {ts}")
    d = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=ts)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}:{d.second:02d} +0000"


def format_iso8601_local(ts: int) -> str:
    """g_date_time_format(local, "%FT%T%:::z"): e.g. 2009-02-13T18:31:30-05, ...+05:30."""
    if ts > _MAX_UNIX:
        return "invalid"
    try:
        tm = time.localtime(ts)
    except (OverflowError, OSError, ValueError):
        return "invalid"
    off = tm.tm_gmtoff or 0
    sign = "-" if off < 0 else "+"
    off = abs(off)
    hh, rem = divmod(off, 3600)
    mm, ss = divmod(rem, 60)
    z = f"{sign}{hh:02d}"
    if mm or ss:
        z += f":{mm:02d}"
    if ss:
        z += f":{ss:02d}"
    return (f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T"
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}{z}")


# ---------------------------------------------------------------- commits

def _indented(text: str) -> str:
    """dump_indented_lines: each line prefixed by four spaces; no newline added after a final one."""
    out = []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        if last:
            if line:
                out.append(f"    {line}\n")
        else:
            out.append(f"    {line}\n")
    return "".join(out)


def commit_version(metadata: dict) -> str | None:
    """The commit's ``version`` metadata when it is a string."""
    v = metadata.get("version")
    if isinstance(v, gvariant.Variant) and v.type == "s":
        return v.value
    return None


def commit_text(commit) -> str:
    """dump_commit: the Parent/ContentChecksum/Date/Version header, subject and body."""
    date = format_timestamp_utc(commit.timestamp)
    out = []
    if commit.parent:
        out.append(f"Parent:  {commit.parent}\n")
    out.append(f"ContentChecksum:  {commit.content_checksum()}\n")
    out.append(f"Date:  {date}\n")
    version = commit_version(commit.metadata)
    if version is not None:
        out.append(f"Version: {version}\n")
    if commit.subject:
        out.append("\n")
        out.append(_indented(commit.subject))
    else:
        out.append("(no subject)\n")
    if commit.body:
        out.append("\n")
        out.append(_indented(commit.body))
    out.append("\n")
    return "".join(out)


def object_text(objtype: str, checksum: str, data: bytes, raw: bool = False, unswapped: bool = False) -> str:
    """ot_dump_object for a metadata object's serialised ``data``."""
    from ostree_py.core.objects import COMMITMETA_TYPE, DIRMETA_TYPE, DIRTREE_TYPE, Commit
    typ = {"commit": COMMIT_TYPE, "dirtree": DIRTREE_TYPE, "dirmeta": DIRMETA_TYPE,
           "commitmeta": COMMITMETA_TYPE, "tombstone-commit": "a{sv}"}[objtype]
    out = [f"{objtype} {checksum}\n"]
    if unswapped or raw:
        value = gvariant.deserialize(typ, data)
        if unswapped:
            out.append(print_unswapped(typ, value))
        else:
            out.append(dump_variant(typ, value))
            return "".join(out)
    if objtype == "commit":
        try:
            commit = Commit.from_bytes(data)
        except OstreeError as e:
            raise OstreeError(f"Corrupted commit object {checksum}: {e.message}") from None
        try:
            out.append(commit_text(commit))
        except OstreeError as e:
            # the reference has printed "commit CSUM" (and an unswapped dump) already
            raise DumpError(f"Failed to read commit: {e.message}", "".join(out)) from None
    return "".join(out)


# ---------------------------------------------------------------- summaries

def _summary_ref_text(collection_id, ref, size, csum_bytes, metadata: dict) -> str:
    from ostree_py.core.gvariant_text import print_variant
    out = [f"* {ref}\n" if collection_id is None else f"* ({collection_id}, {ref})\n"]
    out.append(f"    Latest Commit ({format_size(size)}):\n")
    if len(csum_bytes) == 32:
        out.append(f"      {csum_bytes.hex()}\n")
    else:
        out.append(f"      Invalid checksum of length {len(csum_bytes)} expected 32\n")
    for key, v in metadata.items():
        if key == "ostree.commit.timestamp" and v.type == "t":
            out.append(f"    Timestamp ({key}): {format_iso8601_local(gvariant.bswap64(v.value))}\n")
        elif key == "ostree.commit.version" and v.type == "s":
            out.append(f"    Version ({key}): {v.value}\n")
        else:
            out.append(f"    {key}: {print_variant(v.type, v.value, False)}\n")
    return "".join(out)


def _summary_refs_text(collection_id, refs) -> str:
    out = []
    for ref, (size, csum, md) in refs:
        out.append(_summary_ref_text(collection_id, ref, size, csum, md))
        out.append("\n")
    return "".join(out)


_REPO_MODES = ("bare", "bare-user", "bare-user-only", "archive", "archive-z2", "bare-split-xattrs")


def summary_text(data: bytes, raw: bool = False) -> str:
    """ot_dump_summary_bytes: the refs (also collection refs), then the summary metadata."""
    from ostree_py.core.gvariant_text import print_variant
    try:
        summary = gvariant.deserialize(SUMMARY_TYPE, data)
    except OstreeError as e:
        raise OstreeError(f"Invalid summary: {e.message}") from None
    if raw:
        return dump_variant(SUMMARY_TYPE, summary)
    refs, exts = summary
    out = []
    main_cid = exts.get("ostree.summary.collection-id")
    main_cid = main_cid.value if isinstance(main_cid, gvariant.Variant) and main_cid.type == "s" else None
    out.append(_summary_refs_text(main_cid, refs))
    cmap = exts.get("ostree.summary.collection-map")
    if isinstance(cmap, gvariant.Variant) and cmap.type == "a{sa(s(taya{sv}))}":
        for cid, crefs in cmap.value.items():
            out.append(_summary_refs_text(cid, crefs))
    for key, v in exts.items():
        pretty = None
        if key == "ostree.static-deltas":
            pretty, text = "Static Deltas", print_variant(v.type, v.value, False)
        elif key == "ostree.summary.last-modified" and v.type == "t":
            pretty, text = "Last-Modified", format_iso8601_local(gvariant.bswap64(v.value))
        elif key == "ostree.summary.expires" and v.type == "t":
            pretty, text = "Expires", format_iso8601_local(gvariant.bswap64(v.value))
        elif key == "ostree.summary.collection-id" and v.type == "s":
            pretty, text = "Collection ID", v.value
        elif key == "ostree.summary.collection-map":
            pretty, text = "Collection Map", "(printed above)"
        elif key == "ostree.summary.mode" and v.type == "s":
            pretty = "Repository Mode"
            text = v.value if v.value in _REPO_MODES else f"Invalid (‘{v.value}’)"
        elif key == "ostree.summary.tombstone-commits" and v.type == "b":
            pretty, text = "Has Tombstone Commits", "Yes" if v.value else "No"
        else:
            text = print_variant(v.type, v.value, False)
        out.append(f"{pretty} ({key}): {text}\n" if pretty else f"{key}: {text}\n")
    return "".join(out)


def _summary_metadata(data: bytes) -> dict:
    try:
        return gvariant.deserialize(SUMMARY_TYPE, data)[1]
    except OstreeError as e:
        raise OstreeError(f"Invalid summary: {e.message}") from None


def summary_metadata_keys_text(data: bytes) -> str:
    """ot_dump_summary_metadata_keys (ostree 2023.x): the summary's metadata keys, sorted, one a line."""
    keys = sorted(_summary_metadata(data), key=lambda k: k.encode("utf-8", "surrogateescape"))
    return "".join(f"{key}\n" for key in keys)


def summary_metadata_key_text(data: bytes, key: str) -> str:
    """ot_dump_summary_metadata_key (ostree 2023.x): one metadata value in GVariant text, typed."""
    value = _summary_metadata(data).get(key)
    if not isinstance(value, gvariant.Variant):
        raise OstreeError(f"No such metadata key '{key}'")
    return dump_variant(value.type, value.value)
