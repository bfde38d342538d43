"""The single-row fast path gives LightGBM's own results, bit for bit."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from fengkong.modeling.single_row import SingleRowPredictor


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 6))
    x[:, 5] = rng.integers(0, 4, size=3000)  # a categorical column
    x[rng.random(x.shape) < 0.15] = np.nan
    y = (np.nan_to_num(x[:, 0]) + (x[:, 5] == 2) + rng.normal(size=3000) > 0.5).astype(int)
    train, valid = lgb.Dataset(x[:2000], y[:2000], categorical_feature=[5]), None
    valid = lgb.Dataset(x[2000:], y[2000:], reference=train)
    params = {"objective": "binary", "verbose": -1, "num_leaves": 15, "learning_rate": 0.3}
    return lgb.train(params, train, 300, valid_sets=[valid],
                     callbacks=[lgb.early_stopping(5, verbose=False)])  # fmt: skip


def test_equal_to_booster_predict(booster: lgb.Booster) -> None:
    assert 0 < booster.best_iteration < 300  # the best iteration is used, as predict does
    probability = SingleRowPredictor(booster, "probability")
    contributions = SingleRowPredictor(booster, "contributions")
    rng = np.random.default_rng(4)
    rows = rng.normal(size=(400, 6))
    rows[:, 5] = rng.integers(-1, 6, size=400)  # unseen categories too
    rows[rng.random(rows.shape) < 0.2] = np.nan
    expected_p = booster.predict(rows)
    expected_c = booster.predict(rows, pred_contrib=True)
    for k in range(len(rows)):
        row = rows[k : k + 1]
        assert probability(row)[0] == expected_p[k]
        np.testing.assert_array_equal(contributions(row), expected_c[k])


def test_result_is_a_copy_and_width_is_checked(booster: lgb.Booster) -> None:
    probability = SingleRowPredictor(booster, "probability")
    first = probability(np.zeros(6))
    probability(np.ones(6))
    assert first[0] == booster.predict(np.zeros((1, 6)))[0]
    with pytest.raises(ValueError, match="expected 6 features, got 5"):
        probability(np.zeros(5))
