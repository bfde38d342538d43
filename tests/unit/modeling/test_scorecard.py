"""The scorecard: points scaling, reasons, and identical scores row-wise, batch and from JSON."""

import math
import sqlite3
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from scorecard_book import credit_data, fitted_scorecard, probe_rows

from fengkong.modeling import Scorecard, ScorecardModel
from fengkong.modeling.metrics import roc_auc


@pytest.fixture(scope="module")
def card():
    return fitted_scorecard()


def test_points_follow_the_scaling(card):
    sc, X = card
    m = sc.model_
    factor = 20 / math.log(2)
    offset = 600 - factor * math.log(50)
    # unrounded points reproduce offset + factor * ln(odds of good) exactly
    log_odds_bad = sc.decision_function(X.head(50))
    rounded = sc.score_points(X.head(50)).to_numpy().astype(float)
    exact = offset - factor * log_odds_bad
    assert np.max(np.abs(rounded - exact)) <= 0.5 * len(m.variables) + 1e-9
    # doubling the odds of good adds pdo points
    assert m.probability(600.0) == pytest.approx(1 / 51)
    assert m.probability(620.0) == pytest.approx(1 / 101)


def test_points_rank_like_the_regression(card):
    sc, X = card
    _, y = credit_data()
    p = sc.predict_proba(X)[:, 1]
    pts = sc.score_points(X).to_numpy()
    assert roc_auc(y, -pts) == pytest.approx(roc_auc(y, p), abs=0.01)
    assert roc_auc(y, p) > 0.65


def test_row_batch_and_json_scores_are_identical(card, tmp_path):
    sc, _ = card
    rows = probe_rows(sc)
    loaded = ScorecardModel.load(sc.model_.save(tmp_path / "card.json"))
    assert loaded == sc.model_
    frame = pl.DataFrame(
        rows,
        schema={
            "income": pl.Float64,
            "age": pl.Float64,
            "channel": pl.String,
            "inquiries": pl.Float64,
        },
    )
    batch = sc.score_points(frame).to_list()
    for row, b in zip(rows, batch, strict=True):
        assert sc.model_.score_row(row) == loaded.score_row(row) == Decimal(b)


def test_scores_identical_in_sqlite(card):
    sc, _ = card
    rows = probe_rows(sc)
    con = sqlite3.connect(":memory:")
    con.execute(
        "CREATE TABLE apps (id INTEGER, income REAL, age REAL, channel TEXT, inquiries REAL)"
    )
    con.executemany(
        "INSERT INTO apps VALUES (?, ?, ?, ?, ?)",
        [(k, r["income"], r["age"], r["channel"], r["inquiries"]) for k, r in enumerate(rows)],
    )
    got = con.execute(
        f"SELECT id, score FROM ({sc.model_.to_sql('apps', keep=['id'])}) ORDER BY id"
    ).fetchall()
    assert [Decimal(s) for _, s in got] == [sc.model_.score_row(r) for r in rows]


def test_decimal_points_are_exact():
    sc, X = fitted_scorecard(decimals=2)
    rows = probe_rows(sc, 50)
    scores = [sc.model_.score_row(r) for r in rows]
    assert all(s.as_tuple().exponent == -2 for s in scores)
    batch = sc.score_points(X.head(20))
    assert batch.dtype == pl.Decimal(38, 2)
    assert [Decimal(str(v)) for v in batch.to_list()] == [
        sc.model_.score_row(r) for r in X.head(20).iter_rows(named=True)
    ]


def test_reason_codes_rank_points_lost(card):
    sc, _ = card
    m = sc.model_
    row = {"income": 1500.0, "age": 20.0, "channel": "partner_api", "inquiries": 6.0}
    r = m.explain_row(row, n_reasons=4)
    lost = [x.points_lost for x in r.reasons]
    assert lost == sorted(lost, reverse=True) and all(v > 0 for v in lost)
    for reason in r.reasons:
        var = next(v for v in m.variables if v.name == reason.variable)
        assert reason.points_lost == var.best_points - r.points[reason.variable]
        assert reason.code in {"R01", "R02", "R03", "R04"}
    best = {v.name: v.best_points for v in m.variables}
    assert m.explain_row({**row, **{v.name: None for v in m.variables}}).score <= sum(best.values())
    table = sc.reasons(pl.DataFrame([row]), n_reasons=2)
    assert table.row(0) == (str(r.score), r.reasons[0].code, r.reasons[1].code)


def test_points_table_lists_every_bin(card):
    sc, _ = card
    pt = sc.points_table()
    assert pt.height == sum(v.table.n_bins for v in sc.model_.variables)
    assert set(pt.columns) >= {"variable", "bin", "woe", "points"}


def test_scoring_input_errors_name_the_field(card):
    sc, _ = card
    m = sc.model_
    with pytest.raises(ValueError, match="age"):
        m.score_row({"income": 1.0, "channel": "app", "inquiries": 1.0})
    with pytest.raises(ValueError, match="income: expected a number"):
        m.score_row({"income": "lots", "age": 30, "channel": "app", "inquiries": 1.0})
    with pytest.raises(ValueError, match="missing"):
        sc.score_points(pl.DataFrame({"income": [1.0]}))


def test_unknown_error_policy_refuses_unseen_levels():
    sc, _ = fitted_scorecard(unknown="error")
    with pytest.raises(ValueError, match="channel"):
        sc.model_.score_row({"income": 1.0, "age": 30, "channel": "wechat", "inquiries": 1.0})


def test_edited_artifact_is_refused(card, tmp_path):
    sc, _ = card
    path = sc.model_.save(tmp_path / "card.json")
    path.write_text(path.read_text().replace('"pdo": 20.0', '"pdo": 40.0'))
    with pytest.raises(ValueError, match="sha256"):
        ScorecardModel.load(path)


def test_no_informative_variable_is_a_clear_error():
    rng = np.random.default_rng(0)
    X = pl.DataFrame({"noise": rng.normal(size=2000)})
    y = rng.integers(0, 2, 2000)
    with pytest.raises(ValueError, match="IV"):
        Scorecard(min_iv=0.5).fit(X, y)
