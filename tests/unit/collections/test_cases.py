"""Case lifecycle: one case per borrower, stages by DPD (placements override), cure,
settlement, write-off into recovery, events for each change."""

import datetime as dt

import polars as pl
import pytest

from fengkong.collections.cases import Stages, update_cases
from fengkong.errors import InvalidArgumentError

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def snapshot(rows):
    """Loans with their amounts given in yuan (stored in fen: above the de-minimis threshold)."""
    return pl.DataFrame(
        [(loan, who, dpd, 100 * overdue, 100 * balance, status)
         for loan, who, dpd, overdue, balance, status in rows],
        schema=["loan_id", "borrower_id", "dpd", "overdue_fen", "balance_fen", "status"],
        orient="row",
    )  # fmt: skip


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
    assert cases.row(0, named=True)["overdue_fen"] == 40_000
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


def _fen(rows):
    return pl.DataFrame(
        rows,
        schema=["loan_id", "borrower_id", "dpd", "overdue_fen", "balance_fen", "status"],
        orient="row",
    )


def test_no_case_is_opened_for_rounding_residue_below_the_de_minimis_threshold():
    """Seen in the demo: cases opened for 0.06-0.97 CNY of rounding residue."""
    residue = _fen([(1, "a", 12, 6, 6, "delinquent"), (2, "b", 40, 97, 97, "delinquent"),
                    (3, "c", 5, 999, 5_000, "delinquent"), (4, "d", 5, 1_000, 5_000, "delinquent")])  # fmt: skip
    cases, events = update_cases(None, residue, D1)  # the default: CNY 10
    assert cases["borrower_id"].to_list() == ["d"]
    assert events["event"].to_list() == ["opened"]
    assert update_cases(None, residue, D1, min_case_fen=0)[0].height == 4  # the caller decides
    # arrears summed over the borrower's late loans: two small ones together are worth a case
    two = _fen([(1, "e", 5, 600, 600, "delinquent"), (2, "e", 9, 600, 600, "delinquent")])
    assert update_cases(None, two, D1)[0]["overdue_fen"].to_list() == [1_200]


def test_an_open_case_whose_arrears_shrink_to_a_residue_closes_as_cured():
    """Seen in the demo: cases left open for the few jiao a scaled repayment left behind."""
    cases, _ = update_cases(None, _fen([(1, "a", 10, 50_000, 90_000, "delinquent")]), D1)
    later, events = update_cases(cases, _fen([(1, "a", 41, 40, 40, "delinquent")]), D2)
    assert later["status"].to_list() == ["cured"] and later["closed_on"].to_list() == [D2]
    assert events["event"].to_list() == ["cured"]
    kept, _ = update_cases(cases, _fen([(1, "a", 41, 40, 40, "delinquent")]), D2, min_case_fen=0)
    assert kept["status"].to_list() == ["open"] and kept["stage"].to_list() == ["middle"]


@pytest.mark.parametrize("bad", [-1, 1.5, True, "1000"])
def test_a_bad_threshold_is_named(bad):
    with pytest.raises(InvalidArgumentError, match="min_case_fen"):
        update_cases(None, _fen([(1, "a", 10, 5_000, 5_000, "delinquent")]), D1, min_case_fen=bad)


def test_the_setting_defaults_to_the_cores_threshold_and_says_why():
    from fengkong.collections.cases import DEFAULT_MIN_CASE_FEN  # noqa: PLC0415
    from fengkong.settings import Settings  # noqa: PLC0415

    field = Settings.model_fields["collections_min_case_fen"]
    assert field.default == DEFAULT_MIN_CASE_FEN == 1_000
    assert "rounding" in (field.description or "")
