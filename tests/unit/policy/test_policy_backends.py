"""Policies: the row and Polars backends give identical decisions, reasons, outputs and hits.

Hypothesis builds policies that pass the checker (typed rules, derived values of every type,
a tree, a first-hit table over integer, number, text and boolean inputs with a catch-all row,
an arm) and applications drawn from the whole domain: every int64 and beyond, floats with
±inf, NaN, -0.0, subnormals and huge magnitudes, long non-ASCII text, unlisted categories,
missing keys, absent columns and columns of the wrong type. Every decision, reason (in
order), output, rule hit, table row and arm must be equal. The test counts what it compares
and requires at least 80 % of generated policies and 1,000 examples to be compared.
"""

import datetime as dt
from collections import Counter

import polars as pl
import pytest
from expression_grammar import boolean, finite_floats, integer, number, text, texts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fengkong.errors import ConfigError
from fengkong.policy import load_policy

INPUTS = {
    "a": {"type": "integer"},
    "b": {"type": "integer", "required": False},
    "x": {"type": "number"},
    "y": {"type": "number", "required": False, "min": 0, "max": 1_000_000},
    "s": {"type": "text", "categories": ["x", "y", "年"]},
    "t": {"type": "text", "required": False},
    "p": {"type": "boolean", "required": False},
    "d": {"type": "date", "required": False},
    "e": {"type": "date", "required": False},
}
DTYPES = {
    "integer": pl.Int64,
    "number": pl.Float64,
    "text": pl.String,
    "boolean": pl.Boolean,
    "date": pl.Date,
}
INT_CELLS = ["< 0", ">= 10", "[0, 10)", "== 3037000500", "!= 1", "in [1, 2, 3]", "not in [0]"]
NUM_CELLS = ["< 0.5", ">= 1e300", "(0, 1]", "== -0.0", "in [1.5, 2]", "[-1e308, 1e308]"]
TEXT_CELLS = ["in [x, y]", "== 年", "!= x", "not in [y, 年]", '== "it\'s"']
BOOL_CELLS = ["== true", "== false", "in [true]"]
COMMON = ["-", "-", "null", "not null"]
TABLE = {"a": INT_CELLS, "x": NUM_CELLS, "s": TEXT_CELLS, "p": BOOL_CELLS, "di": INT_CELLS}
LABELS = ["L", 'it\'s "quoted"', "年龄\n", "\\", "x'); __import__('os')"]
STATS: Counter[str] = Counter()


def _cells(name):
    return st.sampled_from(COMMON + TABLE[name])


table_rows = st.lists(st.fixed_dictionaries({n: _cells(n) for n in TABLE}), max_size=5)


def _tree(tests):
    return {
        "outputs": ["rate"],
        "root": {
            "if": tests[0],
            "then": {"leaf": "A", "set": {"rate": 0.08}},
            "else": {
                "if": tests[1],
                "then": {"leaf": "B", "set": {"rate": 0.1}},
                "else": {"leaf": "C", "set": {"rate": 0.12}},
            },
        },
    }


def _policy_data(gen, rows, *, catch_all=True):
    return {
        "schema_version": 1,
        "name": "gen",
        "version": "1",
        "inputs": INPUTS | {"pid": {"type": "text", "required": False}},
        "arms": {"unit": "pid", "salt": gen["salt"], "shares": {"champion": 70, "ch": 30}},
        "derived": gen["derived"],
        "rules": [
            {"id": f"R{k}.x", "when": when, "action": action}
            for k, (when, action) in enumerate(gen["rules"])
        ],
        "tables": {
            "t": {
                "hit": "first",
                "inputs": list(TABLE),
                "outputs": ["limit", "label"],
                "rows": [
                    {"when": cells, "then": {"limit": 100 * k, "label": LABELS[k % len(LABELS)]}}
                    for k, cells in enumerate(rows + [dict.fromkeys(TABLE, "-")] * catch_all)
                ],
            }
        },
        "trees": {"g": _tree(gen["tree"])},
        "outputs": gen["outputs"]
        | {"limit": "coalesce(t_limit, 0)", "label": "t_label", "rate": "g_rate"},
    }


