"""bsdiff in the framing ostree's static deltas use.

ostree links Matthew Endsley's bsdiff library and stores its raw stream in the
part payload: no header, no bzip2, just repeated

    ctrl[0] ctrl[1] ctrl[2]   (3 x 8 bytes, sign-magnitude little-endian)
    ctrl[0] bytes of "diff"   (added byte-wise to the old file at the cursor)
    ctrl[1] bytes of "extra"  (copied)

until the new file is complete; ctrl[2] then moves the old-file cursor. The
algorithm (Colin Percival's) is the one behind the BSDIFF40 format; only the
framing differs. ``bsdiff4``'s core computes and applies the three blocks
(control, diff, extra) of BSDIFF40, so this module interleaves and splits
them. Both run in C; the diff releases the GIL for the suffix sort.
"""

import struct

from ostree_py.errors import OstreeError

_CTRL = 24
_CHUNK = 1 << 20
_ADD_CTRL = struct.Struct("<QQQ")


def _core():
    try:
        import bsdiff4.core as core
    except ImportError:  # pragma: no cover - a hard dependency, but say so clearly
        raise OstreeError("bsdiff support needs the Python package bsdiff4") from None
    return core


def available() -> bool:
    try:
        _core()
    except OstreeError:
        return False
    return True


def _offtin(b) -> int:
    y = int.from_bytes(b[:7], "little") | ((b[7] & 0x7F) << 56)
    return -y if b[7] & 0x80 else y


def diff(old: bytes, new: bytes) -> bytes:
    """The ostree (endsley) bsdiff stream turning ``old`` into ``new``."""
    bcontrol, bdiff, bextra = _core().diff(old, new)
    out = bytearray()
    dpos = epos = 0
    for i in range(0, len(bcontrol), _CTRL):
        c = bcontrol[i:i + _CTRL]
        x = _offtin(c[0:8])
        y = _offtin(c[8:16])
        out += c
        out += bdiff[dpos:dpos + x]
        out += bextra[epos:epos + y]
        dpos += x
        epos += y
    return bytes(out)


def patch(old: bytes, new_size: int, stream) -> bytes:
    """Apply an ostree bsdiff ``stream`` to ``old``, producing ``new_size`` bytes."""
    stream = memoryview(stream)
    control = bytearray()
    diffs = []
    extras = []
    pos = 0
    newpos = 0
    n = len(stream)
    while newpos < new_size:
        if pos + _CTRL > n:
            raise OstreeError("bsdiff patch failed")
        c = stream[pos:pos + _CTRL]
        pos += _CTRL
        x = _offtin(c[0:8])
        y = _offtin(c[8:16])
        if x < 0 or y < 0 or x > 0x7FFFFFFF or y > 0x7FFFFFFF or newpos + x + y > new_size \
                or pos + x + y > n:
            raise OstreeError("bsdiff patch failed")
        control += c
        diffs.append(stream[pos:pos + x])
        pos += x
        extras.append(stream[pos:pos + y])
        pos += y
        newpos += x + y
    try:
        return _core().patch(bytes(old), new_size, bytes(control), b"".join(diffs), b"".join(extras))
    except (ValueError, MemoryError) as e:
        raise OstreeError(f"bsdiff patch failed: {e}") from None


def _old_window(read_old, old_size: int, start: int, n: int) -> bytes:
    """Old-file bytes [start, start+n), zeros where that range leaves the file."""
    lo = max(start, 0)
    hi = min(start + n, old_size)
    if lo >= hi:
        return bytes(n)
    return bytes(lo - start) + read_old(lo, hi - lo) + bytes(start + n - hi)


def patch_chunks(read_old, old_size: int, new_size: int, read_stream, stream_size: int,
                 chunk: int = _CHUNK):
    """Apply an ostree bsdiff stream without holding either file: yield the new
    file's bytes, at most ``chunk`` at a time.

    ``read_old(offset, n)`` and ``read_stream(offset, n)`` return that many
    bytes of the old file and of the patch stream (ranges are checked here).
    Same checks and result as ``patch``.
    """
    core = _core()
    pos = newpos = oldpos = 0
    while newpos < new_size:
        if pos + _CTRL > stream_size:
            raise OstreeError("bsdiff patch failed")
        c = read_stream(pos, _CTRL)
        pos += _CTRL
        x = _offtin(c[0:8])
        y = _offtin(c[8:16])
        z = _offtin(c[16:24])
        if x < 0 or y < 0 or x > 0x7FFFFFFF or y > 0x7FFFFFFF or newpos + x + y > new_size \
                or pos + x + y > stream_size:
            raise OstreeError("bsdiff patch failed")
        done = 0
        while done < x:
            n = min(chunk, x - done)
            old = _old_window(read_old, old_size, oldpos + done, n)
            # the diff block is added byte-wise to the old bytes: bsdiff4's patch
            # with one control entry does exactly that
            try:
                yield core.patch(old, n, _ADD_CTRL.pack(n, 0, 0), read_stream(pos + done, n), b"")
            except (ValueError, MemoryError) as e:
                raise OstreeError(f"bsdiff patch failed: {e}") from None
            done += n
        pos += x
        done = 0
        while done < y:
            n = min(chunk, y - done)
            yield read_stream(pos + done, n)
            done += n
        pos += y
        newpos += x + y
        oldpos += x + z
