"""fengkong graph build / rings / explain on a small synthetic book."""

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from fengkong.cli.app import app
from fengkong.synth import write_book

runner = CliRunner()


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "book"
    write_book(path, 8_000, seed=4)
    return path


def test_build_writes_features(book, tmp_path):
    result = runner.invoke(
        app,
        ["graph", "build", str(book), "--out", str(tmp_path / "f.parquet"), "-q"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    features = pl.read_parquet(tmp_path / "f.parquet")
    assert {"component_size", "bad_1hop", "bad_2hop", "shared_device", "component_apps_7d"} <= set(
        features.columns
    )


def test_build_caps_the_identifiers_of_one_applicant(book, tmp_path):
    out = tmp_path / "f.parquet"
    args = ["graph", "build", str(book), "--out", str(out), "--person-cap", "3"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "identifiers: capped at 3" in result.output
    features = pl.read_parquet(out)
    assert features["devices_per_person"].max() <= 3
    refused = runner.invoke(app, [*args[:-1], "0", "-q"], env={"COLUMNS": "200"})
    assert refused.exit_code != 0 and "person_cap" in refused.output


def test_rings_prints_flagged_rings_with_evidence(book, tmp_path):
    result = runner.invoke(
        app,
        ["graph", "rings", str(book), "--out", str(tmp_path / "r.parquet"), "-q"],
        env={"COLUMNS": "220"},
    )
    assert result.exit_code == 0, result.output
    assert "flagged" in result.output and "device|" in result.output
    assert pl.read_parquet(tmp_path / "r.parquet")["flagged"].any()


def test_explain_writes_json_graphml_and_csv(book, tmp_path):
    person = pl.read_parquet(book / "rings" / "*.parquet")["person_id"][0]
    args = [
        "graph",
        "explain",
        str(book),
        "--person",
        str(person),
        "--out",
        str(tmp_path / "n.json"),
        "--graphml",
        str(tmp_path / "n.graphml"),
        "--csv",
        str(tmp_path / "csv"),
    ]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    view = json.loads((tmp_path / "n.json").read_text())
    assert view["applicant"] == person and any(n["kind"] == "identifier" for n in view["nodes"])
    assert (tmp_path / "n.graphml").read_text().startswith("<?xml")
    assert (tmp_path / "csv" / "edges.csv").read_text().startswith(":START_ID")


def test_unknown_applicant_and_missing_book_are_clear_errors(book, tmp_path):
    result = runner.invoke(app, ["graph", "explain", str(book), "--person", "999999999"])
    assert result.exit_code == 2 and "person_id: expected applicants of this graph" in result.output
    result = runner.invoke(app, ["graph", "rings", str(tmp_path)])
    assert result.exit_code == 2 and "book" in result.output
