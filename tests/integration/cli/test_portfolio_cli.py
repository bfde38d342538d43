"""fengkong portfolio report on a small synthetic book: HTML (offline Plotly), PNGs, tables."""

import polars as pl
from typer.testing import CliRunner

from fengkong.cli.app import app
from fengkong.synth import write_book

runner = CliRunner()


def test_report_writes_page_figures_and_tables(tmp_path):
    write_book(tmp_path / "book", 8_000, seed=6)
    out = tmp_path / "report"
    res = runner.invoke(
        app,
        ["portfolio", "report", str(tmp_path / "book"), "--out", str(out), "-q"],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    page = (out / "report.html").read_text()
    assert "<script src=" not in page and "plotly.js v" in page.lower()  # inlined: offline
    assert page.count("Plotly.newPlot") >= 4
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"vintage_curves.png", "roll_rates.png", "strat_balance.png"} <= figures
    for strat in ("age", "province", "score"):  # borrower attributes from the book
        assert pl.read_parquet(out / "tables" / f"strat_{strat}.parquet")["loans"].sum() > 0
    for name in (
        "vintage_curves",
        "roll_matrix",
        "strat_balance",
        "score_psi",
        "discrimination",
        "collection_funnel",
        "collection_recovery",
        "alerts",
    ):
        assert (out / "tables" / f"{name}.csv").exists()
        assert pl.read_parquet(out / "tables" / f"{name}.parquet").height >= 0
    assert pl.read_parquet(out / "tables" / "roll_matrix.parquet")["from_state"][0] == "M0"


def test_bad_month_is_named(tmp_path):
    write_book(tmp_path / "book", 2_000, seed=1)
    res = runner.invoke(
        app,
        [
            "portfolio",
            "report",
            str(tmp_path / "book"),
            "--out",
            str(tmp_path / "r"),
            "--month",
            "June",
        ],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 2 and "--month" in res.output
