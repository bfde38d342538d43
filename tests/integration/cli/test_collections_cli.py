"""fengkong collections run on a synthetic book."""

import json

import polars as pl
from typer.testing import CliRunner

from fengkong.cli.app import app
from fengkong.synth import write_book

runner = CliRunner()
ENV = {"COLUMNS": "200"}


def test_run_writes_the_days_work_lists(tmp_path):
    write_book(tmp_path / "book", 20_000, seed=6)
    out = tmp_path / "day"
    res = runner.invoke(
        app, ["collections", "run", str(tmp_path / "book"), "--out", str(out), "-q"], env=ENV
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["open_cases"] > 0 and summary["calls_solver"] == "min_cost_flow"
    actions = pl.read_parquet(out / "actions.parquet")
    assert actions.height == summary["actions_planned"] and actions["allowed"].all()
    cases = pl.read_parquet(out / "cases.parquet")
    assert set(actions["case_id"]) <= set(cases["case_id"])
    bad = runner.invoke(
        app,
        ["collections", "run", str(tmp_path / "book"), "--out", str(out), "--as-of", "2020-01-31"],
        env=ENV,
    )
    assert bad.exit_code != 0 and "--as-of: expected a snapshot date" in bad.output


def test_simulate_compares_strategies_in_one_report(tmp_path):
    write_book(tmp_path / "book", 20_000, seed=6)
    out = tmp_path / "sim"
    res = runner.invoke(
        app,
        [
            "collections",
            "simulate",
            str(tmp_path / "book"),
            "--out",
            str(out),
            "--months",
            "3",
            "-q",
        ],
        env=ENV,
    )
    assert res.exit_code == 0, res.output
    assert "default / champion" in res.output and "per yuan recovered" in res.output
    totals = pl.read_parquet(out / "totals.parquet")
    assert set(totals["arm"]) == {"champion", "challenger"}
    page = (out / "report.html").read_text()
    assert "Recovery curve" in page and page.count("Plotly.newPlot") == 2


def test_score_reports_out_of_time_auc_and_saves_the_model(tmp_path):
    write_book(tmp_path / "book", 20_000, seed=6)
    res = runner.invoke(
        app,
        ["collections", "score", str(tmp_path / "book"), "--out", str(tmp_path / "m"), "-q"],
        env=ENV,
    )
    assert res.exit_code == 0, res.output
    assert "out of time AUC" in res.output
    assert (tmp_path / "m" / "collection_score.txt").exists()
