"""json_text writes what json_ready describes, in one pass."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengkong.jsonvalues import json_ready, json_text

_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_infinity=False)
    | st.text()
    | st.dates()
    | st.datetimes()
    | st.datetimes(timezones=st.just(dt.UTC))
    | st.decimals(allow_nan=False, allow_infinity=False)
)
_values = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5) | st.integers(0, 99), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_values)
def test_json_text_equals_dumps_of_json_ready(value: object) -> None:
    assert json.loads(json_text(value)) == json.loads(json.dumps(json_ready(value)))


def test_numpy_scalars_infinity_and_unknown_types() -> None:
    assert json_text({"p": np.float64(0.25), "n": np.int64(3)}) == '{"p":0.25,"n":3}'
    assert json_text([float("inf"), Decimal("1.10")]) == '[null,"1.10"]'
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_text(object())
