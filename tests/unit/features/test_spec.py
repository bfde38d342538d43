"""Variable specs: expansion, names, descriptions and every problem at once."""

from __future__ import annotations

import pytest

from fengkong.errors import ConfigError
from fengkong.features import check_spec, load_spec
from fengkong.features.spec import VariableSpec, parse_window


def test_expansion_is_combinatorial_and_names_are_stable(
    spec: VariableSpec, spec_text: str
) -> None:
    # 2 entities x 3 windows x 6 aggregations, one trend, one expression
    assert len(spec.aggregates) == 36 and len(spec.derived) == 2
    assert spec.names[:3] == [
        "app_cnt_person_1d",
        "app_dcnt_inst_person_1d",
        "app_sum_amt_person_1d",
    ]
    assert "app_share_h5_device_all" in spec.names
    assert spec.variable("app_cnt_person_1d_vs_7d").expression.names == {
        "app_cnt_person_1d",
        "app_cnt_person_7d",
    }
    assert load_spec(spec_text).names == spec.names  # the same text expands the same way


def test_descriptions_explain_the_variable(spec: VariableSpec) -> None:
    assert spec.variable("app_share_h5_person_7d").description == (
        "Share of app events matching filter h5 of the same person in the 7 days before"
    )
    assert spec.variable("app_dlast_device_all").description == (
        "Days since the latest app event of the same device at any time before"
    )


def test_every_problem_is_listed_with_its_path() -> None:
    bad = """
schema_version: 1
lateness: soon
sources:
  app:
    timestamp: at
    id: id
    entities: {person: pid}
    columns: {amt: int, channel: str, colour: purple}
filters:
  h5: {column: nope, eq: h5}
groups:
  - source: app
    entities: [person, phone]
    windows: [7d, 7 days]
    aggregations: [count, {sum: channel}, {median: amt}, {distinct: ghost}, sum]
    colour: red
expressions:
  - {name: x, expression: "app_cnt_person_7d.real"}
  - {name: y, expression: "unknown_var + 1"}
"""
    problems = [(p.path, p.message) for p in check_spec(bad)]
    paths = [p for p, _ in problems]
    assert paths == [
        "lateness",
        "sources.app.columns.colour",
        "filters.h5.column",
        "groups.0.colour",
        "groups.0.entities.1",
        "groups.0.windows.1",
        "groups.0.aggregations.1",
        "groups.0.aggregations.2",
        "groups.0.aggregations.3",
        "groups.0.aggregations.4",
        "expressions.0.expression",
        "expressions.1.expression",
    ]
    assert "sum needs an int column; channel is str" in dict(problems)["groups.0.aggregations.1"]
    with pytest.raises(ConfigError) as info:
        load_spec(bad)
    assert len(info.value.problems) == len(problems)


def test_file_problems_name_the_file(tmp_path) -> None:
    path = tmp_path / "vars.yaml"
    path.write_text("schema_version: 1\nsources: [1]\n")
    problems = check_spec(path)
    assert problems[0].file == str(path) and problems[0].path == "sources"
    with pytest.raises(ConfigError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")
    path.write_text("a: [")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_spec(path)


@pytest.mark.parametrize(
    ("text", "us"), [("30m", 1_800_000_000), ("2w", 14 * 86_400_000_000), ("all", None)]
)
def test_windows(text: str, us: int | None) -> None:
    assert parse_window(text) == us


@pytest.mark.parametrize("text", ["0d", "7D", "1y", "", "-1d"])
def test_bad_windows(text: str) -> None:
    with pytest.raises(ValueError, match="window"):
        parse_window(text)


def test_duplicate_variables_are_a_problem(spec_text: str) -> None:
    doubled = spec_text.replace("windows: [1d, 7d, all]", "windows: [1d, 7d, all, 7d]")
    assert any("defined twice" in p.message for p in check_spec(doubled))
