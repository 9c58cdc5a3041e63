"""Property tests of trivial-httpd's request parsing (ostree_py.remote.httpd): the Range header
parser and the request path normalization never raise, and what they return is what the
server can serve safely: ranges sorted, disjoint, inside the body and covering exactly the
bytes asked for; paths without NUL and without a way above the root."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ostree_py.remote import httpd as H

sizes = st.integers(min_value=0, max_value=300)
offsets = st.integers(min_value=0, max_value=400)


@st.composite
def range_specs(draw):
    """One well-formed range spec and the bytes it asks for, for a body of ``size`` bytes."""
    kind = draw(st.sampled_from(["closed", "open", "suffix", "bare"]))
    a = draw(offsets)
    if kind == "closed":
        b = draw(st.integers(min_value=a, max_value=a + 100))
        return f"{a}-{b}", (a, b)
    if kind == "open":
        return f"{a}-", (a, None)
    if kind == "bare":
        return f"{a}", (a, None)
    n = draw(st.integers(min_value=0, max_value=400))
    return f"-{n}", ("suffix", n)


def _wanted(specs, size):
    want = set()
    for _, (a, b) in specs:
        if a == "suffix":
            start, end = max(size - b, 0), size - 1
        else:
            start, end = a, size - 1 if b is None else min(b, size - 1)
        if start < size:
            want.update(range(start, end + 1))
    return want


@settings(max_examples=400, deadline=None)
@given(size=sizes, specs=st.lists(range_specs(), min_size=1, max_size=12),
       spaces=st.sampled_from(["", " ", "\t", "  "]))
def test_well_formed_headers(size, specs, spaces):
    header = "bytes" + spaces + "=" + spaces + ("," + spaces).join(s for s, _ in specs)
    got = H.parse_ranges(header, size)
    want = _wanted(specs, size)
    if not want:
        assert got == []            # 416
        return
    assert got, header
    covered = set()
    prev_end = -1
    for start, end in got:
        assert prev_end < start <= end <= size - 1   # sorted, disjoint, inside the body
        covered.update(range(start, end + 1))
        prev_end = end
    assert covered == want


@settings(max_examples=400, deadline=None)
@given(size=sizes, specs=st.lists(range_specs(), max_size=6),
       bad=st.sampled_from(["x", "1-2-3", "0x1-2", "\"1-2\"", "1 -2", "-", "--5", "5-x", "1-2;q", "7-3"]),
       at=st.integers(min_value=0, max_value=6))
def test_one_malformed_item_voids_the_header(size, specs, bad, at):
    items = [s for s, _ in specs]
    items.insert(min(at, len(items)), bad)
    assert H.parse_ranges("bytes=" + ",".join(items), size) is None


@settings(max_examples=300, deadline=None)
@given(header=st.text(max_size=80), size=sizes)
def test_any_text(header, size):
    got = H.parse_ranges(header, size)
    assert got is None or got == [] or all(0 <= a <= b < size for a, b in got)


@given(n=st.integers(min_value=H.MAX_RANGES + 1, max_value=H.MAX_RANGES + 50))
@settings(max_examples=20, deadline=None)
def test_too_many_ranges_are_ignored(n):
    header = "bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(n))
    assert H.parse_ranges(header, 2 * n) is None
    assert len(H.parse_ranges("bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(H.MAX_RANGES)),
                              2 * n)) == H.MAX_RANGES


@pytest.mark.parametrize("digits", [20, 5000])
def test_huge_numbers(digits):
    big = "9" * digits
    assert H.parse_ranges(f"bytes={big}-", 10) == []
    assert H.parse_ranges(f"bytes=2-{big}", 10) == [(2, 9)]
    assert H.parse_ranges(f"bytes=-{big}", 10) == [(0, 9)]


segment = st.sampled_from(["a", "b", ".", "..", "%2e", "%2E%2e", "%2f", "..%2f", "%00", "x%00y", "%zz", "%41", ""])


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(segment, max_size=8), tail=st.text(max_size=10))
def test_request_paths_stay_inside(parts, tail):
    raw = "/" + "/".join(parts) + tail
    path = H.request_path(raw)
    if path is None:
        return  # refused with 400
    assert "\0" not in path
    assert path.startswith("/")
    # what the server opens: no component can climb out of the root
    assert ".." not in [seg for seg in path.split("/")]
