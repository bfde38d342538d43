"""LightGBM: monotone constraints from binning, early stopping, reasons, exported artifact."""

import numpy as np
import polars as pl
import pytest
from scorecard_book import credit_data
from sklearn.utils.estimator_checks import parametrize_with_checks

from fengkong.modeling import GBMArtifact, GBMClassifier
from fengkong.modeling.metrics import roc_auc


@pytest.fixture(scope="module")
def fitted():
    X, y = credit_data()
    return GBMClassifier(n_estimators=300, reason_codes={"income": "R01"}).fit(X, y), X, y


def test_constraints_come_from_the_binning_trends(fitted):
    gbm, X, _ = fitted
    mono = dict(zip(gbm.artifact_.features, gbm.artifact_.monotone, strict=True))
    assert mono["income"] == -1 and mono["inquiries"] == 1 and mono["channel"] == 0
    # the model honours them: more inquiries never lowers the probability of bad
    base = X.head(200)
    p = [
        gbm.predict_proba(base.with_columns(pl.lit(float(k)).alias("inquiries")))[:, 1]
        for k in range(8)
    ]
    assert np.all(np.diff(np.vstack(p), axis=0) >= -1e-12)


def test_early_stopping_and_quality(fitted):
    gbm, X, y = fitted
    assert 0 < gbm.best_iteration_ < 300
    assert roc_auc(y, gbm.predict_proba(X)[:, 1]) > 0.65


def test_reasons_are_the_largest_positive_contributions(fitted):
    gbm, X, _ = fitted
    contrib = gbm.artifact_.contributions(X.head(20))
    reasons = gbm.reasons(X.head(20), n_reasons=2)
    feats = list(gbm.artifact_.features)
    for k in range(20):
        row = contrib.row(k)[: len(feats)]
        best = feats[int(np.argmax(row))]
        expected = {"income": "R01"}.get(best, best) if max(row) > 0 else None
        assert reasons["reason_1"][k] == expected
    # contributions add up to the log-odds
    logit = np.log(gbm.predict_proba(X.head(20))[:, 1] / gbm.predict_proba(X.head(20))[:, 0])
    assert np.allclose(contrib.sum_horizontal().to_numpy(), logit, atol=1e-6)


def test_text_and_sidecar_round_trip(fitted, tmp_path):
    gbm, X, _ = fitted
    text, _ = gbm.artifact_.save(tmp_path / "gbm")
    assert text.read_text().startswith("tree")
    back = GBMArtifact.load(tmp_path / "gbm")
    assert np.array_equal(back.predict_proba(X.head(100)), gbm.artifact_.predict_proba(X.head(100)))
    row = X.row(3, named=True)
    assert back.score_row(row) == pytest.approx(gbm.predict_proba(X[3:4])[0, 1])
    unseen = back.score_row({**row, "channel": "wechat"})
    assert 0 < unseen < 1
    text.write_text(text.read_text().replace("tree", "tree ", 1))
    with pytest.raises(ValueError, match="model_sha256"):
        GBMArtifact.load(tmp_path / "gbm")


def test_bad_monotone_setting(fitted):
    _, X, y = fitted
    with pytest.raises(ValueError, match="monotone"):
        GBMClassifier(monotone={"nope": 1}).fit(X, y)


@parametrize_with_checks(
    [GBMClassifier(n_estimators=5, early_stopping_rounds=0, min_child_samples=2)],
    expected_failed_checks=lambda e: dict.fromkeys(
        [
            "check_classifier_data_not_an_array",
            "check_classifiers_classes",
            "check_estimators_dtypes",
        ],
        "the check passes targets other than 0/1, which fengkong refuses by design",
    ),
)
def test_sklearn_contract(estimator, check):
    check(estimator)
