"""Validation metrics against hand-worked numbers and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fengkong.modeling.metrics import (
    bootstrap,
    brier_score,
    gains_table,
    gini,
    hosmer_lemeshow,
    ks_statistic,
    psi,
    psi_table,
    roc_auc,
    score_bands,
)


def test_auc_ks_by_hand_with_ties():
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.5, 0.5, 0.9, 0.2, 0.3])
    # pairs (bad, good): 9; bad>good: 0.5>0.1,0.5>0.2, 0.9>all 3, 0.3>0.1,0.3>0.2 = 7; tie 0.5=0.5
    assert roc_auc(y, s) == pytest.approx(7.5 / 9)
    assert gini(y, s) == pytest.approx(2 * 7.5 / 9 - 1)
    # thresholds: >=0.9: tpr 1/3 fpr 0; >=0.5: tpr 2/3 fpr 1/3; >=0.3: 1, 1/3
    assert ks_statistic(y, s) == pytest.approx(2 / 3)


def test_auc_matches_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    s = np.round(y * 0.5 + rng.normal(size=5000), 1)  # many ties
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))


def test_bootstrap_interval_covers_the_value():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 2000)
    s = y + rng.normal(size=2000) * 2
    ci = bootstrap(roc_auc, y, s, n_boot=100)
    assert ci.low < ci.value < ci.high and ci.high - ci.low < 0.1


def test_gains_table():
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])
    s = np.arange(10, 0, -1, dtype=float)  # riskiest first
    g = gains_table(y, s, n_bands=5)
    assert g["count"].to_list() == [2] * 5
    assert g["bad"].to_list() == [2, 1, 0, 0, 0]
    assert g["cum_bad_share"].to_list()[:2] == [2 / 3, 1.0]
    assert g["lift"][0] == pytest.approx(1.0 / 0.3)
    assert g["ks"].max() == pytest.approx(1.0 - 1 / 7)


def test_brier_and_hosmer_lemeshow():
    y = np.array([0, 1, 0, 1])
    p = np.array([0.1, 0.9, 0.2, 0.6])
    assert brier_score(y, p) == pytest.approx((0.01 + 0.01 + 0.04 + 0.16) / 4)
    rng = np.random.default_rng(2)
    p = rng.uniform(0.01, 0.5, 20_000)
    calibrated = hosmer_lemeshow((rng.random(20_000) < p).astype(int), p)
    shifted = hosmer_lemeshow((rng.random(20_000) < p * 1.5).astype(int), p)
    assert calibrated.p_value > 0.01 > shifted.p_value
    assert calibrated.table.height == 10


def test_psi_by_hand():
    expected = np.array([1, 2, 3, 4] * 25, dtype=float)
    actual = np.array([1] * 40 + [2] * 20 + [3] * 20 + [4] * 20, dtype=float)
    t = psi_table(expected, actual, edges=[1.5, 2.5, 3.5])
    e = np.array([0.25] * 4)
    a = np.array([0.4, 0.2, 0.2, 0.2])
    assert t["psi"].sum() == pytest.approx(float(np.sum((a - e) * np.log(a / e))))
    assert psi(expected, expected) == 0.0


def test_score_bands_include_empty_bands():
    t = score_bands([0, 1, 1], [500, 650, 660], edges=[550, 600, 700])
    assert t["count"].to_list() == [1, 0, 2, 0]
    assert t["bad_rate"].to_list()[2] == 1.0


def test_metric_inputs_are_checked():
    with pytest.raises(ValueError, match="score"):
        roc_auc([0, 1], [0.5])
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([0, 1], [0.5, float("nan")])
