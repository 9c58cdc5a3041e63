"""Numbers and booleans in words, as GLib and ostree print and parse them."""

from ostree_py.errors import OstreeError


def format_size(n: int) -> str:
    """g_format_size(): "N bytes" below 1000, else one decimal in SI units
    ("13.9 kB"), separated by a no-break space."""
    if n < 1000:
        return "1 byte" if n == 1 else f"{n} bytes"
    for unit, factor in (("kB", 1000), ("MB", 1000 ** 2), ("GB", 1000 ** 3), ("TB", 1000 ** 4),
                         ("PB", 1000 ** 5)):
        if n < factor * 1000:
            return f"{n / factor:.1f}\u00a0{unit}"
    return f"{n / 1000 ** 6:.1f}\u00a0EB"


def parse_boolean(value: str) -> bool:
    """ot_parse_boolean: 1/true/yes, 0/false/no/none (any case)."""
    v = value.lower()
    if v in ("1", "true", "yes"):
        return True
    if v in ("0", "false", "no", "none"):
        return False
    raise OstreeError(f"Invalid boolean argument '{value}'")
