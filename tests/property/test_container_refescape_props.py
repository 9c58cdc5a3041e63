"""ostree-ext's ref escaping: any string without NUL escapes to a valid ostree ref
(the reference ``ostree`` rules, ostree_py's is_valid_ref) and unescapes back; any
string at all unescapes to a value or fails with ContainerError, never else."""

from hypothesis import given, strategies as st

from ostree_py.container.refescape import (
    escape_for_ref,
    prefix_escape_for_ref,
    unescape_for_ref,
    unprefix_unescape_ref,
)
from ostree_py.core.objects import is_valid_ref
from ostree_py.errors import ContainerError

text = st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
               min_size=1, max_size=80)


@given(text)
def test_escape_is_a_valid_ref_and_round_trips(s):
    ref = prefix_escape_for_ref("ostree/container/image", s)
    assert is_valid_ref(ref)
    assert unprefix_unescape_ref("ostree/container/image", ref) == s


@given(st.text(max_size=80))
def test_unescape_of_anything_is_a_value_or_a_container_error(s):
    try:
        out = unescape_for_ref(s)
    except ContainerError:
        return
    assert isinstance(out, str)


@given(st.text(alphabet="abcXYZ019", min_size=1, max_size=1), st.text(alphabet="abcXYZ019-", max_size=40))
def test_alphanumerics_and_dashes_are_kept(first, rest):
    assert escape_for_ref(first + rest) == first + rest


@given(st.text(alphabet="abcXYZ019-", max_size=40))
def test_a_leading_dash_is_escaped(rest):
    assert escape_for_ref("-" + rest).startswith("_2D_")
