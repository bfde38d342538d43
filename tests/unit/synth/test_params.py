import pytest
import yaml

from fengkong.errors import ConfigError
from fengkong.synth import default_params_text, load_params


def test_defaults_load_and_shipped_file_is_complete():
    params = load_params()
    assert params.schema_version == 1
    assert set(yaml.safe_load(default_params_text())) == set(type(params).model_fields)


def test_a_partial_file_merges_over_the_defaults(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "performance:\n  macro_shock:\n    start_month: '2025-09'\n    multiplier: 2.0\n"
    )
    params = load_params(path)
    assert params.performance.macro_shock.start_month == "2025-09"
    assert params.performance.macro_shock.multiplier == 2.0
    assert params.performance.writeoff_dpd == 181  # untouched default


def test_every_problem_is_listed_with_file_and_path(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "chunk_size: -5\n"
        "colour: blue\n"
        "fraud: {ring_size_min: 60, ring_size_max: 10}\n"
        "performance: {miss_prob: 1.5}\n"
        "products: {payday: {share: 0.5}}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_params(path)
    problems = {(p.path, p.message) for p in info.value.problems}
    assert all(p.file == str(path) for p in info.value.problems)
    paths = {p for p, _ in problems}
    assert {"chunk_size", "colour", "fraud", "performance.miss_prob", "products"} <= paths
    assert ("colour", "unknown key") in problems
    assert any("add up to 1" in m for p, m in problems if p == "products")


@pytest.mark.parametrize(
    ("text", "message"),
    [("- a\n- b\n", "expected a mapping"), ("a: [\n", "not valid YAML")],
)
def test_unreadable_files_are_one_clear_problem(tmp_path, text, message):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_params(path)


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_params(tmp_path / "nope.yaml")
