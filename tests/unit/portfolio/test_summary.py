"""pool_summary on a hand-made five-loan book whose numbers are worked out here."""

import datetime as dt

import polars as pl
import pytest

from fengkong.portfolio import pool_summary


@pytest.fixture
def five_loans():
    loans = pl.DataFrame(
        {
            "loan_id": [1, 2, 3, 4, 5],
            "product": ["a", "a", "a", "b", "b"],
            "principal_fen": [100_000, 200_000, 300_000, 400_000, 500_000],
            "disbursed_on": [dt.date(2025, 1, 5)] * 4
            + [dt.date(2025, 3, 2)],  # loan 5: after the month
        }
    )
    snap = dt.date(2025, 2, 28)
    performance = pl.DataFrame(
        {
            "loan_id": [1, 2, 3, 4, 4],
            "snapshot_on": [snap, snap, snap, dt.date(2025, 1, 31), snap],
            "status": ["current", "delinquent", "delinquent", "delinquent", "written_off"],
            "dpd": [0, 45, 95, 150, 181],
            "principal_balance_fen": [80_000, 150_000, 250_000, 300_000, 0],
            "written_off_fen": [0, 0, 0, 0, 300_000],
            "recovered_fen": [0, 0, 0, 0, 0],
        }
    )
    return loans, performance


def test_totals_and_ratios_are_shares_of_the_open_balance(five_loans):
    loans, performance = five_loans
    table = pool_summary(loans, performance, dt.date(2025, 2, 10))
    total = table.row(-1, named=True)
    assert total["product"] == "Total"
    assert total["loans"] == 4  # loan 5 was disbursed after February
    assert total["disbursed_fen"] == 1_000_000
    assert (
        total["outstanding_fen"] == 480_000
    )  # 80k + 150k + 250k; the written-off loan is not open
    assert total["dpd_30_plus"] == pytest.approx(400_000 / 480_000)
    assert total["dpd_90_plus"] == pytest.approx(250_000 / 480_000)
    assert total["written_off_fen"] == 300_000
    b = table.filter(product="b").row(0, named=True)
    assert b["outstanding_fen"] == 0 and b["dpd_30_plus"] == 0.0  # no open balance: 0, not NaN


def test_a_month_with_no_snapshot_gives_zero_balances(five_loans):
    loans, performance = five_loans
    table = pool_summary(loans, performance, dt.date(2024, 12, 1))
    assert table["product"].to_list() == ["Total"]
    assert table.row(0, named=True)["loans"] == 0
