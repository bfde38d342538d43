"""Variable quality: worked values for coverage, IV and PSI; selection thresholds."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from fengkong.errors import InvalidArgumentError
from fengkong.features.quality import population_stability, select_variables, variable_quality


def test_iv_of_a_two_bin_variable_by_hand() -> None:
    # x = 0 for 40 rows (4 bad), x = 1 for 60 rows (30 bad)
    frame = pl.DataFrame(
        {"x": [0] * 40 + [1] * 60, "bad": [1] * 4 + [0] * 36 + [1] * 30 + [0] * 30}
    )
    q = variable_quality(frame, ["x"], label="bad")
    good = np.array([36.5, 30.5]) / 67
    bad = np.array([4.5, 30.5]) / 35
    assert q["iv"][0] == pytest.approx(float(np.sum((good - bad) * np.log(good / bad))))
    assert q["coverage"][0] == 1.0 and q["unique"][0] == 2 and q["zero_rate"][0] == 0.4


def test_psi_zero_for_identical_periods_and_large_for_a_shift() -> None:
    same = pl.DataFrame({"x": list(range(100)) * 2, "m": ["a"] * 100 + ["b"] * 100})
    assert variable_quality(same, ["x"], period="m")["psi_max"][0] == pytest.approx(0.0)
    shifted = pl.DataFrame(
        {"x": list(range(100)) + list(range(50, 150)), "m": ["a"] * 100 + ["b"] * 100}
    )
    assert variable_quality(shifted, ["x"], period="m")["psi_max"][0] > 0.25


def test_population_stability_formula() -> None:
    expected = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.6 - 0.5) * math.log(0.6 / 0.5)
    assert population_stability(np.array([5, 5]), np.array([4, 6])) == pytest.approx(expected)


def test_missing_values_and_strings() -> None:
    frame = pl.DataFrame({"x": [None, None, 1, 2], "c": ["a", "b", None, "a"], "bad": [1, 1, 0, 0]})
    q = variable_quality(frame, label="bad").rows_by_key("variable", named=True, unique=True)
    assert q["x"]["missing_rate"] == 0.5 and q["c"]["coverage"] == 0.75
    assert q["x"]["iv"] > 0


def test_selection_thresholds() -> None:
    table = pl.DataFrame(
        {
            "variable": ["strong", "weak", "unstable", "sparse"],
            "coverage": [1.0, 1.0, 1.0, 0.1],
            "iv": [0.5, 0.01, 0.4, 0.3],
            "psi_max": [0.05, 0.05, 0.6, None],
        }
    )
    assert select_variables(table) == ["strong", "sparse"]
    assert select_variables(table, min_coverage=0.5) == ["strong"]


def test_bad_arguments_name_the_field() -> None:
    frame = pl.DataFrame({"x": [1, 2]})
    with pytest.raises(InvalidArgumentError, match="label"):
        variable_quality(frame, label="nope")
    with pytest.raises(InvalidArgumentError, match="bins"):
        variable_quality(frame, bins=1)
