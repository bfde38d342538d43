"""fengkong policy check / run on files."""

import polars as pl
from typer.testing import CliRunner

from fengkong.cli.app import app

runner = CliRunner()
ENV = {"COLUMNS": "200"}
GOOD = """schema_version: 1
name: credit
version: "2"
inputs:
  age: {type: integer}
  channel: {type: text, categories: [app, h5]}
rules:
  - {id: R01, when: "age < 18", action: decline}
  - {id: R02, when: "channel == 'h5' and age < 21", action: refer}
"""
BAD = """schema_version: 1
inputs:
  age: {type: integer}
rules:
  - {id: R01, when: "age.real < 18", action: decline}
  - {id: R02, when: "income > 1", action: block}
"""


def test_check_reports_every_problem_with_its_line(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    res = runner.invoke(app, ["policy", "check", str(good)], env=ENV)
    assert res.exit_code == 0 and "ok: credit v2" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    res = runner.invoke(app, ["policy", "check", str(bad)], env=ENV)
    assert res.exit_code == 2
    assert "bad.yaml:5: rules.0.when" in res.output
    assert "bad.yaml:6: rules.1.when" in res.output and "income" in res.output
    assert "bad.yaml:6: rules.1.action" in res.output


def test_run_writes_row_level_decisions(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(GOOD)
    apps = tmp_path / "apps.parquet"
    pl.DataFrame(
        {"id": [1, 2, 3, 4], "age": [17, 20, 40, None], "channel": ["app", "h5", "h5", "app"]}
    ).write_parquet(apps)
    out = tmp_path / "d.parquet"
    res = runner.invoke(
        app,
        [
            "policy",
            "run",
            str(policy),
            "--input",
            str(apps),
            "--out",
            str(out),
            "--keep",
            "id",
            "-q",
        ],
        env=ENV,
    )
    assert res.exit_code == 0, res.output
    d = pl.read_parquet(out)
    assert d["decision"].to_list() == ["decline", "refer", "approve", "refer"]
    assert d["reasons"].to_list() == [["R01"], ["R02"], [], ["DQ_MISSING:age"]]
    assert d["id"].to_list() == [1, 2, 3, 4]
