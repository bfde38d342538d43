"""Attacks on the decision engine: hostile and careless policy files, and row/batch agreement.

Each test states the behaviour the docs promise (docs/policy.md, docs/collections.md): a
policy file is data, ``load_policy`` returns a checked policy or raises ``ConfigError`` (with
a dotted path) and nothing else, quickly; the row backend (``decide``) and the batch backend
(``decide_frame``) agree on every input; a collection strategy's plans are all checked at
load. Slow or hanging cases run in subprocesses (all at once, under one deadline).
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fengkong.errors import ConfigError
from fengkong.policy import load_policy

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
BASE: dict[str, Any] = {"schema_version": 1, "inputs": {"age": {"type": "integer"}}}


def load_or_problems(data: Any) -> Any:
    """``load_policy(data)``: a policy or the ``ConfigError``; any other exception fails."""
    try:
        return load_policy(data)
    except ConfigError as exc:
        return exc
    except Exception as exc:  # the promise: never any other exception
        pytest.fail(f"load_policy raised {type(exc).__name__}: {str(exc)[:200]}")


def table(rows: list[dict], *, inputs=("age",), outputs=("x",), **extra) -> dict:
    return {
        **BASE,
        "tables": {
            "t": {
                "inputs": inputs if isinstance(inputs, str) else list(inputs),
                "outputs": list(outputs),
                "rows": rows,
                **extra,
            }
        },
    }


def deep_dict(n: int) -> dict:
    top: dict = {}
    cur = top
    for _ in range(n):
        cur["a"] = {}
        cur = cur["a"]
    return top


def deep_list(n: int) -> list:
    top: list = []
    cur = top
    for _ in range(n):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    return top


# --------------------------------------------------------------------------------------------
# load_policy: a policy or ConfigError, never another exception


def _artifact(tmp_path: Path, section: str, content: str) -> dict:
    file = tmp_path / "artifact.json"
    file.write_text(content)
    return {**BASE, section: {"m": {"artifact": str(file), "sha256": "0" * 64}}}


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda _: {**BASE, "description": {1: "a", "b": "c"}}, id="desc-mixed-keys"),
        pytest.param(lambda _: {**BASE, "description": deep_dict(100_000)}, id="desc-deep"),
        pytest.param(
            lambda _: {
                **BASE,
                "rules": [{"id": "R", "when": deep_list(100_000), "action": "refer"}],
            },
            id="rule-when-deep-list",
        ),
        pytest.param(
            lambda _: {**BASE, "trees": {"t": {"outputs": 5, "root": {"leaf": "A", "set": {}}}}},
            id="tree-outputs-int",
        ),
        pytest.param(lambda p: _artifact(p, "scorecards", '"text"'), id="scorecard-json-text"),
        pytest.param(lambda p: _artifact(p, "scorecards", "[]"), id="scorecard-json-list"),
        pytest.param(lambda p: _artifact(p, "models", '"text"'), id="model-json-text"),
    ],
)
def test_hostile_shapes_are_config_errors_not_crashes(make, tmp_path):
    load_or_problems(make(tmp_path))


def test_cli_check_prints_problems_not_a_traceback(tmp_path):
    file = tmp_path / "p.yaml"
    file.write_text(
        "schema_version: 1\ninputs: {age: {type: integer}}\ndescription: {1: a, b: c}\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from fengkong.cli.app import app; app()",
            "policy",
            "check",
            str(file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    text = done.stdout + done.stderr
    assert done.returncode in (0, 1), text
    assert "Traceback" not in text and "TypeError" not in text, text[-600:]


# --------------------------------------------------------------------------------------------
# careless users: every wrong shape is a problem at the right dotted path


_ROW = {"when": {}, "then": {"x": 1}}


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({**BASE, "inputs": ["age"]}, "inputs"),
        ({**BASE, "inputs": {"age": None}}, "inputs.age.type"),
        ({**BASE, "inputs": {1: {"type": "integer"}}}, "inputs.1"),
        ({**BASE, "inputs": {"age": {"type": "integer", "min": 5, "max": 1}}}, "inputs.age.min"),
        ({**BASE, "inputs": {"c": {"type": "text", "min": 1}}}, "inputs.c.min"),
        (
            {**BASE, "inputs": {"c": {"type": "text", "categories": [1, 2]}}},
            "inputs.c.categories.0",
        ),
        (
            {**BASE, "inputs": {"age": {"type": "integer", "categories": ["a"]}}},
            "inputs.age.categories",
        ),
        ({**BASE, "rules": {"R1": {"when": "age > 1", "action": "decline"}}}, "rules"),
        ({**BASE, "rules": [None]}, "rules.0.id"),
        ({**BASE, "rules": [{"id": "R1", "action": "decline"}]}, "rules.0.when"),
        (
            {**BASE, "rules": [{"id": "R1", "when": "age > 1", "action": "approve"}]},
            "rules.0.action",
        ),
        ({**BASE, "rules": [{"id": 1, "when": "age > 1", "action": "decline"}]}, "rules.0.id"),
        ({**BASE, "derived": {"d": True}}, "derived.d"),
        ({**BASE, "outputs": ["x"]}, "outputs"),
        ({**BASE, "tables": [1]}, "tables"),
        ({**BASE, "pricing": [1]}, "pricing"),
        ({**BASE, "arms": {"unit": "age", "salt": "s", "shares": [50, 50]}}, "arms.shares"),
        (table([{"when": {}, "then": {"x": [1, 2]}}]), "tables.t.rows.0.then.x"),
        (table({"r": _ROW}), "tables.t.rows"),
        (table([_ROW], inputs="age"), "tables.t.inputs"),
        (table([{"when": {"age": "in [lo, hi]"}, "then": {"x": 1}}]), "tables.t.rows.0.when.age"),
        # the three below point at the table only (or at a path that is not in the file)
        (table([{"when": {"age": True}, "then": {"x": 1}}]), "tables.t.rows.0.when.age"),
        (table([{"when": {}}]), "tables.t.rows.0.then"),
        (table([{"when": ["age"], "then": {"x": 1}}]), "tables.t.rows.0.when"),
        (table([]), "tables.t"),
        (table([{"when": {"age": "< 18"}, "then": {"x": 1}}]), "tables.t"),
        (
            {
                **BASE,
                "trees": {
                    "tr": {
                        "outputs": ["x"],
                        "root": {
                            "if": "age > 1",
                            "then": {"leaf": "A", "set": {"x": 1}},
                            "else": {"leaf": "B"},
                        },
                    }
                },
            },
            "trees.tr.root.else.set",
        ),
        (
            {
                **BASE,
                "trees": {
                    "tr": {
                        "outputs": ["x"],
                        "root": {
                            "if": "age > 1",
                            "then": {"leaf": "A", "set": {"x": 1}},
                            "else": {
                                "if": "age",
                                "then": {"leaf": "B", "set": {"x": 2}},
                                "else": {"leaf": "C", "set": {"x": 3}},
                            },
                        },
                    }
                },
            },
            "trees.tr.root.else.if",
        ),
    ],
)
def test_careless_shapes_name_their_path(data, path):
    found = load_or_problems(data)
    assert isinstance(found, ConfigError), "accepted"
    paths = [p.path for p in found.problems]
    assert any(p == path or p.startswith(path + ".") for p in paths), paths


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (table([_ROW], hitt="collect"), "tables.t.hitt"),  # a typo silently gives first-hit
        (
            {**BASE, "rules": [{"id": "R", "when": "age > 1", "action": "refer", "reason": "x"}]},
            "rules.0.reason",
        ),
        (
            {
                **BASE,
                "trees": {"t": {"outputs": ["x"], "root": {"leaf": "A", "set": {"x": 1}}, "x": 1}},
            },
            "trees.t.x",
        ),
        ({**BASE, "version": None}, "version"),  # becomes the version "None"
        ({**BASE, "schema_version": True}, "schema_version"),  # True == 1
    ],
)
def test_unknown_keys_and_wrong_scalars_are_refused(data, path):
    found = load_or_problems(data)
    assert isinstance(found, ConfigError), f"accepted; expected a problem at {path}"
    assert any(p.path.startswith(path) for p in found.problems)


def test_duplicate_yaml_keys_are_refused(tmp_path):
    file = tmp_path / "dup.yaml"
    file.write_text(
        "schema_version: 1\ninputs:\n  age: {type: integer, min: 18}\n  age: {type: integer}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_policy(file)  # PyYAML keeps the last `age` silently: the bound disappears
    (problem,) = info.value.problems
    assert "duplicate key 'age'" in problem.message and problem.line == 4, problem


# --------------------------------------------------------------------------------------------
# the table check is exact (integer inputs compared as float64)


def test_gap_check_finds_a_gap_below_a_large_cut_point():
    data = table(
        [
            {"when": {"age": ">= 1e17"}, "then": {"x": 1}},
            {"when": {"age": "null"}, "then": {"x": 2}},
        ]
    )
    found = load_or_problems(data)
    if not isinstance(found, ConfigError):
        assert found.decide({"age": 0}).table_rows["t"] is not None, "gap not reported: age 0"


def test_gap_check_reports_no_false_unreachable_row():
    rows = [
        {"when": {"age": "< 1e17"}, "then": {"x": 1}},
        {"when": {"age": ">= 1e17"}, "then": {"x": 3}},
        {"when": {"age": "null"}, "then": {"x": 2}},
    ]
    found = load_or_problems(table(rows))
    assert not isinstance(found, ConfigError), [str(p) for p in found.problems]
    assert found.decide({"age": 0}).table_rows["t"] == 0  # row 0 was called unreachable


# --------------------------------------------------------------------------------------------
# row and batch backends agree


def agree(policy, apps: list[dict], schema: dict) -> None:
    frame = policy.decide_frame(pl.DataFrame(apps, schema=schema, orient="row"))
    for k, app in enumerate(apps):
        d, b = policy.decide(app), frame.row(k, named=True)
        assert (d.decision, list(d.reasons)) == (b["decision"], b["reasons"]), app
        for name, value in d.outputs.items():
            assert value == b[name] and type(value) is type(b[name]), (app, name, value, b[name])
        for name, row in d.table_rows.items():
            assert row == b.get(f"{name}_row", b.get(f"{name}_rows")), (app, name)


@pytest.mark.parametrize("hit", ["first", "collect"])
@pytest.mark.parametrize(
    "values",
    [(1, 2.5), (2.5, 1), (0.5, 9007199254740992), (-0.0, 7), (1, None, 2.5)],
    ids=[
        "int-then-float",
        "float-then-int",
        "float-then-2**53",
        "neg-zero-then-int",
        "with-null",
    ],
)
def test_table_outputs_mixing_integers_and_numbers(hit, values):
    rows = [{"when": {"age": f"== {k}"}, "then": {"x": v}} for k, v in enumerate(values)]
    rows.append({"when": {}, "then": {"x": values[0]}})
    found = load_or_problems({**table(rows, hit=hit), "outputs": {"y": "t_x"}})
    assert not isinstance(found, ConfigError), [str(p) for p in found.problems]
    apps = [{"age": k} for k in range(len(values) + 1)]
    agree(found, apps, {"age": pl.Int64})


@pytest.mark.parametrize("hit", ["first", "collect"])
def test_an_integer_a_float_cannot_hold_is_refused_in_a_number_output(hit):
    """2**53 + 1 in an output that also holds 0.5 would be 2**53 in one backend and
    2**53 + 1 in the other: refused at the cell instead."""
    rows = [
        {"when": {"age": "== 0"}, "then": {"x": 0.5}},
        {"when": {}, "then": {"x": 9007199254740993}},
    ]
    found = load_or_problems(table(rows, hit=hit))
    assert isinstance(found, ConfigError)
    assert [p.path for p in found.problems] == ["tables.t.rows.1.then.x"]


_EDGE_I = [None, 0, 1, -1, 2**53 + 1, 2**63 - 1, -(2**63), 3037000500]
_EDGE_F = [None, 0.0, -0.0, 1.5, 5e-324, 1e308, -1e308, 9007199254740993.0, 0.1]
_EXPRS = {
    "a": "i * i",
    "b": "i / f",
    "c": "min(i, f)",
    "d": "coalesce(f, i, 0)",
    "e": "0 <= i < f",
    "f": "i in [1, 2.5, 9007199254740993]",
    "g": "f not in [0, 9007199254740993]",
    "h": "i if bb else f",
    "k": "1 / max(f, -0.0)",
    "m": "clip(f, i, 3)",
    "n": "s + s if s in ['é', 'a'] else 'z'",
    "o": "-i",
    "p": "abs(i)",
    "q": "(f + 1e308) - 1e308",
    "r": "bb or f > 0",
}


def test_expressions_agree_over_edge_values():
    policy = load_policy(
        {
            "schema_version": 1,
            "inputs": {
                "i": {"type": "integer", "required": False},
                "f": {"type": "number", "required": False},
                "s": {"type": "text", "required": False},
                "bb": {"type": "boolean", "required": False},
            },
            "outputs": {f"o_{k}": e for k, e in _EXPRS.items()},
        }
    )
    texts, flags = [None, "a", "é", "𝐚" * 50], [None, True, False]
    apps = [
        {"i": i, "f": f, "s": texts[(n + m) % 4], "bb": flags[(n * m) % 3]}
        for n, i in enumerate(_EDGE_I)
        for m, f in enumerate(_EDGE_F)
    ]
    schema = {"i": pl.Int64, "f": pl.Float64, "s": pl.String, "bb": pl.Boolean}
    agree(policy, apps, schema)


@pytest.mark.parametrize("required", [True, False])
def test_nan_for_an_integer_input_is_missing(required):
    """docs: "NaN anywhere (an input, …) is null"; "a missing required input (NaN counts as
    missing)" — an integer input given NaN (pandas' missing value) is reported DQ_TYPE."""
    policy = load_policy(
        {"schema_version": 1, "inputs": {"n": {"type": "integer", "required": required}}}
    )
    assert policy.decide({"n": math.nan}).reasons == (("DQ_MISSING:n",) if required else ())


