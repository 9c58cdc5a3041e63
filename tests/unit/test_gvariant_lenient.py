"""Reading non-normal GVariant data as GLib does (what ostree keeps of a corrupt
.commitmeta it pulls), checked against GLib itself when PyGObject is there."""

import json
import random
import shutil
import subprocess

import pytest

from ostree_py.core import gvariant
from ostree_py.core.gvariant import Variant
from ostree_py.core.gvariant_lenient import PairDict, default, normal_form, read

SYSTEM_PYTHON = "/usr/bin/python3"


def test_garbage_commitmeta_reads_as_three_empty_entries():
    # what reference ostree stored after pulling a .commitmeta of "borkborkbork\n"
    md = read("a{sv}", b"borkborkbork\n")
    assert isinstance(md, PairDict)
    assert md.items() == [("", Variant("()", ()))] * 3
    assert normal_form("a{sv}", b"borkborkbork\n") == bytes.fromhex(
        "00000000000000000000282901000000" "00000000000000000000282901000000" "000000000000000000002829010d1d2d")
    assert "ostree.gpgsigs" not in md


def test_normal_data_reads_as_strict_parse():
    d = {"a": Variant("s", "x"), "ostree.gpgsigs": Variant("aay", [b"sig1", b"sig2"]), "t": Variant("t", 7)}
    data = gvariant.serialize("a{sv}", d)
    assert dict(read("a{sv}", data)) == d
    assert normal_form("a{sv}", data) == data


@pytest.mark.parametrize("sig,expected", [("s", ""), ("o", "/"), ("v", Variant("()", ())), ("ay", b""),
                                          ("mu", None), ("(st)", ("", 0)), ("as", [])])
def test_defaults(sig, expected):
    assert default(sig) == expected
    assert read(sig, b"" if sig[0] not in "(" else b"\xff") == expected


def test_fixed_size_of_wrong_length_is_zero():
    assert read("t", b"\x01\x02") == 0
    assert read("(uu)", b"\x01") == (0, 0)


def test_string_without_nul_or_bad_utf8_is_empty():
    assert read("s", b"abc") == ""
    assert read("s", b"\xff\x00") == ""
    assert read("s", b"a\x00b\x00") == ""
    assert read("s", b"ok\x00") == "ok"


def test_variant_with_invalid_type_is_unit():
    assert read("v", b"abc\x00zz") == Variant("()", ())
    assert read("v", b"hi\x00\x00s") == Variant("s", "hi")


def _corpus(seed, n=300):
    rnd = random.Random(seed)
    alphabet = [0, 0, 0, 1, 2, 3, 8, 13, 0x28, 0x29, ord("s"), ord("v"), ord("a"), ord("y"), ord("t"),
                ord("{"), ord("}"), 0x61, 0xFF, 0x0E, 0x10, 0x18, 0x20]
    return [bytes(rnd.choice(alphabet) for _ in range(rnd.choice([0, 1, 3, 5, 8, 13, 16, 24, 31, 48, 64])))
            for _ in range(n)]


_GLIB = """
import sys, json
from gi.repository import GLib
typ = sys.argv[1]
print(json.dumps([bytes(GLib.Variant.new_from_bytes(GLib.VariantType(typ), GLib.Bytes(bytes.fromhex(h)),
                 False).get_normal_form().get_data_as_bytes().get_data()).hex() for h in json.load(sys.stdin)]))
"""


@pytest.mark.skipif(shutil.which(SYSTEM_PYTHON) is None, reason="no system python")
@pytest.mark.parametrize("sig", ["a{sv}", "as", "(ss)", "a(say)", "(sts)", "a{sa(s(taya{sv}))}"])
def test_normal_form_is_glibs(sig):
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GLib', '2.0')"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("PyGObject not available")
    cases = _corpus(sig)
    p = subprocess.run([SYSTEM_PYTHON, "-c", _GLIB, sig], input=json.dumps([c.hex() for c in cases]),
                       capture_output=True, text=True, check=True)
    expected = json.loads(p.stdout)
    ours = [normal_form(sig, c).hex() for c in cases]
    assert ours == expected
