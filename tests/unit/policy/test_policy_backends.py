"""Policies: the row and Polars backends give identical decisions, reasons, outputs and hits.

Hypothesis generates policies (random rule conditions from the expression grammar, a random
decision table) and applications with nulls, wrong categories and wrong types.
"""

import polars as pl
import pytest
from expression_grammar import boolean
from hypothesis import given, settings
from hypothesis import strategies as st

from fengkong.errors import ConfigError
from fengkong.policy import load_policy

INPUTS = {
    "a": {"type": "integer"},
    "b": {"type": "integer", "required": False},
    "s": {"type": "text", "categories": ["x", "y", "z"]},
}
CELLS_A = ["-", "< 0", "[0, 2)", ">= 2", "null", "in [1, 3]"]
CELLS_S = ["-", "in [x, y]", "== z", "null", "not null"]


def _policy(rule_exprs, actions, table_rows, output):
    return load_policy(
        {
            "schema_version": 1,
            "name": "gen",
            "version": "1",
            "inputs": INPUTS,
            "derived": {"d": "coalesce(a, 0) + coalesce(b, 0)"},
            "rules": [
                {"id": f"R{k}", "when": e, "action": act}
                for k, (e, act) in enumerate(zip(rule_exprs, actions, strict=False))
            ],
            "tables": {
                "t": {
                    "hit": "first",
                    "inputs": ["a", "s"],
                    "outputs": ["limit"],
                    "rows": [
                        {"when": {"a": ca, "s": cs}, "then": {"limit": 100 * k}}
                        for k, (ca, cs) in enumerate(table_rows)
                    ],
                }
            },
            "outputs": {"limit": output},
        }
    )


applications = st.fixed_dictionaries(
    {
        "a": st.one_of(st.none(), st.integers(-3, 4)),
        "b": st.one_of(st.none(), st.integers(-3, 4)),
        "s": st.one_of(st.none(), st.sampled_from(["x", "y", "z", "w"])),
    }
)


@settings(max_examples=120, deadline=None)
@given(
    rules=st.lists(boolean, min_size=1, max_size=4),
    actions=st.lists(st.sampled_from(["decline", "refer"]), min_size=4, max_size=4),
    table=st.lists(
        st.tuples(st.sampled_from(CELLS_A), st.sampled_from(CELLS_S)), min_size=1, max_size=4
    ),
    output=st.sampled_from(
        ["coalesce(t_limit, 0)", "t_limit", "min(coalesce(t_limit, 0), d * 10)", "d"]
    ),
    apps=st.lists(applications, min_size=1, max_size=12),
)
def test_row_and_polars_backends_give_the_same_decisions(rules, actions, table, output, apps):
    try:
        policy = _policy(rules, actions, table, output)
    except ConfigError as err:  # generated tables may have gaps: the checker refuses them
        assert all("gap" in p.message or "unreachable" in p.message for p in err.problems)
        return
    frame = pl.DataFrame(apps, schema={"a": pl.Int64, "b": pl.Int64, "s": pl.String})
    batch = policy.decide_frame(frame)
    for k, app in enumerate(apps):
        d = policy.decide(app)
        assert batch["decision"][k] == d.decision
        assert batch["reasons"][k].to_list() == list(d.reasons)
        assert batch["limit"][k] == d.outputs["limit"]
        assert batch["t_row"][k] == d.table_rows["t"]
        assert [r for r in d.rule_hits] == [r.id for r in policy.rules if batch[f"rule_{r.id}"][k]]


def test_data_quality_refers_with_explicit_reasons():
    policy = _policy(["a > 100"], ["decline"], [("-", "-")], "coalesce(t_limit, 0)")
    d = policy.decide({"a": None, "b": 1, "s": "w"})
    assert d.decision == "refer"
    assert d.reasons == ("DQ_MISSING:a", "DQ_CATEGORY:s")
    wrong = policy.decide({"a": "12", "s": "x"})
    assert wrong.decision == "refer" and wrong.reasons == ("DQ_TYPE:a",)
    frame = pl.DataFrame({"a": ["12"], "s": ["x"]})  # a text column where integers belong
    assert policy.decide_frame(frame)["reasons"][0].to_list() == ["DQ_TYPE:a"]
    ok = policy.decide({"a": 3, "s": "x"})
    assert ok.decision == "approve" and ok.reasons == ()


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
        "t",
    } <= paths
    assert all(p.file == "p.yaml" for p in err.value.problems)
