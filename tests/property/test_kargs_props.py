"""Kernel argument lists: parsing round-trips, replace/append/delete keep the model's order."""

from hypothesis import given
from hypothesis import strategies as st

from ostree_py.sysroot.kargs import KernelArgs

keys = st.sampled_from(["a", "b", "console", "root", "quiet"])
vals = st.one_of(st.none(), st.sampled_from(["", "1", "x=y", "LABEL=MOO"]))
args = st.builds(lambda k, v: k if v is None else f"{k}={v}", keys, vals)


@given(st.lists(args, min_size=1))
def test_string_round_trip(items):
    line = " ".join(items)
    assert str(KernelArgs.from_string(line)) == line
    assert KernelArgs(items).to_list() == items


@given(st.lists(args), args)
def test_replace_matches_model(items, arg):
    k = KernelArgs(items)
    k.replace(arg)
    key = arg.partition("=")[0]
    positions = [i for i, a in enumerate(items) if a.partition("=")[0] == key]
    others = [a for a in items if a.partition("=")[0] != key]
    if positions:
        others.insert(positions[0], arg)
    else:
        others.append(arg)
    assert k.to_list() == others


@given(st.lists(args), args)
def test_append_then_delete_exact_restores(items, arg):
    k = KernelArgs(items)
    if arg.partition("=")[0] in {a.partition("=")[0] for a in items}:
        return
    k.append(arg)
    k.delete(arg)
    assert k.to_list() == items
