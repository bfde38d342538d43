"""Decision tables: both backends agree, the exact checker finds every gap and dead row."""

import ast
import random

import polars as pl
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from fengkong.errors import ConfigError
from fengkong.policy import DecisionTable, check_table, load_policy, parse_cell
from fengkong.policy.table import type_table

AGE_CELLS = [
    "-",
    "< 18",
    "<= 25",
    "> 60",
    ">= 30",
    "[18, 30)",
    "(25, 40]",
    "== 42",
    "null",
    "not null",
    "in [18, 21]",
    "[-inf, 50)",
]
CHANNEL_CELLS = ["-", "in [app, h5]", "not in [offline]", "== partner_api", "!= app", "null"]
ages = st.one_of(st.none(), st.integers(10, 70), st.sampled_from([17.5, 25.0, 30.0, 40.0]))
channels = st.one_of(st.none(), st.sampled_from(["app", "h5", "partner_api", "offline", "kiosk"]))


def _table(hit, rows):
    return DecisionTable.from_dict(
        {
            "hit": hit,
            "inputs": ["age", "channel"],
            "outputs": ["limit", "reason"],
            "rows": [
                {"when": {"age": a, "channel": c}, "then": {"limit": 1000 * k, "reason": f"R{k}"}}
                for k, (a, c) in enumerate(rows)
            ],
        }
    )


tables = st.lists(
    st.tuples(st.sampled_from(AGE_CELLS), st.sampled_from(CHANNEL_CELLS)), min_size=1, max_size=6
)


@settings(max_examples=150, deadline=None)
@given(
    rows=tables,
    inputs=st.lists(st.tuples(ages, channels), min_size=1, max_size=20),
    hit=st.sampled_from(["first", "collect"]),
)
def test_row_and_polars_backends_agree(rows, inputs, hit):
    t = _table(hit, rows)
    frame = pl.DataFrame(
        {"age": [a for a, _ in inputs], "channel": [c for _, c in inputs]},
        schema={"age": pl.Float64, "channel": pl.String},
    )
    out = frame.select(**t.to_polars())
    for k, (a, c) in enumerate(inputs):
        row_result = t.evaluate({"age": a, "channel": c})
        if hit == "first":
            got = out["table_row"][k]
            assert got == (None if row_result is None else row_result[0])
            if row_result is not None:
                assert out["limit"][k] == row_result[1]["limit"]
                assert out["reason"][k] == row_result[1]["reason"]
        else:
            assert out["table_rows"][k].to_list() == [i for i, _ in row_result]
    index = t.fast_index()  # the batch fast path: a lookup over the elementary regions
    if hit == "first":
        assert index is not None
        fast = index.rows(frame)
        assert fast.to_list() == out["table_row"].to_list()
    else:
        assert index is None


@settings(max_examples=100, deadline=None)
@given(rows=tables, hit=st.sampled_from(["first", "collect"]))
def test_checker_is_exact_on_random_inputs(rows, hit):
    t = _table(hit, rows)
    problems = check_table(t)
    has_gap = any(p.message.startswith("gap") for p in problems)
    dead = {int(p.path.rsplit(".", 1)[1]) for p in problems if "unreachable" in p.message}
    rng = random.Random(0)
    seen_hit = set()
    for _ in range(400):
        row = {
            "age": rng.choice([None, rng.uniform(0, 80), float(rng.randint(10, 70))]),
            "channel": rng.choice([None, "app", "h5", "partner_api", "offline", "kiosk"]),
        }
        hits = t.matching_rows(row)
        if not has_gap:
            assert hits, (row, [c.text for r in t.cells for c in r])
        if hits:
            seen_hit.update(hits[:1] if hit == "first" else hits)
    assert not (seen_hit & dead)  # a row called unreachable never wins


def test_gap_and_shadowed_row_are_reported_with_examples():
    t = _table("first", [("< 18", "-"), (">= 18", "in [app]"), ("[20, 30)", "in [app]")])
    problems = check_table(t, file="policy.yaml")
    messages = [str(p) for p in problems]
    assert any("gap" in m and "'age': None" in m for m in messages)  # null age uncovered
    assert any("'channel': 'h5'" in m or "'channel': '<other>'" in m for m in messages)
    assert any(p.path == "table.rows.2" and "unreachable" in p.message for p in problems)
    assert all(p.file == "policy.yaml" for p in problems)


def test_complete_table_has_no_problems():
    t = _table("first", [("null", "-"), ("< 18", "-"), ("[18, 30)", "-"), (">= 30", "-")])
    assert check_table(t) == []


