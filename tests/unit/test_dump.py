"""Text renderings (ostree_py.ops.dump): dates, commit layout, byte swapping."""

import pytest

from ostree_py.ops import dump
from ostree_py.errors import OstreeError
from ostree_py.core.gvariant import Variant
from ostree_py.core.objects import Commit


def test_utc_dates():
    assert dump.format_timestamp_utc(1234567890) == "2009-02-13 23:31:30 +0000"
    assert dump.format_timestamp_utc(0) == "1970-01-01 00:00:00 +0000"
    assert dump.format_timestamp_utc(253402300799) == "9999-12-31 23:59:59 +0000"
    with pytest.raises(OstreeError, match="Invalid timestamp: 253402300800"):
        dump.format_timestamp_utc(253402300800)


@pytest.mark.parametrize("tz,text", [("UTC", "2009-02-13T23:31:30+00"),
                                     ("Asia/Kolkata", "2009-02-14T05:01:30+05:30"),
                                     ("America/New_York", "2009-02-13T18:31:30-05")])
def test_local_iso8601(monkeypatch, tz, text):
    import time
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        assert dump.format_iso8601_local(1234567890) == text
    finally:
        monkeypatch.undo()
        time.tzset()


def commit(**kw):
    c = Commit(root_tree="00" * 32, root_meta="11" * 32, timestamp=1234567890)
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_commit_text_layout():
    c = commit(parent="ab" * 32, subject="Subject", body="Line 1\n\nLine 3\n",
               metadata={"version": Variant("s", "1.2")})
    assert dump.commit_text(c) == (
        f"Parent:  {'ab' * 32}\n"
        f"ContentChecksum:  {c.content_checksum()}\n"
        "Date:  2009-02-13 23:31:30 +0000\n"
        "Version: 1.2\n"
        "\n    Subject\n"
        "\n    Line 1\n    \n    Line 3\n"
        "\n")


def test_commit_text_without_subject_or_string_version():
    c = commit(metadata={"version": Variant("u", 3)})
    text = dump.commit_text(c)
    assert "Version" not in text and "Parent" not in text
    assert text.endswith("+0000\n(no subject)\n\n")


def test_byteswap_swaps_every_integer():
    typ = "(ua{sv}ayt(nq)d)"
    value = (1, {"k": Variant("x", -2), "m": Variant("ay", b"\x01\x02")}, b"\x01", 1, (1, 2), 1.0)
    swapped = dump._byteswap(typ, value)
    assert swapped[0] == 0x01000000 and swapped[3] == 1 << 56 and swapped[4] == (256, 512)
    assert swapped[1]["k"] == Variant("x", int.from_bytes((-2).to_bytes(8, "little", signed=True), "big",
                                                          signed=True))
    assert swapped[1]["m"] == Variant("ay", b"\x01\x02") and swapped[2] == b"\x01"
    assert dump._byteswap(typ, swapped) == value
