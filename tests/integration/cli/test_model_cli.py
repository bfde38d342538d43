"""fengkong model dataset / bin / fit / score / report on a small synthetic book."""

import json
import sqlite3
from decimal import Decimal

import polars as pl
import pytest
from typer.testing import CliRunner

from fengkong.cli.app import app
from fengkong.modeling import GBMArtifact, ScorecardModel
from fengkong.synth import write_book

runner = CliRunner()
ENV = {"COLUMNS": "200"}
COMMON = [
    "--target",
    "bad",
    "--exclude",
    "application_id",
    "--exclude",
    "applied_at",
    "--only",
    "accepted",
    "-q",
]


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    write_book(folder / "book", 20_000, seed=4)
    out = folder / "apps.parquet"
    res = runner.invoke(app, ["model", "dataset", str(folder / "book"), "--out", str(out)], env=ENV)
    assert res.exit_code == 0, res.output
    return out


def test_bin_prints_the_ranking_and_saves_bins(apps, tmp_path):
    res = runner.invoke(
        app, ["model", "bin", str(apps), *COMMON, "--out", str(tmp_path / "bins.json")], env=ENV
    )
    assert res.exit_code == 0, res.output
    assert "bureau_open_loans" in res.output
    assert json.loads((tmp_path / "bins.json").read_text())["kind"] == "binning_process"


def test_fit_score_report_scorecard(apps, tmp_path):
    res = runner.invoke(
        app,
        ["model", "fit", str(apps), *COMMON, "--out", str(tmp_path / "card"), "--name", "credit"],
        env=ENV,
    )
    assert res.exit_code == 0, res.output
    model = ScorecardModel.load(tmp_path / "card" / "credit.json")
    res = runner.invoke(
        app,
        [
            "model",
            "score",
            str(tmp_path / "card" / "credit.json"),
            str(apps),
            "--keep",
            "application_id",
            "--out",
            str(tmp_path / "s.parquet"),
        ],
        env=ENV,
    )
    assert res.exit_code == 0, res.output
    scores = pl.read_parquet(tmp_path / "s.parquet")
    data = pl.read_parquet(apps)
    assert scores.height == data.height
    row = data.row(5, named=True)
    assert scores["score"][5] == int(model.score_row(row))
    # the exported SQL scores the same rows identically in SQLite
    con = sqlite3.connect(":memory:")
    sample = data.head(200).select(model.features)
    cols = ", ".join(f'"{c}"' for c in sample.columns)
    con.execute(f"CREATE TABLE applications ({cols})")
    con.executemany(
        f"INSERT INTO applications VALUES ({', '.join('?' * sample.width)})", sample.rows()
    )
    sql = (tmp_path / "card" / "credit.sqlite.sql").read_text()
    got = [Decimal(r[-1]) for r in con.execute(sql).fetchall()]
    assert got == [model.score_row(r) for r in sample.iter_rows(named=True)]
    res = runner.invoke(
        app,
        [
            "model",
            "report",
            str(tmp_path / "card" / "credit.json"),
            str(apps),
            "--target",
            "bad",
            "--out",
            str(tmp_path / "rep"),
            "--bootstrap",
            "10",
            "-q",
        ],
        env=ENV,
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "rep" / "report.html").stat().st_size > 10_000


def test_fit_and_score_gbm(apps, tmp_path):
    res = runner.invoke(
        app,
        [
            "model",
            "fit",
            str(apps),
            *COMMON,
            "--kind",
            "gbm",
            "--out",
            str(tmp_path / "gbm"),
            "--name",
            "credit",
        ],
        env=ENV,
    )
    assert res.exit_code == 0, res.output
    GBMArtifact.load(tmp_path / "gbm" / "credit.json")
    res = runner.invoke(
        app,
        [
            "model",
            "score",
            str(tmp_path / "gbm" / "credit.json"),
            str(apps),
            "--reasons",
            "2",
            "--out",
            str(tmp_path / "g.csv"),
        ],
        env=ENV,
    )
    assert res.exit_code == 0, res.output
    assert pl.read_csv(tmp_path / "g.csv").columns == ["p_bad", "reason_1", "reason_2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nope"], "--target"),
        (["--target", "bad", "--only", "age"], "--only"),
        (["--target", "bad", "--exclude", "zzz"], "--exclude"),
    ],
)
def test_bad_options_are_named(apps, tmp_path, args, message):
    res = runner.invoke(
        app, ["model", "bin", str(apps), *args, "--out", str(tmp_path / "b.json")], env=ENV
    )
    assert res.exit_code == 2 and message in res.output
