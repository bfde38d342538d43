"""The collection score: a leakage-free dataset from the synthetic book and an out-of-time
validation that beats chance by a wide margin."""

import datetime as dt

import polars as pl
import pytest

from fengkong.collections.score import (
    COLLECTION_FEATURES,
    collection_dataset,
    fit_collection_score,
)
from fengkong.errors import InvalidArgumentError
from fengkong.synth import generate


@pytest.fixture(scope="module")
def data():
    book = generate(30_000, seed=4)
    return collection_dataset(book.loans, book.performance, book.collection_responses), book


def test_dataset_rows_are_delinquent_snapshots_with_next_month_target(data):
    frame, book = data
    assert frame.height > 1000 and (frame["dpd"] > 0).all()
    assert set(COLLECTION_FEATURES) <= set(frame.columns)
    one = frame.row(0, named=True)
    perf = book.performance.filter(pl.col("loan_id") == one["loan_id"]).sort("mob")
    nxt = perf.filter(pl.col("snapshot_on") > one["snapshot_on"]).head(1)
    paid_next = nxt.height and (nxt["paid_fen"] + nxt["recovered_fen"]).item() > 0
    assert one["paid_30d"] == int(bool(paid_next))
    before = perf.filter(pl.col("snapshot_on") < one["snapshot_on"])
    assert one["max_dpd_before"] == (before["dpd"].max() or 0)


def test_out_of_time_validation(data):
    frame, _ = data
    score = fit_collection_score(frame, n_estimators=60)
    assert score.train_rows + score.test_rows == frame.height
    assert score.test_auc > 0.75 and score.test_ks > 0.3
    p = score.predict(frame.head(50))
    assert ((p >= 0) & (p <= 1)).all()
    with pytest.raises(InvalidArgumentError, match="cutoff"):
        fit_collection_score(frame, cutoff=dt.date(2000, 1, 1))
