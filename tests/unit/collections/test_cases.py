"""Case lifecycle: one case per borrower, stages by DPD (placements override), cure,
settlement, write-off into recovery, events for each change."""

import datetime as dt

import polars as pl
import pytest

from fengkong.collections.cases import Stages, update_cases
from fengkong.errors import InvalidArgumentError

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def snapshot(rows):
    return pl.DataFrame(
        rows,
        schema=["loan_id", "borrower_id", "dpd", "overdue_fen", "balance_fen", "status"],
        orient="row",
    )


def test_one_case_per_borrower_across_loans_and_stage_by_the_worst_loan():
    cases, events = update_cases(
        None,
        snapshot(
            [
                (1, "a", 5, 100, 1000, "delinquent"),
                (2, "a", 95, 300, 3000, "delinquent"),
                (3, "b", 0, 0, 500, "current"),
                (4, "c", 31, 50, 700, "delinquent"),
            ]
        ),
        D1,
    )
    assert cases["borrower_id"].to_list() == ["a", "c"]
    assert cases["stage"].to_list() == ["late", "middle"]
    assert cases.row(0, named=True)["overdue_fen"] == 400
    assert events["event"].to_list() == ["opened", "opened"]


def test_stage_changes_cure_settlement_and_recovery():
    day1 = snapshot([(1, "a", 30, 100, 1000, "delinquent"), (2, "b", 10, 50, 500, "delinquent"),
                     (3, "c", 170, 900, 900, "delinquent"), (4, "d", 3, 10, 100, "delinquent")])  # fmt: skip
    cases, _ = update_cases(None, day1, D1)
    day2 = snapshot([(1, "a", 31, 120, 1000, "delinquent"), (2, "b", 0, 0, 450, "current"),
                     (3, "c", 0, 0, 900, "written_off"), (4, "d", 0, 0, 0, "settled")])  # fmt: skip
    cases2, events = update_cases(cases, day2, D2)
    got = {r["borrower_id"]: (r["status"], r["stage"], r["closed_on"]) for r in cases2.to_dicts()}
    assert got == {
        "a": ("open", "middle", None),
        "b": ("cured", None, D2),
        "c": ("recovery", "recovery", None),
        "d": ("settled", None, D2),
    }
    assert dict(zip(events["case_id"], events["event"], strict=True)) == {
        "a-20260301": "stage", "b-20260301": "cured", "c-20260301": "recovery", "d-20260301": "settled",
    }  # fmt: skip
    # the next day: closed cases are gone, the recovery case stays, a relapse opens a new case
    day3 = snapshot([(1, "a", 32, 120, 1000, "delinquent"), (2, "b", 1, 40, 450, "delinquent"),
                     (3, "c", 0, 0, 850, "written_off")])  # fmt: skip
    cases3, events3 = update_cases(cases2, day3, D3)
    assert cases3["case_id"].to_list() == ["a-20260301", "b-20260303", "c-20260301"]
    assert events3["event"].to_list() == ["opened"]
    assert cases3.filter(pl.col("borrower_id") == "a")["opened_on"].item() == D1


def test_a_placement_overrides_the_dpd_stage_and_stages_are_configurable():
    cases, _ = update_cases(None, snapshot([(1, "a", 100, 10, 10, "delinquent")]), D1)
    placed = cases.with_columns(pl.lit("agency").alias("placement"))
    again, _ = update_cases(placed, snapshot([(1, "a", 101, 10, 10, "delinquent")]), D2)
    assert again["stage"].item() == "agency"
    custom = Stages((("soft", 1), ("hard", 15), ("legal_review", 60)))
    mine, _ = update_cases(None, snapshot([(1, "a", 20, 10, 10, "delinquent")]), D1, stages=custom)
    assert mine["stage"].item() == "hard"


def test_a_snapshot_without_the_needed_columns_is_named():
    with pytest.raises(InvalidArgumentError, match="missing"):
        update_cases(None, pl.DataFrame({"loan_id": [1]}), D1)
