"""Strategy simulation: common random numbers make a strictly better strategy recover more,
costs follow the actions, nothing recovers twice, arms are reported separately."""

import numpy as np
import polars as pl
import pytest
import yaml

from fengkong.collections.simulate import simulate_strategy
from fengkong.collections.strategy import load_strategy
from fengkong.errors import InvalidArgumentError


def population(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "case_id": [f"c{k}" for k in range(n)],
            "stage": rng.choice(["early", "middle", "late"], n),
            "p_pay": rng.beta(2, 3, n),
            "overdue_fen": rng.integers(10_000, 300_000, n),
            "balance_fen": rng.integers(100_000, 2_000_000, n),
            "max_dpd": rng.integers(1, 150, n),
        }
    )


def only(plan, tmp_path, name):
    data = {
        "schema_version": 1, "name": name, "version": "1",
        "inputs": {"case_id": {"type": "text"}, "stage": {"type": "text", "required": False},
                   "p_pay": {"type": "number"}, "overdue_fen": {"type": "integer"},
                   "balance_fen": {"type": "integer"}, "max_dpd": {"type": "integer"}},
        "outputs": {"plan": repr(plan)},
    }  # fmt: skip
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_strategy(path)


def test_more_contact_recovers_more_at_a_cost_with_the_same_luck(tmp_path):
    cases = population()
    quiet = simulate_strategy(only("", tmp_path, "nothing"), cases, months=4, seed=7)
    busy = simulate_strategy(
        only("sms:reminder,call:call_script", tmp_path, "calls"), cases, months=4, seed=7
    )
    q, b = quiet.totals.row(0, named=True), busy.totals.row(0, named=True)
    assert q["arm"] == b["arm"] == "all" and q["cases"] == b["cases"] == 4000
    assert b["recovered_fen"] > q["recovered_fen"] and q["cost_fen"] == 0 and b["cost_fen"] > 0
    assert 0 < q["recovery_rate"] < b["recovery_rate"] <= 1
    again = simulate_strategy(only("", tmp_path, "nothing"), cases, months=4, seed=7)
    assert again.totals.equals(quiet.totals)
    cured = quiet.monthly["cured"].sum() + quiet.monthly["written_off"].sum()
    assert cured <= 4000  # a case leaves once


def test_arms_are_reported_and_curves_rise():
    sim = simulate_strategy(load_strategy(), population(), months=5, seed=2)
    assert set(sim.totals["arm"]) == {"champion", "challenger"}
    curve = sim.recovery_curve()
    for arm in ("champion", "challenger"):
        shares = curve.filter(pl.col("arm") == arm)["recovered_share"].to_list()
        assert shares == sorted(shares)


def test_months_must_be_positive():
    with pytest.raises(InvalidArgumentError, match="months"):
        simulate_strategy(load_strategy(), population(10), months=0)


def test_stopped_cases_get_no_contact_and_no_placement_in_the_simulator(tmp_path):
    """Issue 24 part 2: the simulator obeys stop states like every other path."""
    cases = population(500).with_columns(pl.lit(True).alias("stopped"))
    quiet = simulate_strategy(only("", tmp_path, "nothing"), cases, months=3, seed=1)
    busy = simulate_strategy(
        only("sms:reminder,call:call_script,agency", tmp_path, "busy"), cases, months=3, seed=1
    )
    assert busy.totals["cost_fen"].sum() == 0  # not one attempt, not one commission
    assert busy.totals.equals(quiet.totals)
    half = population(500).with_columns((pl.int_range(pl.len()) % 2 == 0).alias("stopped"))
    some = simulate_strategy(only("sms:reminder", tmp_path, "sms"), half, months=1, seed=1)
    whole = simulate_strategy(
        only("sms:reminder", tmp_path, "sms2"), population(500), months=1, seed=1
    )
    assert 0 < some.totals["cost_fen"].sum() < whole.totals["cost_fen"].sum()
