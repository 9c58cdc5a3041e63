"""The iteration order of GLib's GHashTable with string keys, and GVariantDict.

ostree builds many ``a{sv}`` dictionaries (commit metadata, summary metadata,
per-ref summary metadata) with GVariantDict, whose serialised order is the
iteration order of a GHashTable keyed by ``g_str_hash``. To write the same
bytes we replay the table: open addressing over ``2**shift`` buckets, the
first probe at ``(hash * 11) % prime_mod[shift]``, then triangular steps,
tombstones on removal, and the in-place rehash on resize (GLib 2.60 and later;
Debian 12 ships 2.74). Verified against GLib.VariantDict in the tests.
"""

_MIN_SHIFT = 3
_PRIME_MOD = (1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749,
              65521, 131071, 262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213,
              33554393, 67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647)
_UNUSED = 0
_TOMBSTONE = 1
_M32 = 0xFFFFFFFF


def str_hash(key) -> int:
    """GLib's g_str_hash (djb2 over *signed* chars of the UTF-8 bytes)."""
    b = key.encode("utf-8", "surrogateescape") if isinstance(key, str) else bytes(key)
    h = 5381
    for c in b:
        if c >= 0x80:
            c -= 0x100
        h = ((h << 5) + h + c) & _M32
    return h


def _closest_shift(n: int) -> int:
    i = 0
    while n:
        n >>= 1
        i += 1
    return i


class GHashTable:
    """A string-keyed GHashTable replica whose ``items()`` follow GLib's iteration order."""

    __slots__ = ("_size", "_mod", "_mask", "_hashes", "_keys", "_values", "_nnodes", "_noccupied")
    # the table's hash function (g_str_hash); subclasses may key on other things
    hash_func = staticmethod(str_hash)

    def __init__(self, items=()):
        self._set_shift(_MIN_SHIFT)
        self._hashes = [_UNUSED] * self._size
        self._keys = [None] * self._size
        self._values = [None] * self._size
        self._nnodes = 0
        self._noccupied = 0
        for k, v in items:
            self[k] = v

    def _set_shift(self, shift: int) -> None:
        self._size = 1 << shift
        self._mod = _PRIME_MOD[shift]
        self._mask = self._size - 1

    def _index(self, h: int) -> int:
        return ((h * 11) & _M32) % self._mod

    def _lookup(self, key):
        h = self.hash_func(key)
        if h < 2:
            h = 2
        i = self._index(h)
        step = 0
        tomb = None
        hashes, keys, mask = self._hashes, self._keys, self._mask
        while hashes[i] != _UNUSED:
            nh = hashes[i]
            if nh == h and keys[i] == key:
                return i, h, True
            if nh == _TOMBSTONE and tomb is None:
                tomb = i
            step += 1
            i = (i + step) & mask
        return (tomb if tomb is not None else i), h, False

    def __setitem__(self, key, value) -> None:
        # g_hash_table_insert on an existing key keeps the bucket (and the old key)
        i, h, found = self._lookup(key)
        if found:
            self._values[i] = value
            return
        old = self._hashes[i]
        self._hashes[i] = h
        self._keys[i] = key
        self._values[i] = value
        self._nnodes += 1
        if old == _UNUSED:
            self._noccupied += 1
            self._maybe_resize()

    def __getitem__(self, key):
        i, _, found = self._lookup(key)
        if not found:
            raise KeyError(key)
        return self._values[i]

    def get(self, key, default=None):
        i, _, found = self._lookup(key)
        return self._values[i] if found else default

    def __contains__(self, key) -> bool:
        return self._lookup(key)[2]

    def __delitem__(self, key) -> None:
        i, _, found = self._lookup(key)
        if not found:
            raise KeyError(key)
        self._hashes[i] = _TOMBSTONE
        self._keys[i] = None
        self._values[i] = None
        self._nnodes -= 1
        self._maybe_resize()

    def pop(self, key, *default):
        try:
            v = self[key]
        except KeyError:
            if default:
                return default[0]
            raise
        del self[key]
        return v

    def __len__(self) -> int:
        return self._nnodes

    def _maybe_resize(self) -> None:
        size, nocc = self._size, self._noccupied
        if (size > self._nnodes * 4 and size > (1 << _MIN_SHIFT)) or size <= nocc + nocc // 16:
            self._resize()

    def _resize(self) -> None:
        old_size = self._size
        # nnodes * 1.333 in C double arithmetic, truncated to gint
        self._set_shift(max(_closest_shift(int(self._nnodes * 1.333)), _MIN_SHIFT))
        hashes, keys, values = self._hashes, self._keys, self._values
        if self._size > old_size:
            grow = self._size - old_size
            hashes.extend([_UNUSED] * grow)
            keys.extend([None] * grow)
            values.extend([None] * grow)
        placed = [False] * max(self._size, old_size)
        mask = self._mask
        for i in range(old_size):
            nh = hashes[i]
            if nh < 2:
                hashes[i] = _UNUSED
                continue
            if placed[i]:
                continue
            hashes[i] = _UNUSED
            k, v = keys[i], values[i]
            keys[i] = values[i] = None
            while True:
                j = self._index(nh)
                step = 0
                while placed[j]:
                    step += 1
                    j = (j + step) & mask
                placed[j] = True
                replaced = hashes[j]
                hashes[j] = nh
                if replaced < 2:
                    keys[j], values[j] = k, v
                    break
                nh = replaced
                k, v, keys[j], values[j] = keys[j], values[j], k, v
        if self._size < old_size:
            del hashes[self._size:], keys[self._size:], values[self._size:]
        self._noccupied = self._nnodes

    def keys(self):
        return [self._keys[i] for i in range(self._size) if self._hashes[i] >= 2]

    def items(self):
        return [(self._keys[i], self._values[i]) for i in range(self._size) if self._hashes[i] >= 2]

    def __iter__(self):
        return iter(self.keys())


def variant_dict(items=(), updates=()) -> dict:
    """What ``g_variant_dict_end`` yields: ``items`` (a{sv} in array order, as from
    g_variant_dict_init) then ``updates`` inserted one by one; a plain dict in
    GLib's serialisation order. A value of None in ``updates`` removes the key."""
    t = GHashTable()
    for k, v in (items.items() if isinstance(items, dict) else items):
        t[k] = v
    for k, v in (updates.items() if isinstance(updates, dict) else updates):
        if v is None:
            if k in t:
                del t[k]
        else:
            t[k] = v
    return dict(t.items())
