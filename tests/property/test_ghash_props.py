"""GHashTable replica: whatever the operations, it holds exactly what a dict would,
every key once, and its order depends only on the keys and the operations' order."""

from hypothesis import given, settings
from hypothesis import strategies as st

from ostree_py.core.ghash import GHashTable

keys = st.text(min_size=0, max_size=8)
ops = st.lists(st.tuples(st.sampled_from(["set", "del"]), keys, st.integers()), max_size=120)


@settings(max_examples=80, deadline=None)
@given(ops)
def test_behaves_like_a_dict(operations):
    t, model = GHashTable(), {}
    for op, k, v in operations:
        if op == "set":
            t[k] = v
            model[k] = v
        elif k in model:
            del t[k]
            del model[k]
        assert len(t) == len(model)
    assert sorted(t.keys()) == sorted(model) and len(set(t.keys())) == len(t.keys())
    assert all(t[k] == model[k] for k in model)
    assert dict(t.items()) == model


@settings(max_examples=40, deadline=None)
@given(st.lists(keys, unique=True, max_size=60), st.integers())
def test_order_ignores_values(ks, v):
    a, b = GHashTable(), GHashTable()
    for k in ks:
        a[k] = 0
        b[k] = v
    assert a.keys() == b.keys()
