"""Collection strategies: decision-engine policies that plan each case's actions for the day.

A strategy is a policy file (:mod:`fengkong.policy`) with a ``plan`` output: the day's
ordered actions, ``"channel:template"`` items separated by commas (``sms:reminder,call``);
``agency`` and ``legal`` are placements. Its inputs come from the case (``case_id``,
``stage``, ``p_pay`` — the collection score —, ``overdue_fen``, ``balance_fen``, ``max_dpd``,
``broken_promise``); champion/challenger ``arms`` keyed by ``case_id`` give every case a
cohort that never changes. :func:`load_strategy` refuses a strategy naming an unknown action
or template, and templates with banned content — from the shipped file, a lender's file
(:func:`load_templates`) or a mapping passed in, every load path runs the same check; :meth:`Strategy.plan` turns today's cases into
action rows, skipping cases paused by a promise and cases in a stop state.

>>> s = load_strategy()
>>> import datetime as dt
>>> cases = pl.DataFrame({"case_id": ["a-1"], "stage": ["middle"], "p_pay": [0.9],
...                       "overdue_fen": [50_000], "balance_fen": [200_000], "max_dpd": [40]})
>>> s.plan(cases).select("action", "template").rows()
[('sms', 'firm'), ('call', 'call_script')]
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from fengkong.collections.content import checked_templates, load_templates, template_problems
from fengkong.collections.rules import CHANNELS
from fengkong.errors import ConfigError, Problem
from fengkong.expression import ExpressionLimits
from fengkong.policy import Policy, load_policy
from fengkong.policy.nodes import TableNode, TreeNode

__all__ = ["ACTIONS", "Strategy", "load_strategy", "load_templates"]

ACTIONS = (*CHANNELS, "agency", "legal")  # contacts, then placements
_ITEM = re.compile(r"^([a-z_]+)(?::([A-Za-z0-9_]+))?$")


def parse_plan(plan: str | None) -> list[tuple[str, str | None]]:
    """``"sms:reminder,call"`` → ``[("sms", "reminder"), ("call", None)]`` (repeats dropped)."""
    out: list[tuple[str, str | None]] = []
    for item in _items(plan):
        m = _ITEM.match(item)
        if m is None:
            raise ValueError(f"plan item {item!r}: expected action or action:template")
        pair = (m.group(1), m.group(2))
        if pair not in out:
            out.append(pair)
    return out


def _items(plan: str | None) -> list[str]:
    return [item.strip() for item in (plan or "").split(",") if item.strip()]


def _plan_problems(plan: str, templates: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What is wrong with a plan (empty when every item is a known action and template)."""
    problems = []
    for item in _items(plan):
        m = _ITEM.match(item)
        if m is None or m.group(1) not in ACTIONS:
            problems.append(f"unknown action {item!r} (expected one of {ACTIONS})")
            continue
        template = m.group(2)
        known = templates.get(template) if template is not None else None
        if template is not None and known is None:
            problems.append(f"unknown template {template!r}")
        elif (
            known is not None
            and m.group(1) in CHANNELS
            and known["channel"]
            not in (
                m.group(1),
                "sms",
            )
        ):
            problems.append(f"template {template!r} is for {known['channel']}")
    return problems


_MAX_PLANS = 10_000


def _possible_plans(policy: Policy) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Every text the ``plan`` output can take, with where it comes from, and the problems.

    A plan is built only from the strategy's own literals: text constants, the ``plan``
    outputs of its tables and trees, choices between them (``if``/``else``, ``coalesce``,
    ``min``/``max``) and joins of them (``+``, every combination listed and checked). Case
    data, or anything else whose value is not known at load, is a problem: no text a case
    carries is ever acted on.
    """
    own: dict[str, list[tuple[str, str]]] = {}
    problems: list[tuple[str, str]] = []
    for node in policy.nodes:
        if isinstance(node, TableNode) and "plan" in node.table.outputs:
            own[f"{node.name}_plan"] = [
                (f"tables.{node.name}.rows.{k}.then.plan", row["plan"])
                for k, row in enumerate(node.table.results)
                if isinstance(row["plan"], str)
            ]
        elif isinstance(node, TreeNode):
            for out, expr in node.outputs:
                if out == "plan":
                    where = f"trees.{node.name}.plan"
                    own[f"{node.name}_plan"] = _texts(expr._tree, where, own, problems)
    plan = next((e for name, e in policy.outputs if name == "plan"), None)
    found = [] if plan is None else _texts(plan._tree, "outputs.plan", own, problems)
    return found, problems


_CHOICES = ("coalesce", "min", "max")  # functions whose value is one of their arguments


def _texts(
    node: ast.expr,
    where: str,
    own: Mapping[str, list[tuple[str, str]]],
    problems: list[tuple[str, str]],
) -> list[tuple[str, str]]:
    """The texts an expression's value can be (see :func:`_possible_plans`)."""
    parts: list[ast.expr] = []
    if isinstance(node, ast.Constant):
        return [(where, node.value)] if isinstance(node.value, str) else []
    if isinstance(node, ast.Name) and node.id in own:
        return own[node.id]
    if isinstance(node, ast.IfExp):
        parts = [node.body, node.orelse]
    elif (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CHOICES
    ):
        parts = list(node.args)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _texts(node.left, where, own, problems)
        right = _texts(node.right, where, own, problems)
        if len(left) * len(right) > _MAX_PLANS:
            problems.append((where, f"the plan joins more than {_MAX_PLANS:,} combinations"))
            return []
        return [(w, a + b) for w, a in left for _, b in right]
    else:
        read = (
            f"reads {node.id!r}"
            if isinstance(node, ast.Name)
            else f"is built from {ast.unparse(node)!r}"
        )
        problems.append(
            (
                where,
                f"the plan {read}: a plan is built from the strategy's own literals and its "
                "tables' and trees' plans (if/else, coalesce, min, max, +), never from case data",
            )
        )
        return []
    return [t for part in parts for t in _texts(part, where, own, problems)]


