"""Variable selection, reject inference on the synthetic book, and the validation report."""

import numpy as np
import polars as pl
import pytest
from scorecard_book import credit_data

from fengkong.modeling import (
    APPLICATION_FEATURES,
    BinningProcess,
    GBMClassifier,
    Sample,
    Scorecard,
    application_dataset,
    characteristic_stability,
    evaluate_reject_inference,
    infer_rejects,
    model_report,
    select_variables,
)
from fengkong.modeling.selection import variance_inflation
from fengkong.synth import generate


def test_selection_steps_and_reasons():
    X, y = credit_data()
    rng = np.random.default_rng(0)
    X = X.with_columns(
        (pl.col("income") * 1.01 + 3).alias("income_copy"),
        pl.Series("noise", rng.normal(size=X.height)),
    )
    bp = BinningProcess(special_codes=[-999]).fit(X, y)
    sel = select_variables(bp, X, y, min_iv=0.02, max_corr=0.9)
    steps = dict(sel.table.select("variable", "step").iter_rows())
    assert steps["noise"] == "iv"
    assert "correlation" in {steps["income"], steps["income_copy"]}
    assert set(sel.selected) >= {"age", "inquiries", "channel"}
    fwd = select_variables(bp, X, y, max_corr=0.9, stepwise="forward", criterion="bic")
    assert set(fwd.selected) <= set(sel.selected) and fwd.selected


def test_vif_by_hand():
    rng = np.random.default_rng(1)
    a = rng.normal(size=2000)
    b = rng.normal(size=2000)
    vif = variance_inflation(np.column_stack([a, b, a + b + rng.normal(0, 0.1, 2000)]))
    assert vif[0] > 50 and vif[2] > 50
    assert variance_inflation(np.column_stack([a, b]))[0] == pytest.approx(1.0, abs=0.01)


@pytest.fixture(scope="module")
def book_data():
    return application_dataset(generate(40_000, seed=5))


def test_application_dataset_has_every_outcome(book_data):
    assert book_data.height == 40_000
    assert set(APPLICATION_FEATURES) <= set(book_data.columns)
    declined = book_data.filter(~pl.col("accepted"))
    assert declined.height > 0 and declined["bad"].null_count() == 0
    assert declined["bad"].mean() > book_data.filter(pl.col("accepted"))["bad"].mean()


def test_reject_inference_methods_on_the_book(book_data):
    features = list(APPLICATION_FEATURES)
    result = evaluate_reject_inference(book_data, features, seed=0)
    auc = dict(result.select("model", "ttd_auc").iter_rows())
    assert set(auc) == {"known_only", "hard_cutoff", "parcelling", "fuzzy", "all_outcomes"}
    assert auc["all_outcomes"] > auc["known_only"]
    assert all(0.5 < v < 1 for v in auc.values())


def test_infer_rejects_keeps_bins_and_records_method(book_data):
    features = list(APPLICATION_FEATURES)
    acc = book_data.filter(pl.col("accepted"))
    rej = book_data.filter(~pl.col("accepted"))
    kgb = Scorecard().fit(acc.select(features), acc["bad"])
    for method in ("hard_cutoff", "parcelling", "fuzzy"):
        ri = infer_rejects(
            kgb,
            acc.select(features),
            acc["bad"],
            rej.select(features),
            method=method,
            reject_rate_factor=2.0,
        )
        assert ri.variables_ == kgb.variables_
        assert ri.reject_inference_["method"] == method
        assert ri.reject_inference_["inferred_bad_rate"] > acc["bad"].mean()
    with pytest.raises(ValueError, match="method"):
        infer_rejects(kgb, acc.select(features), acc["bad"], rej.select(features), method="x")


def test_report_for_scorecard_and_gbm(tmp_path):
    X, y = credit_data()
    dev, oot = (X[:14_000], y[:14_000]), (X[14_000:], y[14_000:])
    sc = Scorecard(BinningProcess(special_codes=[-999])).fit(*dev)
    path = model_report(
        sc, Sample("dev", *dev), tmp_path / "card", oot=Sample("oot", *oot), n_boot=20
    )
    text = path.read_text()
    assert "Score PSI" in text and "data:image/png;base64," in text and "Points table" in text
    figures = {p.name for p in (tmp_path / "card" / "figures").iterdir()}
    assert {
        "roc.png",
        "ks.png",
        "calibration.png",
        "score_distribution.png",
        "iv_ranking.png",
        "binning_income.png",
    } <= figures
    gbm = GBMClassifier(n_estimators=50).fit(*dev)
    path = model_report(gbm.artifact_, Sample("dev", *dev), tmp_path / "gbm", n_boot=20)
    assert "LightGBM" in path.read_text()
    csi = characteristic_stability(sc, dev[0], oot[0])
    assert csi["csi"].max() < 0.05
    shifted = oot[0].with_columns(pl.col("age") + 15)
    assert characteristic_stability(sc, dev[0], shifted).row(0)[0] == "age"
