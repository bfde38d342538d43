"""Strategies: plans by segment through the decision engine, persistent cohorts, paused and
stopped cases get nothing, unknown actions/templates and banned template content refused."""

from importlib import resources

import polars as pl
import pytest
import yaml

from fengkong.collections.strategy import load_strategy, load_templates, parse_plan
from fengkong.errors import ConfigError


def cases(n=2000):
    stages = ["early", "middle", "late", "recovery"]
    return pl.DataFrame(
        {
            "case_id": [f"b{k}-20260301" for k in range(n)],
            "stage": [stages[k % 4] for k in range(n)],
            "p_pay": [(k % 10) / 10 for k in range(n)],
            "overdue_fen": [10_000 + k for k in range(n)],
            "balance_fen": [(k % 7) * 200_000 for k in range(n)],
            "max_dpd": [5 + (k % 4) * 40 for k in range(n)],
        }
    )


def test_plans_follow_the_segments_and_arms_are_stable():
    s = load_strategy()
    plan = s.plan(cases())
    by_case = plan.group_by("case_id", maintain_order=True).agg("action", "arm")
    first = dict(zip(by_case["case_id"], by_case["action"].to_list(), strict=True))
    assert first["b1-20260301"] in (["sms", "call"], ["call", "sms"])  # middle
    assert "b3-20260301" not in first  # recovery: no contact planned
    late_big = cases().filter((pl.col("stage") == "late") & (pl.col("balance_fen") >= 500_000))
    assert set(plan.filter(pl.col("case_id").is_in(late_big["case_id"].implode()))["action"]) == {
        "sms",
        "field_visit",
    }
    share = (plan.unique("case_id")["arm"] == "challenger").mean()
    assert 0.15 < share < 0.25
    again = s.plan(cases().reverse())
    arms = dict(zip(plan["case_id"], plan["arm"], strict=False))
    assert all(arms[c] == a for c, a in zip(again["case_id"], again["arm"], strict=True))


def test_paused_and_stopped_cases_receive_zero_actions():
    s = load_strategy()
    plan = s.plan(cases(40), paused=["b1-20260301"], stopped=["b2-20260301"])
    assert not plan.filter(pl.col("case_id").is_in(["b1-20260301", "b2-20260301"])).height


def test_parse_plan():
    assert parse_plan("sms:reminder, call ,sms:reminder") == [("sms", "reminder"), ("call", None)]
    assert parse_plan("") == []


def test_unknown_actions_and_templates_are_refused(tmp_path):
    data = yaml.safe_load(
        resources.files("fengkong.collections").joinpath("data/strategy_default.yaml").read_text()
    )
    data["tables"]["actions"]["rows"][0]["then"]["plan"] = "carrier_pigeon:reminder"
    data["tables"]["actions"]["rows"][1]["then"]["plan"] = "sms:no_such_template"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_strategy(path)
    messages = [p.message for p in err.value.problems]
    assert any("unknown action 'carrier_pigeon:reminder'" in m for m in messages)
    assert any("unknown template 'no_such_template'" in m for m in messages)


def test_a_template_with_banned_content_is_refused(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "schema_version: 1\ntemplates:\n  scary:\n    channel: sms\n"
        "    text: Pay today or the police will arrest you\n"
    )
    with pytest.raises(
        ConfigError, match=r"templates\.scary\.text: banned content \(impersonation\)"
    ):
        load_templates(path)


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ("note", "the plan reads 'note'"),  # case data would become actions unchecked
        ("'sms:firm,' + note", "the plan reads 'note'"),
        ("coalesce(note, 'call')", "the plan reads 'note'"),
        ("'call' if stage == 'early' else note", "the plan reads 'note'"),
        ("max_dpd", "expected a text plan, got integer"),
    ],
)
def test_a_plan_is_never_built_from_case_data(plan, message):
    """A plan read from an input would reach the day's work list without the action and
    template checks (``carrier_pigeon:x``); the loader refuses it."""
    data = {
        "schema_version": 1,
        "inputs": {
            "case_id": {"type": "text"},
            "stage": {"type": "text"},
            "note": {"type": "text"},
            "max_dpd": {"type": "integer"},
        },
        "outputs": {"plan": plan},
    }
    with pytest.raises(ConfigError, match=message) as err:
        load_strategy(data)
    assert any(p.path == "outputs.plan" for p in err.value.problems)
