"""Monitoring tables and alerts, on hand-worked data."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from fengkong.errors import ConfigError
from fengkong.portfolio import (
    AlertRule,
    check_alerts,
    decision_rates,
    discrimination_by_month,
    load_alert_rules,
    score_psi_by_month,
    variable_csi_by_month,
)

JAN, FEB = dt.date(2026, 1, 1), dt.date(2026, 2, 1)


def test_score_psi_by_hand():
    reference = np.array([1.0, 2.0, 3.0, 4.0] * 25)
    frame = pl.DataFrame(
        {
            "month": [JAN] * 100 + [FEB] * 100,
            "score": [1.0, 2.0, 3.0, 4.0] * 25 + [1.0] * 40 + [2.0, 3.0, 4.0] * 20,
        }
    )
    psi = score_psi_by_month(reference, frame, n_bands=4)
    e, a = np.full(4, 0.25), np.array([0.4, 0.2, 0.2, 0.2])
    assert psi["psi"].to_list() == pytest.approx([0.0, float(np.sum((a - e) * np.log(a / e)))])
    assert psi["rows"].to_list() == [100, 100]


def test_variable_csi_numeric_and_categorical():
    ref = pl.DataFrame({"x": [1.0, 2.0, None, 4.0] * 25, "c": ["a", "b"] * 50})
    frame = pl.DataFrame(
        {
            "month": [JAN] * 100 + [FEB] * 100,
            "x": [1.0, 2.0, None, 4.0] * 25 + [None] * 100,
            "c": ["a", "b"] * 50 + ["a"] * 90 + ["new"] * 10,
        }
    )
    csi = variable_csi_by_month(ref, frame, ["x", "c"], n_bands=4)
    jan = dict(csi.filter(pl.col("month") == JAN).select("variable", "csi").iter_rows())
    feb = dict(csi.filter(pl.col("month") == FEB).select("variable", "csi").iter_rows())
    assert jan == {"c": 0.0, "x": 0.0}
    assert feb["x"] > 1.0 and feb["c"] > 0.25  # all missing; a new level and a shifted mix


def test_discrimination_ignores_immature_rows():
    frame = pl.DataFrame(
        {
            "month": [JAN] * 6 + [FEB] * 3,
            "score": [0.9, 0.8, 0.2, 0.1, 0.7, 0.3, 0.5, 0.6, 0.7],
            "bad": [1, 1, 0, 0, None, None, None, None, None],
        }
    )
    out = discrimination_by_month(frame, min_bads=1)
    jan = out.row(0, named=True)
    assert jan["matured"] == 4 and jan["auc"] == 1.0 and jan["ks"] == 1.0
    feb = out.row(1, named=True)
    assert feb["matured"] == 0 and feb["auc"] is None
    points = frame.with_columns((-pl.col("score")).alias("points"))
    assert (
        discrimination_by_month(points, score="points", higher_is_riskier=False, min_bads=1)["auc"][
            0
        ]
        == 1.0
    )


def test_decision_rates_by_arm_and_segment():
    frame = pl.DataFrame(
        {
            "arm": ["champion"] * 4 + ["challenger"] * 4,
            "channel": ["app", "app", "h5", "h5"] * 2,
            "decision": [
                "approve",
                "decline",
                "approve",
                "approve",
                "approve",
                "approve",
                "decline",
                "decline",
            ],
            "bad": [1, None, 0, None, 0, 0, None, None],
        }
    )
    out = decision_rates(frame, by=["arm"])
    champ = out.filter(pl.col("arm") == "champion").row(0, named=True)
    assert (champ["applications"], champ["approved"], champ["matured"], champ["bads"]) == (
        4,
        3,
        2,
        1,
    )
    assert champ["approval_rate"] == 0.75 and champ["bad_rate"] == 0.5
    both = decision_rates(frame, by=["arm", "channel"])
    assert both.height == 4
    empty = both.filter((pl.col("arm") == "challenger") & (pl.col("channel") == "h5"))
    assert empty["approval_rate"][0] == 0.0 and empty["bad_rate"][0] is None


def test_alerts_cross_thresholds_with_their_source():
    rules = [
        AlertRule("psi", "score_psi", "psi", "above", 0.1, 0.25, "Siddiqi 2006"),
        AlertRule("auc", "discrimination", "auc", "below", 0.65, 0.6, "policy"),
    ]
    tables = {
        "score_psi": pl.DataFrame({"month": [JAN, FEB], "psi": [0.12, 0.30]}),
        "discrimination": pl.DataFrame({"month": [JAN, FEB], "auc": [0.7, None]}),
    }
    alerts = check_alerts(tables, rules)
    assert alerts.select("rule", "level", "threshold").rows() == [
        ("psi", "warn", 0.1),
        ("psi", "alert", 0.25),
    ]
    assert alerts["where"].to_list() == ["month=2026-01-01", "month=2026-02-01"]
    assert set(alerts["source"]) == {"Siddiqi 2006"}


def test_shipped_rules_load_and_bad_files_list_every_problem(tmp_path):
    rules = load_alert_rules()
    assert {r.id for r in rules} >= {"score-psi", "variable-csi", "auc-floor", "bad-rate-ceiling"}
    assert all(r.source for r in rules)
    bad = tmp_path / "alerts.yaml"
    bad.write_text(
        "schema_version: 1\nrules:\n"
        "  - {id: a, table: t, column: c, direction: up, warn: 1, alert: 2, source: s}\n"
        "  - {id: b, table: t, column: c, direction: above, warn: 2, alert: 1}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_alert_rules(bad)
    paths = [p.path for p in err.value.problems]
    assert "rules.0.direction" in paths and "rules.1.source" in paths and "rules.1.alert" in paths
