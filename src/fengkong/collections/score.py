"""The collection score ("催后预测"): the probability that a delinquent borrower pays within the
next 30 days, from what is known at the month-end snapshot.

:func:`collection_dataset` builds one row per delinquent loan-month from the servicing
performance panel (days past due, amounts, payment and delinquency history), the contract and
the month's contact outcomes (reached, right party, promise), with the target ``paid_30d``
(a payment or recovery in the following month). :func:`fit_collection_score` fits a
monotone LightGBM through :mod:`fengkong.modeling` on the earlier months and reports AUC and
KS on the later ones (out of time).

>>> from fengkong.synth import generate
>>> book = generate(20_000, seed=1)
>>> data = collection_dataset(book.loans, book.performance, book.collection_responses)
>>> sorted(set(COLLECTION_FEATURES) - set(data.columns))
[]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.modeling.gbm import GBMArtifact, GBMClassifier
from fengkong.modeling.metrics import ks_statistic, roc_auc

__all__ = [
    "COLLECTION_FEATURES",
    "CollectionScore",
    "case_p_pay",
    "collection_dataset",
    "fit_collection_score",
]

COLLECTION_FEATURES = [
    "dpd",
    "overdue_fen",
    "principal_balance_fen",
    "overdue_share",
    "mob",
    "term",
    "rate_bp",
    "principal_fen",
    "paid_this_month",
    "paid_share_this_month",
    "max_dpd_before",
    "months_delinquent_before",
    "cures_before",
    "contacted",
    "right_party",
    "promised",
    "product",
]


def collection_dataset(
    loans: pl.DataFrame, performance: pl.DataFrame, responses: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per delinquent loan-month: ``loan_id, snapshot_on``, features, ``paid_30d``."""
    perf = performance.sort("loan_id", "mob")
    history = perf.with_columns(
        pl.col("dpd").cum_max().shift(1).over("loan_id").fill_null(0).alias("max_dpd_before"),
        (pl.col("dpd") > 0)
        .cast(pl.Int32)
        .cum_sum()
        .shift(1)
        .over("loan_id")
        .fill_null(0)
        .alias("months_delinquent_before"),
        ((pl.col("dpd") == 0) & (pl.col("dpd").shift(1) > 0))
        .cast(pl.Int32)
        .cum_sum()
        .over("loan_id")
        .alias("cures_before"),
        ((pl.col("paid_fen") + pl.col("recovered_fen")).shift(-1).over("loan_id") > 0)
        .fill_null(False)
        .cast(pl.Int8)
        .alias("paid_30d"),
    )
    rows = history.filter((pl.col("dpd") > 0) & (pl.col("status") == "delinquent")).join(
        loans.select("loan_id", "term", "rate_bp", "principal_fen", "product"), on="loan_id"
    )
    rows = rows.with_columns(
        (pl.col("overdue_fen") / pl.col("principal_balance_fen").clip(1)).alias("overdue_share"),
        (pl.col("paid_fen") > 0).cast(pl.Int8).alias("paid_this_month"),
        (pl.col("paid_fen") / pl.col("scheduled_fen").clip(1)).alias("paid_share_this_month"),
    )
    if responses is not None and responses.height:
        contact = responses.group_by("loan_id", "mob").agg(
            pl.col("contacted").any().cast(pl.Int8).alias("contacted"),
            pl.col("right_party").any().cast(pl.Int8).alias("right_party"),
            pl.col("promised").any().cast(pl.Int8).alias("promised"),
        )
        rows = rows.join(contact, on=["loan_id", "mob"], how="left")
    else:
        rows = rows.with_columns(
            pl.lit(None, pl.Int8).alias(c) for c in ("contacted", "right_party", "promised")
        )
    rows = rows.with_columns(
        pl.col(c).fill_null(0) for c in ("contacted", "right_party", "promised")
    )
    return rows.select("loan_id", "snapshot_on", *COLLECTION_FEATURES, "paid_30d").sort(
        "snapshot_on", "loan_id"
    )


@dataclass(frozen=True, slots=True)
class CollectionScore:
    """A fitted collection score with its out-of-time validation."""

    model: GBMArtifact
    cutoff: dt.date
    train_rows: int
    test_rows: int
    train_auc: float
    test_auc: float
    test_ks: float
    pay_rate: float

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        """P(pay within 30 days) for each row."""
        return self.model.predict_proba(frame.select(list(self.model.features)))


def fit_collection_score(
    data: pl.DataFrame,
    *,
    cutoff: dt.date | None = None,
    n_estimators: int = 300,
    random_state: int = 0,
) -> CollectionScore:
    """Fit on snapshots before ``cutoff`` (default: the 75th percentile of snapshot dates),
    validate on the rest. The target is paying, so the model's "event" is a payment."""
    if "paid_30d" not in data.columns:
        raise InvalidArgumentError("data", expected="a collection_dataset frame", got=data.columns)
    dates = data["snapshot_on"].sort()
    if cutoff is None:
        cutoff = dates[int(len(dates) * 0.75)]
    train = data.filter(pl.col("snapshot_on") < cutoff)
    test = data.filter(pl.col("snapshot_on") >= cutoff)
    if train.height == 0 or test.height == 0:
        raise InvalidArgumentError(
            "cutoff", expected=f"a date inside {dates[0]}..{dates[-1]}", got=cutoff
        )
    gbm = GBMClassifier(
        n_estimators=n_estimators,
        learning_rate=0.05,
        random_state=random_state,
        name="collection_score",
    )
    gbm.fit(train.select(COLLECTION_FEATURES), train["paid_30d"].to_numpy())
    model = gbm.artifact_
    p_train = model.predict_proba(train.select(COLLECTION_FEATURES))
    p_test = model.predict_proba(test.select(COLLECTION_FEATURES))
    y_test = test["paid_30d"].to_numpy()
    return CollectionScore(
        model,
        cutoff,
        train.height,
        test.height,
        roc_auc(train["paid_30d"].to_numpy(), p_train),
        roc_auc(y_test, p_test),
        ks_statistic(y_test, p_test),
        float(np.mean(data["paid_30d"].to_numpy())),
    )


def case_p_pay(cases: pl.DataFrame, loans: pl.DataFrame, scored: pl.DataFrame) -> pl.DataFrame:
    """``case_id, p_pay`` per case: the best P(pay) among its borrower's scored loans (a
    borrower who pays anything pays on the case). ``loans`` maps ``loan_id`` to
    ``borrower_id``; ``scored`` has ``loan_id, p_pay``."""
    per_borrower = (
        loans.select("loan_id", "borrower_id")
        .join(scored.select("loan_id", "p_pay"), on="loan_id")
        .group_by("borrower_id")
        .agg(pl.col("p_pay").max())
    )
    return (
        cases.select("case_id", "borrower_id")
        .join(per_borrower, on="borrower_id", how="left")
        .select("case_id", "p_pay")
    )
