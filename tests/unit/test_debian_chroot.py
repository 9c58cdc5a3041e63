"""tests/debian_chroot.py: the apt mirror the chroots are built from, and mount discovery."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from debian_chroot import apt_mirror, mounts_under  # noqa: E402


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def test_apt_mirror_one_line_style_skips_bracketed_options(tmp_path):
    write(tmp_path / "sources.list",
          "# deb http://commented.example/debian bookworm main\n"
          "deb-src http://src.example/debian bookworm main\n"
          "deb [arch=amd64 trusted=yes signed-by=/k.gpg] http://other.example/debian trixie main\n"
          "deb [ arch=amd64 ] http://mirror.example/debian bookworm main\n")
    assert apt_mirror("bookworm", str(tmp_path)) == "http://mirror.example/debian"
    assert apt_mirror("trixie", str(tmp_path)) == "http://other.example/debian"


def test_apt_mirror_deb822_skips_disabled_and_source_stanzas(tmp_path):
    write(tmp_path / "sources.list.d" / "debian.sources",
          "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n"
          "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n"
          "Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
          "Components: main\n")
    assert apt_mirror("bookworm", str(tmp_path)) == "http://mirror.example/debian"
    with pytest.raises(RuntimeError, match="no apt source for trixie"):
        apt_mirror("trixie", str(tmp_path))


def test_mounts_under_finds_proc_and_not_a_sibling_prefix():
    assert mounts_under("/proc")[-1] == "/proc"  # deepest first: /proc itself last
    assert mounts_under("/pro") == []
