"""The default parameters reproduce the public figures of shared/DOMAIN.md within bands."""

import datetime as dt

import polars as pl
import pytest

from fengkong.portfolio import pool_summary
from fengkong.synth import generate


@pytest.fixture(scope="module")
def calibration_book():
    # Large enough that fraud-ring lumpiness averages out; about 6 s.
    return generate(300_000, seed=0)


def test_pool_delinquency_matches_the_huabei_abs_figures(calibration_book):
    total = pool_summary(
        calibration_book.loans, calibration_book.performance, dt.date(2026, 1, 1)
    ).row(-1, named=True)
    assert 0.013 <= total["dpd_30_plus"] <= 0.024  # Huabei ABS 30+: 1.83 % of balance
    assert 0.008 <= total["dpd_90_plus"] <= 0.017  # Huabei ABS 90+: 1.29 % of balance
    assert total["dpd_90_plus"] < total["dpd_30_plus"] < total["dpd_1_plus"]


def test_borrowers_amounts_and_terms_look_like_the_abs_pools(calibration_book):
    loans = calibration_book.loans.join(
        calibration_book.applications.select("application_id", "age"), on="application_id"
    )
    assert 29.0 <= loans["age"].mean() <= 32.5  # Baitiao weighted average age 30.47
    assert (loans["age"] < 40).mean() >= 0.85
    assert (loans["principal_fen"] < 600_000).mean() >= 0.6  # mostly under 6,000 RMB
    assert (loans["term"] <= 12).mean() >= 0.8  # mostly 12 months or less


def test_the_book_has_something_to_learn(calibration_book):
    """The baseline score ranks the counterfactual outcome (AUC well above 0.5)."""
    o = calibration_book.oracle.join(
        calibration_book.applications.select("application_id", "baseline_score"),
        on="application_id",
    )
    ranks = o.with_columns(r=pl.col("baseline_score").rank())
    bad = ranks.filter(pl.col("ever_90dpd") & ~pl.col("is_fraud"))
    good = ranks.filter(~pl.col("ever_90dpd"))
    auc = 1 - (bad["r"].sum() - bad.height * (bad.height + 1) / 2) / (
        bad.height * good.height
    )  # low score = risky
    auc = max(auc, 1 - auc)
    assert 0.65 <= auc <= 0.9
    approval = (calibration_book.applications["baseline_decision"] == "approve").mean()
    assert 0.5 <= approval <= 0.8