def _load(gen, rows):
    """The generated policy; first-hit rows the checker calls unreachable are dropped (they
    never win, so dropping them changes no decision) and the policy is loaded again."""
    try:
        return load_policy(_policy_data(gen, rows))
    except ConfigError as err:
        dead = {
            int(p.path.rsplit(".", 1)[1])
            for p in err.problems
            if "unreachable" in p.message and p.path.startswith("tables.t.rows.")
        }
        if not dead or len(dead) != len(err.problems):
            raise
    kept = [r for k, r in enumerate(rows) if k not in dead]
    return load_policy(_policy_data(gen, kept, catch_all=len(rows) not in dead))


derived_values = st.fixed_dictionaries(
    {"di": integer(2), "dn": number(2), "dt": text(1), "db": boolean(2)}
)
reads_derived = st.sampled_from(
    [
        "db",
        "(di > 0)",
        "(dn <= 1.5)",
        "(dt == 'x')",
        "(t_limit > 100)",
        "(t_row == 1)",
        "arm == 'ch'",
    ]
)
policies = st.fixed_dictionaries(
    {
        "derived": derived_values,
        "rules": st.lists(
            st.tuples(st.one_of(boolean(2), reads_derived), st.sampled_from(["decline", "refer"])),
            min_size=1,
            max_size=4,
        ),
        "tree": st.tuples(st.one_of(boolean(1), reads_derived), boolean(1)),
        "outputs": st.fixed_dictionaries(
            {"score": integer(2), "ratio": number(2), "tag": text(1), "flag": boolean(1)}
        ),
        "salt": st.text(
            st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00"),
            min_size=1,
        ).filter(lambda s: len(s.encode()) <= 64),
    }
)

_HUGE_INTS = st.one_of(st.integers(2**63, 2**64), st.integers(-(2**64), -(2**63) - 1))
_NUMBERS = st.one_of(
    finite_floats, st.sampled_from([float("inf"), float("-inf"), float("nan"), -0.0])
)
# per input: how its column arrives (dtype, values); the row backend gets the same values
_COLUMNS = {
    "integer": [
        (pl.Int64, st.integers(-(2**63), 2**63 - 1)),
        (pl.Int128, st.one_of(_HUGE_INTS, st.integers(-5, 5))),
        (pl.Float64, st.sampled_from([1.0, 2.5])),
        (pl.String, st.sampled_from(["12", "x"])),
    ],
    "number": [
        (pl.Float64, _NUMBERS),
        (pl.Int64, st.integers(-(2**63), 2**63 - 1)),
        (pl.String, st.just("1.5")),
        (pl.Boolean, st.booleans()),
    ],
    "text": [
        (pl.String, st.one_of(st.sampled_from(["x", "y", "年", "w", "it's"]), texts)),
        (pl.Int64, st.integers(-3, 3)),
    ],
    "boolean": [(pl.Boolean, st.booleans()), (pl.Int64, st.integers(0, 1))],
    "date": [
        (pl.Date, st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))),
        (pl.String, st.just("2026-01-01")),
    ],
}
_KINDS = {name: spec["type"] for name, spec in INPUTS.items()} | {"pid": "text"}


@st.composite
def applications(draw):
    """A frame of applications and the same applications as dicts (missing keys as absent)."""
    n = draw(st.integers(1, 6))
    columns, dicts = {}, [{} for _ in range(n)]
    for name, kind in _KINDS.items():
        mode = draw(st.sampled_from(["usual"] * 6 + ["wrong", "absent"]))
        if mode == "absent":
            continue
        options = _COLUMNS[kind]
        dtype, values = options[0] if mode == "usual" else draw(st.sampled_from(options))
        drawn = draw(st.lists(st.one_of(st.none(), values, values, values), min_size=n, max_size=n))
        columns[name] = pl.Series(name, drawn, dtype=dtype)
        for row, value in zip(dicts, drawn, strict=True):
            if value is not None or draw(st.booleans()):  # a null or a missing key
                row[name] = value
    frame = pl.DataFrame(list(columns.values())) if columns else pl.DataFrame(height=n)
    return frame, dicts