@pytest.mark.parametrize("text", ["<< 3", "[5, 1)", "in []", "> app", "between 1 and 2"])
def test_bad_cells_say_what_was_expected(text):
    with pytest.raises(ValueError, match="cell"):
        parse_cell(text)


def test_bad_table_shapes_are_named():
    with pytest.raises(ValueError, match=r"rows\.0\.when"):
        DecisionTable.from_dict(
            {
                "inputs": ["age"],
                "outputs": ["x"],
                "rows": [{"when": {"income": "> 1"}, "then": {"x": 1}}],
            }
        )
    with pytest.raises(ValueError, match=r"rows\.0\.then"):
        DecisionTable.from_dict(
            {"inputs": ["age"], "outputs": ["x"], "rows": [{"when": {"age": "> 1"}, "then": {}}]}
        )
    with pytest.raises(ValueError, match="hit"):
        DecisionTable.from_dict({"hit": "all", "inputs": [], "outputs": [], "rows": []})


TYPED_CELLS = {
    "i": ["-", "null", "not null", "< 0", ">= 10", "[0, 10)", "== 5", "!= 1", "in [1, 2]"],
    "n": ["-", "null", "< 0.5", "(0, 1]", ">= 1e300", "== -0.0", "not in [2.5]"],
    "s": ["-", "null", "in [x, y]", "== 年", "!= x", "not in [y]"],
    "b": ["-", "null", "== true", "== false"],
}
TYPED_KINDS = {"i": "integer", "n": "number", "s": "text", "b": "boolean"}
TYPED_VALUES = {
    "i": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, 1, 5, 9, 10])),
    "n": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    "s": st.one_of(st.none(), st.sampled_from(["x", "y", "年", "w", ""]), st.text(max_size=5)),
    "b": st.one_of(st.none(), st.booleans()),
}
typed_rows = st.tuples(
    st.lists(
        st.fixed_dictionaries({k: st.sampled_from(v) for k, v in TYPED_CELLS.items()}),
        min_size=1,
        max_size=6,
    ),
    # often a last row of mostly "-": tables that are complete, or nearly so
    st.lists(
        st.fixed_dictionaries({k: st.sampled_from(["-"] * 12 + v) for k, v in TYPED_CELLS.items()}),
        max_size=2,
    ),
).map(lambda t: t[0] + t[1])


def _typed_policy(rows):
    return {
        "schema_version": 1,
        "inputs": {k: {"type": t, "required": False} for k, t in TYPED_KINDS.items()},
        "tables": {
            "t": {
                "inputs": list(TYPED_KINDS),
                "outputs": ["v"],
                "rows": [{"when": r, "then": {"v": k}} for k, r in enumerate(rows)],
            }
        },
        "outputs": {"row": "t_row"},
    }


def _gap_inputs(problems):
    """The example inputs of the gaps reported (``<other>``: a text no cell lists)."""
    out = []
    for p in problems:
        if p.message.startswith("gap: no row matches "):
            example = ast.literal_eval(p.message.removeprefix("gap: no row matches "))
            out.append({k: "\x00other" if v == "<other>" else v for k, v in example.items()})
    return out


@settings(max_examples=300, deadline=None)
@given(rows=typed_rows, apps=st.lists(st.fixed_dictionaries(TYPED_VALUES), max_size=10))
def test_the_gap_checker_is_right_in_both_directions(rows, apps):
    """A reported gap is confirmed by its example (no row matches, in either backend); a
    table without a reported gap matches every input drawn (in both backends)."""
    table = DecisionTable.from_dict(_typed_policy(rows)["tables"]["t"], name="t")
    typed, _, problems = type_table(table, TYPED_KINDS)
    assert problems == []
    found = check_table(typed)
    gaps = _gap_inputs(found)
    event("gap reported" if gaps else "no gap")
    if gaps:
        for example in gaps:
            assert typed.matching_rows(example) == [], example
            frame = pl.DataFrame(
                [example], schema={"i": pl.Int64, "n": pl.Float64, "s": pl.String, "b": pl.Boolean}
            )
            assert frame.select(typed.to_polars()["t_row"]).item() is None, example
        with pytest.raises(ConfigError, match="gap"):
            load_policy(_typed_policy(rows))
        return
    try:
        policy = load_policy(_typed_policy(rows))
    except ConfigError as err:  # only dead rows are left to refuse
        assert all("unreachable" in p.message for p in err.problems)
        return
    frame = pl.DataFrame(
        apps, schema={"i": pl.Int64, "n": pl.Float64, "s": pl.String, "b": pl.Boolean}
    )
    batch = policy.decide_frame(frame)
    for k, app in enumerate(apps):
        assert policy.decide(app).table_rows["t"] is not None, app
        assert batch["t_row"][k] is not None, app