@pytest.mark.parametrize(
    "column",
    [
        pl.Series("n", [object()], dtype=pl.Object),
        pl.Series("n", [[1]]),
        pl.Series("n", [{"a": 1}]),
        pl.Series("n", [b"x"]),
        pl.Series("n", [dt.time(1)]),
        pl.Series("n", [1.5], dtype=pl.Float32),
        pl.Series("n", [2**64 - 1], dtype=pl.UInt64),
        pl.Series("n", ["a"], dtype=pl.Categorical),
        pl.Series("n", [1], dtype=pl.Decimal(10, 2)),
        pl.Series("n", [None], dtype=pl.Null),
    ],
    ids=lambda s: str(s.dtype),
)
def test_decide_frame_takes_any_column_dtype(column):
    policy = load_policy({"schema_version": 1, "inputs": {"n": {"type": "integer"}}})
    out = policy.decide_frame(pl.DataFrame([column]))
    assert out["decision"].to_list() == ["refer"]


# --------------------------------------------------------------------------------------------
# collection strategies: every plan is checked at load


_CASE: dict[str, Any] = {
    "schema_version": 1,
    "inputs": {"case_id": {"type": "text"}, "note": {"type": "text", "required": False}},
}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            {
                **_CASE,
                "derived": {"a_plan": "note"},  # named like table a's plan, which it lacks
                "tables": {"a": {"inputs": ["case_id"], "outputs": ["x"], "rows": [_ROW]}},
                "outputs": {"plan": "a_plan"},
            },
            id="case-data-as-plan",
        ),
        pytest.param({**_CASE, "outputs": {"plan": "'sms:reminder' + 'call'"}}, id="joined"),
        pytest.param(
            {**_CASE, "outputs": {"plan": "'sms:reminder' + ('call' if note == 'x' else 'sms')"}},
            id="joined-branches",
        ),
    ],
)
def test_strategy_plans_are_all_checked_at_load(data):
    """Refused at load; today they load, and ``Strategy.plan`` then either acts on case data
    (a case whose ``note`` is ``legal`` is placed with legal) or fails at run time."""
    from fengkong.collections.strategy import load_strategy  # noqa: PLC0415

    with pytest.raises(ConfigError):
        load_strategy(data)


