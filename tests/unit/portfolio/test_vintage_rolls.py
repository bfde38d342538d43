"""Vintages, roll rates, cures and losses on a five-loan book worked out by hand.

Loans 1-3 are disbursed in January 2025, 4-5 in March (February has no originations);
snapshots run February to May:

    loan 1  1000  Feb 0 dpd | Mar 20 | Apr 50 | May 0 (cured)      balances 900 900 900 700
    loan 2  2000  Feb 0     | Mar 0  | Apr prepaid                  balances 1800 1600 0
    loan 3  1000  Feb 10    | Mar 40 | Apr 70 | May written off     balances 1000 1000 1000 0
    loan 4   500                       Apr 0  | May 0               balances 450 400
    loan 5  1500                       Apr 35 | May 65              balances 1500 1500
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fengkong.errors import InvalidArgumentError
from fengkong.portfolio import (
    flow_rates,
    loss_rates,
    monthly_panel,
    pool_loans,
    pool_overview,
    roll_matrix,
    roll_rates,
    stratify,
    vintage_curves,
)

JAN, MAR = dt.date(2025, 1, 15), dt.date(2025, 3, 10)
ROWS = [  # loan, month-end, dpd, balance, status, written off
    (1, "2025-02-28", 0, 900, "current", 0),
    (1, "2025-03-31", 20, 900, "delinquent", 0),
    (1, "2025-04-30", 50, 900, "delinquent", 0),
    (1, "2025-05-31", 0, 700, "current", 0),
    (2, "2025-02-28", 0, 1800, "current", 0),
    (2, "2025-03-31", 0, 1600, "current", 0),
    (2, "2025-04-30", 0, 0, "prepaid", 0),
    (3, "2025-02-28", 10, 1000, "delinquent", 0),
    (3, "2025-03-31", 40, 1000, "delinquent", 0),
    (3, "2025-04-30", 70, 1000, "delinquent", 0),
    (3, "2025-05-31", 100, 0, "written_off", 1000),
    (4, "2025-04-30", 0, 450, "current", 0),
    (4, "2025-05-31", 0, 400, "current", 0),
    (5, "2025-04-30", 35, 1500, "delinquent", 0),
    (5, "2025-05-31", 65, 1500, "delinquent", 0),
]


@pytest.fixture
def loans() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "loan_id": [1, 2, 3, 4, 5],
            "principal_fen": [1000, 2000, 1000, 500, 1500],
            "disbursed_on": [JAN, JAN, JAN, MAR, MAR],
            "product": ["a", "a", "b", "a", "b"],
            "term": [12, 6, 12, 3, 6],
            "rate_bp": [1800, 1200, 2400, 1000, 3600],
        }
    )


@pytest.fixture
def panel(loans: pl.DataFrame) -> pl.DataFrame:
    perf = pl.DataFrame(
        ROWS,
        schema=[
            "loan_id",
            "snapshot_on",
            "dpd",
            "principal_balance_fen",
            "status",
            "written_off_fen",
        ],
        orient="row",
    ).with_columns(
        pl.col("snapshot_on").str.to_date(),
        pl.col("dpd").cast(pl.Int32),
        pl.lit(0).alias("paid_fen"),
        pl.lit(0).alias("recovered_fen"),
    )
    perf = perf.with_columns(
        (
            pl.col("snapshot_on").dt.month()
            - pl.col("loan_id").replace_strict({1: 1, 2: 1, 3: 1, 4: 3, 5: 3})
        )
        .cast(pl.Int16)
        .alias("mob")
    )
    return monthly_panel(loans, perf)


def test_vintage_curves_by_balance(panel: pl.DataFrame) -> None:
    curves = vintage_curves(panel)
    jan = curves.filter(pl.col("vintage") == dt.date(2025, 1, 1))
    assert jan["mob"].to_list() == [1, 2, 3, 4]
    assert jan["ever_30_plus"].to_list() == [0.0, 0.25, 0.5, 0.5]
    assert jan["ever_60_plus"].to_list() == [0.0, 0.0, 0.25, 0.25]
    assert jan["ever_90_plus"].to_list() == [0.0, 0.0, 0.0, 0.25]
    mar = curves.filter(pl.col("vintage") == dt.date(2025, 3, 1))
    assert mar["mob"].to_list() == [1, 2]  # observed to May only
    assert mar["ever_30_plus"].to_list() == [0.75, 0.75]
    assert mar["ever_60_plus"].to_list() == [0.0, 0.75]
    assert curves.filter(pl.col("vintage") == dt.date(2025, 2, 1)).is_empty()  # no originations


def test_vintage_curves_by_count_and_segment(panel: pl.DataFrame) -> None:
    jan = vintage_curves(panel, basis="count").filter(pl.col("vintage") == dt.date(2025, 1, 1))
    assert jan["ever_30_plus"].to_list() == pytest.approx([0, 1 / 3, 2 / 3, 2 / 3])
    seg = vintage_curves(panel, by=["product"], thresholds=(30,))
    b_jan = seg.filter((pl.col("product") == "b") & (pl.col("vintage") == dt.date(2025, 1, 1)))
    assert b_jan["ever_30_plus"].to_list() == [0.0, 1.0, 1.0, 1.0]
    a_mar = seg.filter((pl.col("product") == "a") & (pl.col("vintage") == dt.date(2025, 3, 1)))
    assert a_mar["ever_30_plus"].to_list() == [0.0, 0.0]  # an empty segment stays at zero


def test_roll_rates_by_hand(panel: pl.DataFrame) -> None:
    rates = {
        (r["from_state"], r["to_state"]): r["rate"] for r in roll_rates(panel).iter_rows(named=True)
    }
    assert rates[("M0", "M1")] == pytest.approx(900 / 4750)
    assert rates[("M0", "M0")] == pytest.approx(2250 / 4750)
    assert rates[("M0", "paid_off")] == pytest.approx(1600 / 4750)
    assert rates[("M1", "M2")] == 1.0
    assert rates[("M2", "M3")] == pytest.approx(2500 / 3400)
    assert rates[("M2", "M0")] == pytest.approx(900 / 3400)  # cure
    assert rates[("M3", "written_off")] == 1.0
    matrix = roll_matrix(roll_rates(panel))
    assert matrix["from_state"].to_list() == ["M0", "M1", "M2", "M3"]
    assert matrix.columns == ["from_state", "M0", "M1", "M2", "M3", "paid_off", "written_off"]
    may = roll_rates(panel, start=dt.date(2025, 5, 1), basis="count")
    assert may.filter(pl.col("from_state") == "M2")["rate"].to_list() == [0.5, 0.5]


def test_flow_cure_and_loss_rates(panel: pl.DataFrame) -> None:
    flows = flow_rates(panel)
    may = flows.filter(pl.col("month") == dt.date(2025, 5, 1))
    assert may.filter(pl.col("state") == "M3")["flow_rate"].item() == pytest.approx(1500 / 2400)
    assert may["cure_rate"][0] == pytest.approx(900 / 3400)
    losses = loss_rates(panel).filter(pl.col("month") == dt.date(2025, 5, 1))
    assert losses["charge_off_rate"].item() == pytest.approx(1000 / 3850)


def test_bucket_boundaries(panel: pl.DataFrame) -> None:
    bucket = dict(zip(panel["dpd"].to_list(), panel["bucket"].to_list(), strict=False))
    assert bucket[0] == "M0" and bucket[20] == "M1" and bucket[35] == "M2" and bucket[100] == "M4"


def test_bad_basis_is_named(panel: pl.DataFrame) -> None:
    with pytest.raises(InvalidArgumentError, match="basis"):
        roll_rates(panel, basis="amount")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="loans"):
        monthly_panel(pl.DataFrame({"loan_id": [1]}), pl.DataFrame())


def test_stratification_at_april(panel: pl.DataFrame, loans: pl.DataFrame) -> None:
    ages = pl.DataFrame({"loan_id": [1, 2, 3, 4, 5], "age": [22, 31, 45, 31, 70]})
    pool = pool_loans(panel, loans, month=dt.date(2025, 4, 30), attributes=ages)
    assert sorted(pool["loan_id"].to_list()) == [1, 3, 4, 5]  # loan 2 prepaid in April
    overview = pool_overview(pool).row(0, named=True)
    assert overview["loans"] == 4 and overview["balance_fen"] == 3850
    assert overview["wa_rate_bp"] == pytest.approx(9_870_000 / 3850)
    assert overview["wa_remaining_term"] == pytest.approx(25_500 / 3850)
    tables = stratify(pool)
    status = {
        r["status"]: (r["loans"], r["balance_fen"]) for r in tables["status"].iter_rows(named=True)
    }
    assert status == {"M0": (1, 450), "M2": (2, 2400), "M3": (1, 1000)}
    age = tables["age"]
    assert age["loans"].to_list() == [0, 1, 0, 1, 0, 1, 0, 1]  # every band listed, empty ones too
    assert age["age"].to_list()[0] == "< 18" and age["age"].to_list()[-1] == ">= 60"
    assert tables["balance"]["loans"].to_list()[1] == 4  # all under 1,000 CNY
    assert sum(tables["balance"]["share_balance"]) == pytest.approx(1.0)


def test_panel_with_sparse_ids_drops_unknown_loans(
    loans: pl.DataFrame, panel: pl.DataFrame
) -> None:
    sparse = loans.with_columns(pl.col("loan_id") * 10)
    perf = panel.select(
        (pl.col("loan_id") * 10).alias("loan_id"),
        pl.col("mob").cast(pl.Int16),
        pl.col("month").dt.month_end().alias("snapshot_on"),
        "paid_fen",
        pl.col("balance_fen").alias("principal_balance_fen"),
        "dpd",
        "status",
        "written_off_fen",
        "recovered_fen",
    )
    unknown = perf.head(1).with_columns(pl.lit(999, perf.schema["loan_id"]).alias("loan_id"))
    rebuilt = monthly_panel(sparse, pl.concat([perf, unknown]).sample(fraction=1.0, seed=1))
    assert rebuilt.height == panel.height  # the unknown loan is dropped, order restored
    assert rebuilt["loan_id"].to_list() == [i * 10 for i in panel["loan_id"].to_list()]
    assert rebuilt["state"].to_list() == panel["state"].to_list()
