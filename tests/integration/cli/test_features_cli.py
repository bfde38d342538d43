"""fengkong features list / check / build / quality on a small synthetic book."""

import polars as pl
import pytest
from typer.testing import CliRunner

from fengkong.cli.app import app
from fengkong.features import OnlineEngine, check_spec, load_spec
from fengkong.features.online import known_us
from fengkong.synth import write_book

runner = CliRunner()
ENV = {"COLUMNS": "200"}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("features") / "book"
    write_book(path, 6_000, seed=5)
    return path


def test_list_and_check_the_shipped_spec() -> None:
    listed = runner.invoke(
        app, ["features", "list", "application_risk", "--match", "person_7d"], env=ENV
    )
    assert listed.exit_code == 0, listed.output
    assert "app_dcnt_institution_id_person_7d" in listed.output
    checked = runner.invoke(app, ["features", "check", "application_risk"], env=ENV)
    assert checked.exit_code == 0 and "ok: 303 variables" in checked.output


def test_check_lists_every_problem(tmp_path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "schema_version: 1\nsources: {app: {timestamp: at, id: id, entities: {}}}\n"
        "groups: [{source: app, entities: [person], windows: [7x], aggregations: [mean]}]\n"
    )
    result = runner.invoke(app, ["features", "check", str(spec)], env=ENV)
    assert result.exit_code == 1
    for fragment in (
        "sources.app.entities",
        "groups.0.entities.0",
        "groups.0.windows.0",
        "groups.0.aggregations.0",
    ):
        assert fragment in result.output


def test_check_prints_problems_literally_one_per_line_and_exits_1(tmp_path) -> None:
    spec = tmp_path / "spec[abc].yaml"
    spec.write_text(
        "schema_version: 1\nsources: {app: {timestamp: at, id: id, entities: {person: p}}}\n"
        "groups:\n"
        "  - source: app\n"
        "    entities: [person]\n"
        "    windows: ['[/]']\n"
        "    aggregations: ['s in [x, y]', ':warning: [bold]b[/bold]']\n"
    )
    expected = [str(p) for p in check_spec(spec)]
    result = runner.invoke(app, ["features", "check", str(spec)], env={"COLUMNS": "40"})
    assert result.exit_code == 1, result.output  # the same code as `fengkong policy check`
    assert result.stdout.splitlines() == expected  # one per line, never wrapped
    assert expected[0].startswith(f"{spec}:6: groups.0.windows.0: ")
    for text in ("'[/]'", "'s in [x, y]'", "':warning: [bold]b[/bold]'"):
        assert text in result.stdout
    assert f"{len(expected)} problems in {spec}" in result.stderr
    broken = tmp_path / "broken[abc].yaml"
    broken.write_text("a: [\n")
    for unreadable in (tmp_path / "gone[abc].yaml", broken):  # problems of the file, too
        result = runner.invoke(app, ["features", "check", str(unreadable)], env=ENV)
        assert result.exit_code == 1 and str(unreadable) in result.stdout, result.output


def test_build_then_quality(book, tmp_path) -> None:
    out = tmp_path / "vars.parquet"
    built = runner.invoke(
        app,
        [
            "features",
            "build",
            "--spec",
            "application_risk",
            "--events",
            str(book),
            "--out",
            str(out),
            "-q",
        ],
        env=ENV,
    )
    assert built.exit_code == 0, built.output
    frame = pl.read_parquet(out)
    assert frame.height == pl.read_parquet(book / "applications" / "*.parquet").height
    assert frame.width == 1 + len(load_spec("application_risk").variables)
    # the online engine agrees with the file on the last applications of the book
    spec = load_spec("application_risk")
    apps = pl.read_parquet(book / "applications" / "*.parquet").sort("applied_at", "application_id")
    loans = pl.read_parquet(book / "loans" / "*.parquet")
    engine = OnlineEngine(spec, target="app")
    # each row observed when it became known (loans: once their day is over)
    events = [("app", known_us(spec.sources["app"], r), r) for r in apps.iter_rows(named=True)]
    events += [("loan", known_us(spec.sources["loan"], r), r) for r in loans.iter_rows(named=True)]
    events.sort(key=lambda e: (e[1], e[0] == "app"))
    expected = frame.rows_by_key("application_id", named=True, unique=True)
    checked = 0
    for source, _, row in events:
        if source == "app" and row["application_id"] % 97 == 0:
            got = engine.compute(row)
            want = expected[row["application_id"]]
            assert got == {k: v for k, v in want.items() if k != "application_id"}
            checked += 1
        engine.observe(source, row)
    assert checked > 30
    csv = tmp_path / "quality.csv"
    quality = runner.invoke(
        app, ["features", "quality", str(out), "--book", str(book), "--out", str(csv)], env=ENV
    )
    assert quality.exit_code == 0, quality.output
    table = pl.read_csv(csv)
    assert table.height == len(spec.variables)
    assert table.filter(pl.col("variable") == "app_dcnt_person_device_7d")["iv"][0] > 0.1


def test_build_names_a_missing_table(tmp_path) -> None:
    result = runner.invoke(
        app,
        [
            "features",
            "build",
            "--spec",
            "application_risk",
            "--events",
            str(tmp_path),
            "--out",
            str(tmp_path / "x.parquet"),
            "-q",
        ],
        env=ENV,
    )
    assert result.exit_code == 2 and "applications" in result.output
