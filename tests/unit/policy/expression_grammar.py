"""Hypothesis strategies for random expressions of the policy dialect (shared by tests)."""

from hypothesis import strategies as st

ints = st.one_of(st.none(), st.integers(-4, 4))
texts = st.one_of(st.none(), st.sampled_from(["x", "y", "z"]))

numeric = st.recursive(
    st.one_of(st.sampled_from(["a", "b"]), st.integers(-3, 3).map(str)),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(st.sampled_from(["min", "max", "coalesce"]), inner, inner).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        inner.map(lambda x: f"abs({x})"),
        st.tuples(inner, inner, inner).map(lambda t: f"clip({t[0]}, {t[1]}, {t[2]})"),
    ),
    max_leaves=6,
)


def _boolean(num: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    atoms = st.one_of(
        st.tuples(num, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), num).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.sampled_from(
            [
                "s == 'x'",
                "s in ['x', 'y']",
                "s not in ['z']",
                "a in [1, 2, 3]",
                "is_null(a)",
                "is_null(s)",
                "True",
                "False",
                "(0 < a < b)",
            ]
        ),
    )
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda x: f"(not {x})"),
        ),
        max_leaves=5,
    )


boolean = _boolean(numeric)
policy_expr = st.one_of(
    numeric,
    boolean,
    st.tuples(numeric, boolean, numeric).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
)