def _same(got, want):
    if isinstance(want, float) and isinstance(got, float):
        return got == want  # -0.0 and 0.0 are one number
    return got == want and type(got) is type(want)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(gen=policies, rows=table_rows, apps=applications())
def _compare_backends(gen, rows, apps):
    STATS["generated"] += 1
    try:
        policy = _load(gen, rows)
    except ConfigError as err:
        STATS["refused"] += 1
        STATS[err.problems[0].message[:40]] += 1
        return
    frame, dicts = apps
    batch = policy.decide_frame(frame)
    outputs = [name for name, _ in policy.outputs]
    for k, app in enumerate(dicts):
        d = policy.decide(app)
        where = (k, app)
        assert batch["decision"][k] == d.decision, where
        assert batch["reasons"][k].to_list() == list(d.reasons), where
        assert batch["arm"][k] == d.arm, where
        assert batch["t_row"][k] == d.table_rows["t"], where
        hits = [r.id for r in policy.rules if batch[f"rule_{r.id}"][k]]
        assert hits == list(d.rule_hits), where
        for name in outputs:
            assert _same(batch[name][k], d.outputs[name]), (name, batch[name][k], d.outputs[name])
    STATS["compared"] += 1
    STATS["applications"] += len(dicts)


def test_row_and_polars_backends_give_the_same_decisions():
    STATS.clear()
    _compare_backends()
    compared, generated = STATS["compared"], STATS["generated"]
    print(f"compared {compared} of {generated} generated policies, {STATS['applications']} apps")
    assert compared >= 1000
    assert compared >= 0.8 * generated, STATS


def test_data_quality_refers_with_explicit_reasons():
    policy = load_policy(
        {
            "schema_version": 1,
            "inputs": INPUTS,
            "rules": [{"id": "R", "when": "a > 9", "action": "decline"}],
        }
    )
    d = policy.decide({"a": None, "x": 1.0, "y": 2e6, "s": "w"})
    assert d.decision == "refer"
    assert d.reasons == ("DQ_MISSING:a", "DQ_RANGE:y", "DQ_CATEGORY:s")
    wrong = policy.decide({"a": "12", "x": float("inf"), "s": "x"})
    assert wrong.decision == "refer" and wrong.reasons == ("DQ_TYPE:a", "DQ_RANGE:x")
    frame = pl.DataFrame({"a": ["12"], "x": [float("-inf")], "s": ["x"]})
    assert policy.decide_frame(frame)["reasons"][0].to_list() == ["DQ_TYPE:a", "DQ_RANGE:x"]
    ok = policy.decide({"a": 3, "x": float("nan"), "y": 0, "s": "x"})
    assert ok.reasons == ("DQ_MISSING:x",)  # NaN is null
    assert policy.decide({"a": 3, "x": -0.0, "y": 1e6, "s": "年"}).decision == "approve"


def test_policy_file_problems_are_all_listed(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text(
        "schema_version: 1\ninputs:\n  a: {type: integer}\n  c: {type: colour}\n"
        'derived:\n  d: "a + zz"\nrules:\n  - {id: R1, when: "a.b", action: decline}\n'
        '  - {id: R1, when: "a > 1", action: approve}\n'
        "tables:\n  t:\n    inputs: [a]\n    outputs: [x]\n    rows:\n"
        '      - {when: {a: "< 0"}, then: {x: 1}}\n'
        'outputs:\n  y: "nope"\nextra: 1\n'
    )
    with pytest.raises(ConfigError) as err:
        load_policy(bad)
    paths = {p.path for p in err.value.problems}
    assert {
        "inputs.c.type",
        "derived.d",
        "rules.0.when",
        "rules.1.id",
        "rules.1.action",
        "outputs.y",
        "extra",
        "tables.t",
    } <= paths
    assert all(p.file == "p.yaml" for p in err.value.problems)
