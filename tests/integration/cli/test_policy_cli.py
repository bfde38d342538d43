"""fengkong policy check / run on files."""

import numpy as np
import polars as pl
import yaml
from typer.testing import CliRunner

from fengkong.cli.app import app
from fengkong.errors import ConfigError
from fengkong.policy import load_policy
from fengkong.policy.examples import reference_applications, write_reference_policy

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
    assert res.exit_code == 1  # EXIT_PROBLEMS: the file has problems (2 is a usage error)
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


def test_simulate_diff_promote_and_versions(tmp_path):
    v1 = write_reference_policy(tmp_path)
    data = yaml.safe_load(v1.read_text())
    data["version"] = "2"
    data["rules"][3]["when"] = "credit_score < 480"
    v2 = tmp_path / "credit_v2.yaml"
    v2.write_text(yaml.safe_dump(data, sort_keys=False))
    apps = reference_applications(3000, seed=1)
    rng = np.random.default_rng(0)
    apps = apps.with_columns(pl.Series("bad", (rng.random(apps.height) < 0.1).astype(int)))
    apps.write_parquet(tmp_path / "apps.parquet")
    out = tmp_path / "sim"
    args = [
        "policy",
        "simulate",
        str(v1),
        "--vs",
        str(v2),
        "--input",
        str(tmp_path / "apps.parquet"),
    ]
    args += ["--out", str(out), "--outcome", "bad", "--oracle", "--segment", "channel", "-q"]
    result = runner.invoke(app, args, env=ENV)
    assert result.exit_code == 0, result.output
    assert "swap-out" in result.output and "approval rate" in result.output
    assert (out / "report.html").read_text().count("<table>") == 3
    rows = pl.read_parquet(out / "decisions.parquet")
    assert rows.height == 3000 and {"a_decision", "b_decision"} <= set(rows.columns)

    diff = runner.invoke(app, ["policy", "diff", str(v1), str(v2)], env=ENV)
    assert diff.exit_code == 0
    assert "~ rules.R04_LOW_SCORE.when: 'credit_score < 440' -> 'credit_score < 480'" in diff.output
    assert "~ version: '1' -> '2'" in diff.output

    env = {**ENV, "FENGKONG_DATABASE_URL": f"sqlite:///{tmp_path / 'fk.db'}"}
    alice, bob = env | {"FENGKONG_OPERATOR": "alice"}, env | {"FENGKONG_OPERATOR": "bob"}
    submit = runner.invoke(app, ["policy", "promote", str(v1)], env=alice)
    assert submit.exit_code == 0 and "credit@1: draft" in submit.output
    own = runner.invoke(app, ["policy", "promote", "credit@1", "--to", "approved"], env=alice)
    assert own.exit_code != 0 and "maker-checker" in own.output
    for step in (["--to", "approved"], ["--to", "active"]):
        assert runner.invoke(app, ["policy", "promote", "credit@1", *step], env=bob).exit_code == 0
    listed = runner.invoke(app, ["policy", "versions", "credit"], env=env)
    assert "active" in listed.output and "bob" in listed.output


LITERAL = """schema_version: 1
name: credit
version: "1"
inputs:
  s: {type: text, categories: [a, b]}
rules:
  - {id: R01, when: "s == 'a'", action: "[/]"}
  - {id: R02, when: "s == 'b'", action: "s in [x, y]"}
  - {id: R03, when: "s == 'a'", action: ":warning: [bold red]x[/bold red] \\x1b[31m"}
"""


def test_check_prints_problems_literally_one_per_line_and_exits_1(tmp_path):
    bad = tmp_path / "bad[abc].yaml"
    bad.write_text(LITERAL)
    try:
        load_policy(bad)
    except ConfigError as exc:
        expected = [str(p).replace("\x1b", "\\x1b") for p in exc.problems]
    res = runner.invoke(app, ["policy", "check", str(bad)], env={"COLUMNS": "40"})
    assert res.exit_code == 1, res.output  # EXIT_PROBLEMS, the same in every `check`
    assert res.stdout.splitlines() == expected  # one per line, never wrapped or re-marked-up
    assert all(line.startswith("bad[abc].yaml:") for line in expected)
    for text in ("'[/]'", "'s in [x, y]'", ":warning: [bold red]x[/bold red] \\x1b[31m"):
        assert text in res.stdout
    assert "\x1b" not in res.output  # a file cannot drive the terminal
    assert f"{len(expected)} problems in {bad}" in res.stderr


def test_errors_print_literally_and_exit_2(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(GOOD)
    apps = tmp_path / "apps.parquet"
    pl.DataFrame({"age": [30], "channel": ["app"]}).write_parquet(apps)
    args = ["policy", "run", str(policy), "--input", str(apps), "--out", str(tmp_path / "d.pq")]
    res = runner.invoke(app, [*args, "--keep", "[/]", "--keep", "[x, y]"], env=ENV)
    assert res.exit_code == 2  # EXIT_ERROR; before, rich raised MarkupError on "[/]"
    assert "error: --keep: expected columns of the input, got ['[/]', '[x, y]']" in res.stderr
    missing = tmp_path / "gone[abc].yaml"
    res = runner.invoke(app, ["policy", "diff", str(missing), str(policy)], env=ENV)
    assert res.exit_code == 2 and f"{missing}: cannot read the file" in res.stderr
