"""GHashTable / GVariantDict iteration order, checked against GLib itself (PyGObject in the
system Python), since summaries and commit metadata are serialised in that order."""

import json
import random
import string
import subprocess

import pytest

from ostree_py.core.ghash import GHashTable, str_hash, variant_dict
from ostree_py.core.gvariant import Variant

SYSTEM_PYTHON = "/usr/bin/python3"

_ORACLE = r"""
import sys, json
from gi.repository import GLib
out = []
for ops in json.load(sys.stdin):
    d = GLib.VariantDict.new(None)
    for op, k in ops:
        if op == "i":
            d.insert_value(k, GLib.Variant("s", ""))
        else:
            d.remove(k)
    v = d.end()
    out.append([v.get_child_value(i).get_child_value(0).get_string() for i in range(v.n_children())])
json.dump(out, sys.stdout)
"""


def glib_orders(cases):
    p = subprocess.run([SYSTEM_PYTHON, "-c", _ORACLE], input=json.dumps(cases), capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"GLib oracle failed (python3-gi needed): {p.stderr}")
    return json.loads(p.stdout)


def replay(ops):
    t = GHashTable()
    for op, k in ops:
        if op == "i":
            t[k] = ""
        elif k in t:
            del t[k]
    return t.keys()


def test_str_hash_is_djb2_over_signed_chars():
    assert str_hash("") == 5381
    assert str_hash("a") == (5381 * 33 + 97) & 0xFFFFFFFF
    # bytes >= 0x80 count as negative (signed char)
    assert str_hash("é") == ((5381 * 33 + (0xC3 - 256)) * 33 + (0xA9 - 256)) & 0xFFFFFFFF


def test_known_orders():
    # the order the reference's summaries and commits show
    assert variant_dict([("version", 1), ("ostree.ref-binding", 2)]) == {"version": 1, "ostree.ref-binding": 2}
    keys = ["foo", "bar", "ostree.summary.last-modified", "ostree.summary.mode",
            "ostree.summary.tombstone-commits", "ostree.summary.indexed-deltas"]
    assert list(variant_dict([(k, 0) for k in keys])) == [
        "ostree.summary.mode", "ostree.summary.last-modified", "ostree.summary.tombstone-commits", "bar",
        "ostree.summary.indexed-deltas", "foo"]


def test_random_insertions_and_removals_match_glib():
    rnd = random.Random(7)
    alphabet = string.ascii_letters + string.digits + ".-_é/"
    cases = []
    for _ in range(600):
        ops, keys = [], []
        for _ in range(rnd.randint(0, 70)):
            if keys and rnd.random() < 0.25:
                ops.append(("r", rnd.choice(keys)))
            else:
                k = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 14)))
                keys.append(k)
                ops.append(("i", k))
        cases.append(ops)
    # growth well past several resizes, and shrinking back
    big = [("i", f"key{i}") for i in range(300)] + [("r", f"key{i}") for i in range(0, 300, 2)]
    cases.append(big)
    expected = glib_orders(cases)
    bad = [(ops, got, exp) for ops, exp in zip(cases, expected) if (got := replay(ops)) != exp]
    assert not bad, bad[:1]


def test_replacing_a_value_keeps_the_position():
    t = GHashTable()
    for k in ("a", "b", "c", "d"):
        t[k] = 1
    order = t.keys()
    t["b"] = 2
    assert t.keys() == order and t["b"] == 2


def test_variant_dict_updates_and_removals():
    d = variant_dict({"x": Variant("s", "1")}, [("y", Variant("u", 2)), ("x", None)])
    assert d == {"y": Variant("u", 2)}
