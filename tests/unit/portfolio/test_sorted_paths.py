"""The single-pass kernels for sorted panels give exactly what the group-by paths give."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from fengkong.portfolio import monthly_panel, roll_rates, vintage_curves
from fengkong.synth import generate


@pytest.fixture(scope="module")
def panel():
    book = generate(6_000, seed=11)
    return monthly_panel(book.loans, book.performance)


def test_panel_states_are_enums_in_loan_order(panel):
    assert isinstance(panel.schema["state"], pl.Enum)
    assert isinstance(panel.schema["bucket"], pl.Enum)
    assert panel["loan_id"].is_sorted()
    closed = panel.filter(pl.col("status").is_in(["settled", "prepaid"]))
    assert set(closed["state"].cast(pl.String)) == {"paid_off"}
    open_rows = panel.filter(pl.col("status").is_in(["current", "delinquent"]))
    assert (open_rows["state"].cast(pl.String) == open_rows["bucket"].cast(pl.String)).all()


def test_roll_rates_fast_path_equals_group_by(panel):
    shuffled = panel.with_columns(pl.col("state").cast(pl.String)).sample(fraction=1.0, seed=3)
    for kwargs in (
        {},
        {"basis": "count"},
        {"start": panel["month"].min(), "end": panel["month"].max()},
        {"start": np.sort(panel["month"].unique().to_numpy())[3].item()},
    ):
        fast = roll_rates(panel, **kwargs)
        slow = roll_rates(shuffled, **kwargs)
        assert fast.select("from_state", "to_state", "amount").equals(
            slow.select("from_state", "to_state", "amount")
        ), kwargs
        assert np.allclose(fast["rate"].to_numpy(), slow["rate"].to_numpy())


def test_vintage_fast_path_equals_group_by(panel):
    shuffled = panel.sample(fraction=1.0, seed=4)
    for by in ([], ["product"]):
        fast = vintage_curves(panel, by=by)
        slow = vintage_curves(shuffled, by=by)
        assert fast.equals(slow)


def test_unknown_status_counts_as_closed():
    loans = pl.DataFrame(
        {
            "loan_id": [1],
            "principal_fen": [100],
            "disbursed_on": [dt.date(2025, 1, 5)],
            "product": ["x"],
        }
    )
    perf = pl.DataFrame(
        {
            "loan_id": [1, 1],
            "mob": [1, 2],
            "snapshot_on": [dt.date(2025, 2, 28), dt.date(2025, 3, 31)],
            "paid_fen": [0, 100],
            "principal_balance_fen": [100, 0],
            "dpd": [45, 0],
            "status": ["delinquent", "restructured"],
            "written_off_fen": [0, 0],
            "recovered_fen": [0, 0],
        }
    )
    panel = monthly_panel(loans, perf)
    assert panel["state"].cast(pl.String).to_list() == ["M2", "paid_off"]
    assert panel["month"].to_list() == [dt.date(2025, 2, 1), dt.date(2025, 3, 1)]