# --------------------------------------------------------------------------------------------
# denial of service: every check finishes quickly (all run at once, under one deadline)

_DEADLINE_S = 30
_CHILD = """
import json, sys
from fengkong.errors import ConfigError
from fengkong.policy import load_policy
{build}
try:
    load_policy(source)
    print("OK")
except ConfigError:
    print("CONFIG")
"""
_LAUGHS = "schema_version: 1\ninputs: {age: {type: integer}}\ndescription:\n" + "".join(
    f"  a{k}: &a{k} [{', '.join([f'*a{k - 1}' if k else 'x'] * 10)}]\n" for k in range(9)
)
_SLOW = {
    # a control: a small valid policy (the harness itself works)
    "control": "source = {'schema_version': 1, 'inputs': {'age': {'type': 'integer'}}}",
    # YAML aliases: 10**9 paths from a 1 KB file (the text check walks every path)
    "yaml-aliases": "source = sys.argv[1] + '/laughs.yaml'",
    # an artifact path the file controls, read whole
    "artifact-dev-zero": "source = sys.argv[1] + '/zero.yaml'",
    # a cell whose number regex backtracks quadratically: 100 KB
    "cell-regex-backtracking": textwrap.dedent(
        """
        cell = "== " + "1" * 100_000 + "x"
        source = {"schema_version": 1, "inputs": {"s": {"type": "text"}}, "tables": {"t": {
            "inputs": ["s"], "outputs": ["x"],
            "rows": [{"when": {"s": cell}, "then": {"x": 1}}, {"when": {}, "then": {"x": 2}}]}}}
        """
    ),
    # one `in` cell of 199,990 texts: each region scans the whole tuple
    "giant-in-cell": textwrap.dedent(
        """
        cell = "in [" + ", ".join(f"v{k}" for k in range(199_990)) + "]"
        source = {"schema_version": 1, "inputs": {"s": {"type": "text"}}, "tables": {"t": {
            "inputs": ["s"], "outputs": ["x"],
            "rows": [{"when": {"s": cell}, "then": {"x": 1}}, {"when": {}, "then": {"x": 2}}]}}}
        """
    ),
    # 196k regions (under the limit) times 5,000 rows
    "table-regions-times-rows": textwrap.dedent(
        """
        rows = [{"when": {"a": f"== {k % 440}", "b": f"== {k * 7 % 440}"}, "then": {"x": k}}
                for k in range(5_000)]
        rows.append({"when": {}, "then": {"x": -1}})
        ints = {"a": {"type": "integer"}, "b": {"type": "integer"}}
        source = {"schema_version": 1, "inputs": ints,
                  "tables": {"t": {"inputs": ["a", "b"], "outputs": ["x"], "rows": rows}}}
        """
    ),
    # a chain of 30,000 derived values: the node sort is quadratic
    "derived-chain": textwrap.dedent(
        """
        n = 30_000
        derived = {f"d{k}": f"d{k + 1} + 1" if k < n - 1 else "age" for k in range(n)}
        source = {"schema_version": 1, "inputs": {"age": {"type": "integer"}}, "derived": derived}
        """
    ),
}


