"""Remote cookie jars (ostree_py.remote.cookies), read and written as the reference does."""

import calendar
import os
import stat

import pytest
from hypothesis import given, settings, strategies as st

from ostree_py.remote import cookies
from ostree_py.errors import OstreeError


def jar(tmp_path, name="o"):
    return tmp_path / f"{name}.cookies.txt"


def test_add_appends_netscape_lines(tmp_path):
    now = calendar.timegm((2024, 2, 29, 12, 0, 0))
    cookies.add_cookie(str(tmp_path), "o", "127.0.0.1", "/", "foo", "bar", now=now)
    cookies.add_cookie(str(tmp_path), "o", ".example.com", "/p", "baz", "badger", now=now)
    exp = calendar.timegm((2049, 2, 28, 12, 0, 0))  # 25 years on; 2049 has no 29 February
    assert jar(tmp_path).read_text() == (
        f"127.0.0.1\tFALSE\t/\tFALSE\t{exp}\tfoo\tbar\n"
        f".example.com\tTRUE\t/p\tFALSE\t{exp}\tbaz\tbadger\n")
    assert stat.S_IMODE(os.stat(jar(tmp_path)).st_mode) == 0o644 & ~_umask()


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_add_error(tmp_path):
    with pytest.raises(OstreeError, match=r"^open\(o.cookies.txt\): No such file or directory$"):
        cookies.add_cookie(str(tmp_path / "missing"), "o", "d", "/", "n", "v")


def test_parse_like_sscanf():
    text = ("# Netscape HTTP Cookie File\n"
            "x\tFALSE\t/\tFALSE\t12abc\tq\n"           # 12 then name "abc"
            "  a \t FALSE / FALSE 5 n v extra\n"       # any whitespace separates
            "b FALSE / FALSE -1 m w\n"                 # %llu of -1
            "short\tFALSE\t/\n"
            "c FALSE / FALSE x n v\n")                 # no number: skipped
    got = [(c.domain, c.path, c.name, c.value, c.expiration) for c in cookies.parse_cookies(text)]
    assert got == [("x", "/", "abc", "q", 12), ("a", "/", "n", "v", 5), ("b", "/", "m", "w", (1 << 64) - 1)]


def test_delete_rewrites_parsed_lines(tmp_path):
    jar(tmp_path).write_text("a\tFALSE\t/\tFALSE\t1\tn\tv\n# junk\nb\tFALSE\t/\tFALSE\t1\tn\tv\n"
                             "a\tFALSE\t/\tFALSE\t2\tn\tw\n")
    cookies.delete_cookie(str(tmp_path), "o", "a", "/", "n")
    assert jar(tmp_path).read_text() == "b\tFALSE\t/\tFALSE\t1\tn\tv\n"
    assert stat.S_IMODE(os.stat(jar(tmp_path)).st_mode) == 0o600
    with pytest.raises(OstreeError, match="^Cookie not found in jar$"):
        cookies.delete_cookie(str(tmp_path), "o", "zz", "/", "n")
    assert jar(tmp_path).read_text() == "b\tFALSE\t/\tFALSE\t1\tn\tv\n"
    with pytest.raises(OstreeError, match="^Cookie not found in jar$"):
        cookies.delete_cookie(str(tmp_path), "nojar", "zz", "/", "n")
    assert jar(tmp_path, "nojar").read_text() == ""


def test_list_missing_jar_is_empty(tmp_path):
    assert cookies.list_cookies(str(tmp_path), "none") == []


def test_format_expires():
    assert cookies.format_expires(2584589199) == "2051-11-26 05:26:39 +0000"
    assert cookies.format_expires((1 << 64) - 1) == "1969-12-31 23:59:59 +0000"
    assert cookies.format_expires(253402300799) == "9999-12-31 23:59:59 +0000"
    assert cookies.format_expires(253402300800) is None


def test_cookies_for_url():
    cs = list(cookies.parse_cookies(
        "127.0.0.1\tFALSE\t/\tFALSE\t0\tfoo\tbar\n"
        ".example.com\tTRUE\t/p\tFALSE\t0\tsub\t1\n"
        "example.com\tFALSE\t/\tTRUE\t0\tsec\t2\n"
        "example.com\tFALSE\t/\tFALSE\t1\told\t3\n"))
    assert cookies.cookies_for_url(cs, "127.0.0.1", "/repo/config") == {"foo": "bar"}
    assert cookies.cookies_for_url(cs, "a.example.com", "/p/x") == {"sub": "1"}
    assert cookies.cookies_for_url(cs, "example.com", "/x", secure=True) == {"sec": "2"}


_field = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=" \t\n\v\f\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2028\u2029"), min_size=1).filter(lambda s: not s.isspace() and not any(c.isspace() for c in s))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_field, _field, _field, _field), max_size=5))
def test_add_then_parse_round_trip(tmp_path_factory, items):
    d = tmp_path_factory.mktemp("jar")
    for domain, path, name, value in items:
        cookies.add_cookie(str(d), "o", domain, path, name, value, now=0)
    got = [(c.domain, c.path, c.name, c.value) for c in cookies.list_cookies(str(d), "o")]
    assert got == items
