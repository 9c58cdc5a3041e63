"""Numbers in words as GLib prints them."""


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
