"""Agency placement: eligibility, cheapest covering agency with room, recall after N days
without payment, re-placement elsewhere, the placement cap, exact commission, performance."""

import datetime as dt

import polars as pl
import pytest

from fengkong.collections.agencies import (
    agency_performance,
    empty_placements,
    load_agencies,
    place_cases,
)
from fengkong.errors import ConfigError

DAY = dt.date(2026, 3, 2)


def cases(rows):
    return pl.DataFrame(
        rows, schema=["case_id", "stage", "p_pay", "overdue_fen", "max_dpd", "region"], orient="row"
    )


def test_eligibility_and_choice_of_agency():
    contracts = load_agencies()
    placed, _ = place_cases(
        cases(
            [
                ("a", "late", 0.2, 300_000, 120, "Guangdong"),  # south: cheapest covering
                ("b", "late", 0.2, 300_000, 200, "Beijing"),  # north, M7+ rate
                ("c", "late", 0.2, 300_000, 120, "Xinjiang"),  # no regional agency: national
                ("d", "middle", 0.2, 300_000, 60, "Beijing"),  # wrong stage
                ("e", "late", 0.8, 300_000, 120, "Beijing"),  # likely to pay: kept in house
                ("f", "late", 0.2, 5_000, 120, "Beijing"),  # too small
            ]
        ),
        empty_placements(),
        contracts,
        DAY,
    )
    assert placed.select("case_id", "agency_id", "commission_rate").rows() == [
        ("a", "south_collect", "0.18"),
        ("b", "north_recoveries", "0.30"),
        ("c", "national_legal", "0.25"),
    ]


def test_recall_after_days_without_payment_then_replacement_then_the_cap():
    contracts = load_agencies()
    one = cases([("a", "late", 0.2, 300_000, 120, "Guangdong")])
    placed, _ = place_cases(one, empty_placements(), contracts, DAY)
    paid = pl.DataFrame({"case_id": ["a"], "paid_on": [DAY + dt.timedelta(days=30)]})
    # a payment 30 days in restarts the clock: not recalled at day 60, recalled at day 90
    kept, recalled = place_cases(
        one, placed, contracts, DAY + dt.timedelta(days=60), last_paid=paid
    )
    assert recalled.height == 0 and kept.height == 1
    moved, recalled = place_cases(one, kept, contracts, DAY + dt.timedelta(days=90), last_paid=paid)
    assert recalled.rows() == [("a", "south_collect")]
    assert moved.select("agency_id", "number").rows() == [
        ("south_collect", 1),
        ("national_legal", 2),
    ]
    assert moved["recalled_on"].to_list() == [DAY + dt.timedelta(days=90), None]
    done, recalled = place_cases(one, moved, contracts, DAY + dt.timedelta(days=150))
    assert recalled.rows() == [("a", "national_legal")] and done.height == 2  # the cap: 2


def test_capacity_is_respected(tmp_path):
    text = (
        "schema_version: 1\nplacement: {stages: [late], max_p_pay: 1, min_overdue_fen: 0, "
        "recall_after_days: 30, max_placements: 1}\nagencies:\n  tiny:\n    name: Tiny\n"
        "    capacity: 2\n    commission: [{min_dpd: 0, rate: '0.1'}]\n"
    )
    (tmp_path / "a.yaml").write_text(text)
    contracts = load_agencies(tmp_path / "a.yaml")
    many = cases([(f"c{k}", "late", 0.1, 1000 * (k + 1), 100, "X") for k in range(5)])
    placed, _ = place_cases(many, empty_placements(), contracts, DAY)
    assert placed["case_id"].to_list() == ["c4", "c3"]  # the largest debts first


def test_commission_is_exact_and_performance_adds_up():
    contracts = load_agencies()
    placed, _ = place_cases(
        cases(
            [
                ("a", "late", 0.2, 300_000, 120, "Guangdong"),
                ("b", "late", 0.2, 200_000, 200, "Beijing"),
            ]
        ),
        empty_placements(),
        contracts,
        DAY,
    )
    payments = pl.DataFrame(
        {
            "case_id": ["a", "a", "b", "b"],
            "amount_fen": [10_001, 5_000, 7_777, 1_000],
            "paid_on": [DAY + dt.timedelta(days=d) for d in (1, 10, 3, -5)],
        }
    )
    perf = agency_performance(placed, payments, DAY + dt.timedelta(days=20))
    rows = {r["agency_id"]: r for r in perf.to_dicts()}
    south, north = rows["south_collect"], rows["north_recoveries"]
    assert (
        south["recovered_fen"] == 15_001 and south["commission_fen"] == 1800 + 900
    )  # 1800.18 -> 1800
    assert north["recovered_fen"] == 7_777 and north["commission_fen"] == 2333  # 2333.1 -> 2333
    assert south["recovery_rate"] == pytest.approx(15_001 / 300_000)
    assert north["net_recovered_fen"] == 7_777 - 2333


def test_a_bad_contract_file_lists_its_problems(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "schema_version: 1\nplacement: {stages: [late]}\nagencies: {}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_agencies(tmp_path / "a.yaml")
    assert {"placement.max_p_pay", "placement.recall_after_days"} <= {
        p.path for p in err.value.problems
    }