@dataclass(frozen=True, slots=True)
class Strategy:
    """A checked strategy: its policy and the templates its plans use."""

    policy: Policy
    templates: Mapping[str, Mapping[str, Any]]

    @property
    def arms(self) -> tuple[str, ...]:
        """Champion/challenger arms (empty when the strategy has none)."""
        return self.policy.arms

    def plan(
        self,
        cases: pl.DataFrame,
        *,
        paused: Iterable[str] = (),
        stopped: Iterable[str] = (),
    ) -> pl.DataFrame:
        """Today's actions: ``case_id, arm, seq, action, template`` (one row per action).

        Cases in ``paused`` (a pending promise) and ``stopped`` (settled, disputed, hardship,
        deceased, legal hold, cease request) get none.
        """
        skip = set(paused) | set(stopped)
        todo = cases.filter(~pl.col("case_id").is_in(list(skip))) if skip else cases
        decided = self.policy.decide_frame(todo)
        arms = decided["arm"] if "arm" in decided.columns else pl.Series([None] * todo.height)
        plans = pl.DataFrame({"case_id": todo["case_id"], "arm": arms, "plan": decided["plan"]})
        distinct = {}
        for p in plans["plan"].unique().to_list():
            wrong = _plan_problems(p or "", self.templates)
            if wrong:  # the loader proves this cannot happen; a plan is never acted on blind
                raise ValueError(f"plan {p!r}: {'; '.join(wrong)}")
            distinct[p] = parse_plan(p)
        rows = [
            (case, arm, seq, action, template)
            for case, arm, plan in plans.iter_rows()
            for seq, (action, template) in enumerate(distinct[plan])
        ]
        return pl.DataFrame(
            rows,
            schema={
                "case_id": pl.String,
                "arm": pl.String,
                "seq": pl.Int32,
                "action": pl.String,
                "template": pl.String,
            },
            orient="row",
        )


def load_strategy(
    source: str | Path | Mapping[str, Any] | None = None,
    *,
    templates: Mapping[str, Mapping[str, Any]] | None = None,
    limits: ExpressionLimits | None = None,
) -> Strategy:
    """A checked strategy (the shipped default when ``source`` is None).

    Refused, with every problem: a policy problem, no ``plan`` output, an unknown action
    (an unknown strategy node), an unknown template or one for another channel, and
    ``templates`` passed in with a problem :func:`load_templates` would refuse (banned
    content included: every load path checks content).
    """
    if source is None:
        source = Path(
            str(resources.files("fengkong.collections").joinpath("data/strategy_default.yaml"))
        )
    policy = load_policy(source, limits=limits)
    file = "<strategy>" if isinstance(source, Mapping) else Path(source).name
    problems = []
    if templates is None:
        templates = load_templates()
    else:
        problems += template_problems(templates, file="<templates>")
        if problems:
            raise ConfigError(problems)
        templates = checked_templates(templates)
    plan = next((e for name, e in policy.outputs if name == "plan"), None)
    if plan is None:
        problems.append(Problem(file, "outputs.plan", "a strategy must output `plan`"))
    elif plan.type != "text":
        problems.append(Problem(file, "outputs.plan", f"expected a text plan, got {plan.type}"))
    plans, wrong = _possible_plans(policy)
    problems += [Problem(file, where, why) for where, why in wrong]
    for where, value in plans:
        problems += [Problem(file, where, why) for why in _plan_problems(value, templates)]
    if problems:
        raise ConfigError(problems)
    return Strategy(policy, templates)