def _limit_memory() -> None:
    import resource  # noqa: PLC0415 (POSIX only, in the child)

    resource.setrlimit(resource.RLIMIT_AS, (8 * 2**30, 8 * 2**30))


@pytest.fixture(scope="module")
def slow_results(tmp_path_factory) -> dict[str, tuple[int | None, str, float]]:
    folder = tmp_path_factory.mktemp("slow")
    (folder / "laughs.yaml").write_text(_LAUGHS)
    (folder / "zero.yaml").write_text(
        "schema_version: 1\ninputs: {age: {type: integer}}\n"
        'scorecards:\n  s: {artifact: /dev/zero, sha256: "0"}\n'
    )
    started = time.monotonic()
    children = {
        name: subprocess.Popen(
            [sys.executable, "-c", _CHILD.format(build=build), str(folder)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_limit_memory,  # noqa: PLW1509 (no threads started here)
        )
        for name, build in _SLOW.items()
    }
    results: dict[str, tuple[int | None, str, float]] = {}
    for name, child in children.items():
        left = max(0.1, _DEADLINE_S - (time.monotonic() - started))
        try:
            out, err = child.communicate(timeout=left)
            results[name] = (child.returncode, out + err[-400:], time.monotonic() - started)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            results[name] = (None, "", time.monotonic() - started)
    return results


@pytest.mark.parametrize("name", list(_SLOW))
def test_hostile_files_are_checked_quickly(name, slow_results):
    code, output, _ = slow_results[name]
    assert code is not None, f"still checking after {_DEADLINE_S} s (killed)"
    assert code == 0 and output.split()[:1] in (["OK"], ["CONFIG"]), output
