"""The fengkong command line, run through Typer's runner and as a real subprocess."""

import json
import subprocess
import sys

import polars as pl
import sqlalchemy
from typer.testing import CliRunner

from fengkong import __version__
from fengkong.cli.app import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"fengkong {__version__}"


def test_synth_writes_a_book_with_a_manifest(tmp_path):
    out = tmp_path / "book"
    result = runner.invoke(
        app, ["synth", "--applications", "2000", "--seed", "4", "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 4 and manifest["rows"]["applications"] == 2000
    assert pl.read_parquet(out / "applications" / "*.parquet").height == 2000


def test_synth_show_params_prints_the_default_file():
    result = runner.invoke(app, ["synth", "--show-params"])
    assert result.exit_code == 0
    assert "schema_version: 1" in result.output


def test_bad_size_is_one_clear_error_and_writes_nothing(tmp_path):
    result = runner.invoke(app, ["synth", "-n", "0", "--out", str(tmp_path / "b"), "--quiet"])
    assert result.exit_code == 2
    assert "applications: expected a positive integer, got 0" in result.output
    assert list(tmp_path.iterdir()) == []


def test_bad_parameter_file_lists_every_problem(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("chunk_size: 0\nfraud: {burst_days: 0}\nshoe_size: 42\n")
    result = runner.invoke(
        app, ["synth", "-n", "100", "--out", str(tmp_path / "b"), "--params", str(params), "-q"]
    )
    assert result.exit_code == 2
    for fragment in ("3 problems", "chunk_size", "fraud.burst_days", "shoe_size: unknown key"):
        assert fragment in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]


def test_unwritable_output_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = runner.invoke(app, ["synth", "-n", "100", "--out", str(blocker / "x"), "-q"])
    assert result.exit_code == 2
    assert "cannot write to" in result.output


def test_demo_runs_the_lifecycle_end_to_end(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "fengkong.cli", "demo", "-n", "3000", "--out",
         str(tmp_path / "demo"), "--no-serve", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "200", "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "live applications decided through the real decision path" in result.stdout
    folder = tmp_path / "demo"
    assert (folder / "book" / "manifest.json").exists()
    assert (folder / "report" / "report.html").exists()
    keys = json.loads((folder / "keys.json").read_text())
    assert {"admin", "analyst", "head-of-risk", "auditor", "gateway", "collector-0000"} <= set(keys)
    figures = json.loads((folder / "figures.json").read_text())
    engine = sqlalchemy.create_engine(f"sqlite:///{folder / 'fengkong.db'}")
    with engine.connect() as c:
        stored = c.execute(sqlalchemy.text("select count(*) from decisions")).scalar_one()
        booked = c.execute(sqlalchemy.text("select count(*) from loans")).scalar_one()
        runs = c.execute(sqlalchemy.text("select count(*) from eod_runs")).scalar_one()
        active = c.execute(
            sqlalchemy.text("select author, approved_by from policy_versions where status='active'")
        ).all()
    assert stored == figures["decided"] > 0  # every live decision stored with its record
    assert booked == figures["booked"] > 0
    assert runs == 12
    assert all(author != approver for author, approver in active) and len(active) == 2
