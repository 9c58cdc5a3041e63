"""Numbers and booleans in words (ostree_py.util.text), as GLib and ostree have them."""

import subprocess

import pytest

from ostree_py.errors import OstreeError
from ostree_py.util.text import format_size, parse_boolean

SIZES = [0, 1, 2, 999, 1000, 1049, 1050, 999949, 999950, 999999, 10**6, 1234567890, 10**15, 10**18,
         2**64 - 1]


def test_format_size_matches_glib():
    code = ("from gi.repository import GLib\nimport sys\n"
            f"for n in {SIZES!r}: print(GLib.format_size(n))")
    p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, check=True)
    assert [format_size(n) for n in SIZES] == p.stdout.splitlines()


def test_format_size_examples():
    assert format_size(0) == "0 bytes"
    assert format_size(1) == "1 byte"
    assert format_size(999) == "999 bytes"
    assert format_size(1000) == "1.0\u00a0kB"
    assert format_size(13900) == "13.9\u00a0kB"
    assert format_size(2_500_000) == "2.5\u00a0MB"


def test_parse_boolean():
    assert parse_boolean("YES") and parse_boolean("1") and not parse_boolean("none")
    with pytest.raises(OstreeError, match="^Invalid boolean argument 'maybe'$"):
        parse_boolean("maybe")
