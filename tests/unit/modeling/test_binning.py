"""Optimal binning of single variables and of frames: tables, constraints, edge cases."""

import json
import os
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fengkong.errors import ConfigError
from fengkong.modeling import (
    BinningParams,
    BinningProcess,
    BinningTable,
    OptimalBinning,
    UnseenCategoryWarning,
    fit_variable,
    load_bin_edits,
)

GOLDEN = Path(__file__).parent / "golden"


def _credit_like(n=20_000, seed=7):
    """Income (with -999 'not provided' and nulls), age, and a channel with a rare level."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.5, 0.6, n).round(0)
    age = rng.integers(18, 70, n).astype(float)
    channel = rng.choice(
        ["app", "h5", "partner_api", "offline", "kiosk"], n, p=[0.5, 0.3, 0.15, 0.046, 0.004]
    )
    logit = (
        -2.2
        - (income - 5000) / 6000
        + np.where(age < 25, 0.6, 0)
        + np.where(channel == "partner_api", 0.5, 0)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    income[rng.random(n) < 0.03] = -999
    income[rng.random(n) < 0.05] = np.nan
    return pl.DataFrame({"income": income, "age": age, "channel": channel}), y


def _golden(name, data):
    path = GOLDEN / f"{name}.json"
    if os.environ.get("FENGKONG_REGEN_GOLDEN"):
        path.write_text(json.dumps(data, indent=1) + "\n")
    return json.loads(path.read_text())


@pytest.mark.parametrize("variable", ["income", "age", "channel"])
def test_golden_binning_tables(variable):
    X, y = _credit_like()
    bp = BinningProcess(special_codes=[-999]).fit(X, y)
    table = bp.table(variable)
    got = {**table.to_dict(), "iv": round(table.iv, 10), "labels": table.labels}
    assert got == _golden(f"binning_{variable}", got)


def test_table_statistics_by_hand():
    t = BinningTable(
        "x", "numeric", splits=(1.0, 2.0), nonevent=(30, 50, 20, 0), event=(10, 5, 5, 0)
    )
    tne, tev = 100, 20
    woe = [
        np.log((30 / tne) / (10 / tev)),
        np.log((50 / tne) / (5 / tev)),
        np.log((20 / tne) / (5 / tev)),
        0.0,
    ]
    assert np.allclose(t.woe, woe)
    assert t.iv == pytest.approx(
        sum(
            (a / tne - b / tev) * w
            for a, b, w in zip((30, 50, 20, 0), (10, 5, 5, 0), woe, strict=True)
        )
    )
    assert t.ks == pytest.approx(max(abs(0.3 - 0.5), abs(0.8 - 0.75)))
    frame = t.to_polars()
    assert frame["count"].to_list() == [40, 55, 25, 0]
    assert frame["event_rate"].to_list()[:3] == [0.25, 5 / 55, 0.2]
    assert frame["event_rate"][3] is None


def test_special_and_missing_get_their_own_bins():
    X, y = _credit_like()
    t = BinningProcess(special_codes=[-999]).fit(X, y).table("income")
    labels = t.labels
    assert labels[-2:] == ["Special: -999.0", "Missing"]
    income = X["income"].to_numpy()
    assert t.count[-2] == int((income == -999).sum())
    assert t.count[-1] == int(np.isnan(income).sum())
    idx = t.assign(pl.Series([-999.0, None, float("nan"), 1e9]))
    assert idx.tolist() == [t.n_regular, t.missing_index, t.missing_index, t.n_regular - 1]


@pytest.mark.parametrize("trend", ["ascending", "descending", "peak", "valley"])
def test_trend_is_honoured(trend):
    X, y = _credit_like()
    t = fit_variable("age", X["age"], y, BinningParams(monotonic_trend=trend))
    d = np.diff(t.event_rate[: t.n_regular])
    if trend == "ascending":
        assert np.all(d > 0)
    elif trend == "descending":
        assert np.all(d < 0)
    else:
        first = d > 0 if trend == "peak" else d < 0
        assert np.all(np.diff((~first).astype(int)) >= 0)


def test_size_constraints_are_honoured():
    X, y = _credit_like()
    t = fit_variable(
        "income",
        X["income"],
        y,
        BinningParams(max_n_bins=4, min_bin_size=0.1, min_bin_n_event=50, special_codes=(-999,)),
    )
    assert t.n_regular <= 4
    assert t.count[: t.n_regular].min() >= 0.1 * X.height
    assert min(t.event[: t.n_regular]) >= 50


def test_milp_solver_gives_the_same_bins_as_the_default():
    X, y = _credit_like()
    for name in ("income", "age", "channel"):
        a = fit_variable(name, X[name], y, BinningParams(special_codes=(-999,)))
        b = fit_variable(name, X[name], y, BinningParams(special_codes=(-999,), solver="milp"))
        assert a.iv == pytest.approx(b.iv, rel=1e-9)


@pytest.mark.parametrize("method", ["quantile", "uniform", "tree"])
def test_prebinning_methods(method):
    X, y = _credit_like()
    t = fit_variable(
        "income", X["income"], y, BinningParams(prebinning_method=method, special_codes=(-999,))
    )
    assert t.n_regular >= 3 and t.iv > 0.1


def test_categorical_rare_levels_are_pooled_and_unseen_levels_reported():
    X, y = _credit_like()
    bp = BinningProcess(cat_cutoff=0.01).fit(X, y)
    t = bp.table("channel")
    assert t.kind == "categorical"
    grouped = next(g for g in t.groups if "kiosk" in g)
    assert len(grouped) >= 2  # the rare level sits with others
    new = pl.DataFrame({"income": [1000.0], "age": [30.0], "channel": ["wechat"]})
    with pytest.warns(UnseenCategoryWarning, match="wechat"):
        woe = bp.transform(new)
    assert woe["channel"][0] == t.woe[t.missing_index]
    assert bp.unseen_categories(new).rows() == [("channel", "wechat", 1)]
    strict = BinningProcess(unknown="error").fit(X, y)
    with pytest.raises(ValueError, match="channel"):
        strict.transform(new)
    worst = BinningProcess(unknown="worst").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenCategoryWarning)
        assert worst.transform(new)["channel"][0] == min(worst.table("channel").woe[:-1])


def test_constant_and_all_missing_columns_are_reported_not_fatal():
    X, y = _credit_like(2_000)
    X = X.with_columns(pl.lit(1.0).alias("const"), pl.lit(None, pl.Float64).alias("empty"))
    summary = BinningProcess().fit(X, y).summary()
    status = dict(summary.select("variable", "status").iter_rows())
    assert status["const"] == "constant" and status["empty"] == "all_missing"


@pytest.mark.parametrize(
    ("y", "match"),
    [
        ([0] * 10, "both classes"),
        ([0, 1, 2] * 3 + [0], "values 0 and 1"),
        ([0, 1] * 4 + [None, 1], "missing"),
    ],
)
def test_bad_targets_are_refused(y, match):
    x = np.arange(10.0)
    with pytest.raises(ValueError, match=match):
        OptimalBinning().fit(x, np.array(y, dtype=object) if None in y else y)


def test_mismatched_columns_at_transform():
    X, y = _credit_like(2_000)
    bp = BinningProcess().fit(X, y)
    with pytest.raises(ValueError, match=r"missing \['age'\]"):
        bp.transform(X.drop("age"))
    with pytest.raises(ValueError, match="income"):
        bp.transform(X.with_columns(pl.col("income").cast(pl.String)))


def test_user_splits_and_bin_edits_file(tmp_path):
    X, y = _credit_like()
    edits = tmp_path / "edits.yaml"
    edits.write_text(
        "schema_version: 1\nvariables:\n  age: {user_splits: [25, 35, 50]}\n"
        "  channel: {user_splits: [[app, h5], [partner_api], [offline, kiosk]]}\n"
    )
    bp = BinningProcess(binning_params=load_bin_edits(edits)).fit(X, y)
    assert bp.table("age").splits == (25.0, 35.0, 50.0)
    assert bp.table("channel").groups == (("app", "h5"), ("partner_api",), ("offline", "kiosk"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "schema_version: 2\nvariables:\n  age: {max_n_bins: 0, colour: red}\n"
        "  income: {monotonic_trend: sideways}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_bin_edits(bad)
    paths = [p.path for p in err.value.problems]
    assert "schema_version" in paths and "variables.income.monotonic_trend" in paths
    assert any(p.startswith("variables.age") for p in paths)


def test_threads_give_the_same_result_and_save_load_round_trips(tmp_path):
    X, y = _credit_like()
    one = BinningProcess(n_jobs=1, special_codes=[-999]).fit(X, y)
    two = BinningProcess(n_jobs=2, special_codes=[-999]).fit(X, y)
    assert one.to_dict() == two.to_dict()
    back = BinningProcess.load(two.save(tmp_path / "bins.json"))
    assert back.transform(X).equals(two.transform(X))


def test_optimal_binning_single_column_and_plot():
    X, y = _credit_like(5_000)
    ob = OptimalBinning(name="age").fit(X.select("age"), y)
    out = ob.transform(X.select("age"))
    assert out.shape == (5_000, 1)
    fig = ob.binning_table_.plot()
    assert len(fig.axes) == 2


def test_pandas_and_numpy_inputs_bin_like_polars():
    X, y = _credit_like(5_000)
    ref = BinningProcess().fit(X, y)
    assert BinningProcess().fit(X.to_pandas(), pl.Series(y).to_pandas()).to_dict() == ref.to_dict()
    nums = X.select("income", "age")
    arr = BinningProcess().fit(nums.to_numpy(), y)
    assert arr.table("x1").splits == ref.table("age").splits
