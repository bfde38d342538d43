"""Policy files: a typed input schema, derived values, rules, decision tables and outputs.

A policy file (YAML, ``schema_version: 1``) compiles to an ordered list of steps — the IR —
that both backends run: :meth:`Policy.decide` for one application (real time) and
:meth:`Policy.decide_frame` for a Polars frame (batch). Tests hold them equal: decision,
reasons in order, outputs, rule hits and table rows.

.. code-block:: yaml

    schema_version: 1
    name: credit
    version: "3"
    inputs:
      age: {type: integer}
      income_fen: {type: integer, required: false}
      channel: {type: text, categories: [app, h5, partner_api, offline]}
    derived:
      young: "age < 25"
    rules:
      - {id: R01, when: "age < 18", action: decline}
      - {id: R07, when: "young and channel in ['partner_api']", action: refer}
    tables:
      limit:
        hit: first
        inputs: [age, income_fen]
        outputs: [limit_fen]
        rows:
          - {when: {income_fen: "null"}, then: {limit_fen: 0}}
          - {when: {income_fen: "< 500000"}, then: {limit_fen: 300000}}
          - {when: {income_fen: ">= 500000"}, then: {limit_fen: 1000000}}
    outputs:
      limit_fen: "coalesce(limit_limit_fen, 0)"

Decision: ``decline`` if a decline rule hits, else ``refer`` if a refer rule hits or an input
fails its schema (a required input missing, a category not listed, a wrong type: reason
``DQ_MISSING:<input>``, ``DQ_CATEGORY:<input>`` or ``DQ_TYPE:<input>``), else ``approve``.
Reasons: data-quality reasons first, then the hitting rules' ids in file order. A rule whose
condition is null (an input it reads is missing) does not hit. Table outputs are named
``<table>_<output>``; a table with no matching row gives nulls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from fengkong.errors import ConfigError, Problem
from fengkong.expression import Expression, parse_expression
from fengkong.policy._lines import line_of, yaml_lines
from fengkong.policy.table import DecisionTable, check_table

__all__ = ["Decision", "Policy", "check_policy", "load_policy"]

TYPES = {"number": (int, float), "integer": (int,), "text": (str,), "boolean": (bool,)}
_PL_TYPES = {"number": pl.Float64, "integer": pl.Int64, "text": pl.String, "boolean": pl.Boolean}
ACTIONS = ("decline", "refer")


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One declared input."""

    name: str
    type: str
    required: bool = True
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """A condition with its action; its id is the reason code."""

    id: str
    when: Expression
    action: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one application."""

    decision: str
    reasons: tuple[str, ...]
    outputs: dict[str, Any]
    rule_hits: tuple[str, ...]
    table_rows: dict[str, int | None]
    policy: str
    version: str


@dataclass(frozen=True, slots=True)
class Policy:
    """A checked policy: inputs, derived values, rules, tables and outputs, in run order."""

    name: str
    version: str
    inputs: tuple[InputSpec, ...]
    derived: tuple[tuple[str, Expression], ...]
    rules: tuple[Rule, ...]
    tables: tuple[DecisionTable, ...]
    outputs: tuple[tuple[str, Expression], ...]
    sha256: str = field(default="", compare=False)

    # ------------------------------------------------------------------ real time
    def _quality(self, application: Mapping[str, Any]) -> list[str]:
        reasons = []
        for spec in self.inputs:
            value = application.get(spec.name)
            if value is None:
                if spec.required:
                    reasons.append(f"DQ_MISSING:{spec.name}")
                continue
            ok = isinstance(value, TYPES[spec.type]) and not (
                spec.type in ("number", "integer") and isinstance(value, bool)
            )
            if not ok:
                reasons.append(f"DQ_TYPE:{spec.name}")
            elif spec.categories and value not in spec.categories:
                reasons.append(f"DQ_CATEGORY:{spec.name}")
        return reasons

    def decide(self, application: Mapping[str, Any]) -> Decision:
        """Decide one application (a mapping of input name to value; absent means null)."""
        quality = self._quality(application)
        bad = {r.split(":", 1)[1] for r in quality}
        env: dict[str, Any] = {
            s.name: (None if s.name in bad else application.get(s.name)) for s in self.inputs
        }
        for name, expr in self.derived:
            env[name] = expr.evaluate(env)
        hits = [r for r in self.rules if r.when.evaluate(env) is True]
        rows: dict[str, int | None] = {}
        for table in self.tables:
            found = table.evaluate(env)
            rows[table.name] = None if found is None else found[0]
            for out in table.outputs:
                env[f"{table.name}_{out}"] = None if found is None else found[1][out]
        outputs = {name: expr.evaluate(env) for name, expr in self.outputs}
        if any(r.action == "decline" for r in hits):
            decision = "decline"
        elif quality or hits:
            decision = "refer"
        else:
            decision = "approve"
        return Decision(
            decision,
            (*quality, *(r.id for r in hits)),
            outputs,
            tuple(r.id for r in hits),
            rows,
            self.name,
            self.version,
        )

    # ------------------------------------------------------------------ batch
    def decide_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Decide every row: decision, reasons (list), outputs, ``rule_<id>``, ``<table>_row``."""
        cols = {
            s.name: (
                frame[s.name]
                if s.name in frame.columns
                else pl.Series(s.name, [None] * frame.height, dtype=_PL_TYPES[s.type])
            )
            for s in self.inputs
        }
        work = pl.DataFrame(cols)
        quality: list[pl.Expr] = []
        fixes: list[pl.Expr] = []  # inputs that fail their schema read as null afterwards
        for s in self.inputs:
            col = pl.col(s.name)
            dtype = work.schema[s.name]
            type_ok = (
                dtype.is_numeric()
                if s.type == "number"
                else dtype.is_integer()
                if s.type == "integer"
                else dtype == _PL_TYPES[s.type] or dtype == pl.Null
            )
            if not type_ok:
                quality.append(pl.when(col.is_not_null()).then(pl.lit(f"DQ_TYPE:{s.name}")))
                fixes.append(pl.lit(None, _PL_TYPES[s.type]).alias(s.name))
                continue
            if s.required:
                quality.append(pl.when(col.is_null()).then(pl.lit(f"DQ_MISSING:{s.name}")))
            if s.categories:
                bad = col.is_not_null() & ~col.is_in(list(s.categories))
                quality.append(pl.when(bad).then(pl.lit(f"DQ_CATEGORY:{s.name}")))
                fixes.append(pl.when(bad).then(None).otherwise(col).alias(s.name))
        steps: list[pl.Expr] = []
        out = work.with_columns(
            (
                pl.concat_list(quality).list.drop_nulls()
                if quality
                else pl.lit([], pl.List(pl.String))
            ).alias("__dq")
        )
        if fixes:
            out = out.with_columns(fixes)
        for name, expr in self.derived:
            out = out.with_columns(expr.to_polars().alias(name))
        for r in self.rules:
            out = out.with_columns(
                (r.when.to_polars().cast(pl.Boolean).fill_null(False)).alias(f"rule_{r.id}")
            )
        for table in self.tables:
            exprs = table.to_polars()
            out = out.with_columns(
                exprs[f"{table.name}_row"].alias(f"{table.name}_row"),
                *(exprs[o].alias(f"{table.name}_{o}") for o in table.outputs),
            )
        for name, expr in self.outputs:
            steps.append(expr.to_polars().alias(name))
        if steps:
            out = out.with_columns(steps)
        hit_reasons = [pl.when(pl.col(f"rule_{r.id}")).then(pl.lit(r.id)) for r in self.rules]
        reasons = (
            pl.concat_list([pl.col("__dq"), *hit_reasons]).list.drop_nulls()
            if hit_reasons
            else pl.col("__dq")
        )
        declines = [pl.col(f"rule_{r.id}") for r in self.rules if r.action == "decline"]
        anything = [pl.col(f"rule_{r.id}") for r in self.rules]
        declined = pl.any_horizontal(declines) if declines else pl.lit(False)
        referred = (pl.col("__dq").list.len() > 0) | (
            pl.any_horizontal(anything) if anything else pl.lit(False)
        )
        out = out.with_columns(
            pl.when(declined)
            .then(pl.lit("decline"))
            .when(referred)
            .then(pl.lit("refer"))
            .otherwise(pl.lit("approve"))
            .alias("decision"),
            reasons.alias("reasons"),
        )
        keep = [
            "decision",
            "reasons",
            *(n for n, _ in self.outputs),
            *(f"rule_{r.id}" for r in self.rules),
            *(f"{t.name}_row" for t in self.tables),
        ]
        return out.select(keep)


# ---------------------------------------------------------------------- loading and checks
def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def check_policy(
    data: Mapping[str, Any], *, file: str = "<policy>"
) -> tuple[Policy | None, list[Problem]]:
    """Build a policy from parsed YAML; every problem at once (with file and dotted path)."""
    problems: list[Problem] = []

    def problem(path: str, message: str) -> None:
        problems.append(Problem(file, path, message))

    if data.get("schema_version") != 1:
        problem("schema_version", f"expected 1, got {data.get('schema_version')!r}")
    known_keys = {
        "schema_version",
        "name",
        "version",
        "inputs",
        "derived",
        "rules",
        "tables",
        "outputs",
    }
    for key in sorted(set(data) - known_keys):
        problem(key, f"unknown key (expected one of {sorted(known_keys)})")
    inputs = []
    for name, declared in (data.get("inputs") or {}).items():
        raw = declared or {}
        t = raw.get("type")
        if t not in TYPES:
            problem(f"inputs.{name}.type", f"expected one of {sorted(TYPES)}, got {t!r}")
            continue
        cats = tuple(raw.get("categories") or ())
        if cats and t != "text":
            problem(f"inputs.{name}.categories", "categories are for text inputs")
        inputs.append(InputSpec(str(name), t, bool(raw.get("required", True)), cats))
    names = {s.name for s in inputs}
    derived = []
    for name, text in (data.get("derived") or {}).items():
        try:
            expr = parse_expression(str(text), dialect="policy")
        except ValueError as exc:
            problem(f"derived.{name}", str(exc))
            continue
        unknown = sorted(expr.names - names)
        if unknown:
            problem(
                f"derived.{name}",
                f"unknown variables {unknown} (inputs and earlier "
                "derived values only; order matters, so cycles cannot form)",
            )
        if name in names:
            problem(f"derived.{name}", "a derived value cannot reuse an input's name")
        derived.append((str(name), expr))
        names.add(str(name))
    rules = []
    seen_ids: set[str] = set()
    for k, raw in enumerate(data.get("rules") or ()):
        where = f"rules.{k}"
        rid, action = raw.get("id"), raw.get("action")
        if not rid or rid in seen_ids:
            problem(f"{where}.id", f"expected a unique rule id, got {rid!r}")
        seen_ids.add(str(rid))
        if action not in ACTIONS:
            problem(f"{where}.action", f"expected one of {ACTIONS}, got {action!r}")
        try:
            expr = parse_expression(str(raw.get("when")), dialect="policy")
        except ValueError as exc:
            problem(f"{where}.when", str(exc))
            continue
        unknown = sorted(expr.names - names)
        if unknown:
            problem(f"{where}.when", f"unknown variables {unknown}")
        rules.append(Rule(str(rid), expr, str(action)))
    tables = []
    for tname, raw in (data.get("tables") or {}).items():
        try:
            table = DecisionTable.from_dict(raw, name=str(tname))
        except ValueError as exc:
            problem(f"tables.{tname}", str(exc))
            continue
        unknown = sorted(set(table.inputs) - names)
        if unknown:
            problem(f"tables.{tname}.inputs", f"unknown variables {unknown}")
        problems.extend(check_table(table, file=file) if not unknown else [])
        tables.append(table)
        names |= {f"{tname}_{o}" for o in table.outputs}
    outputs = []
    for name, text in (data.get("outputs") or {}).items():
        try:
            expr = parse_expression(str(text), dialect="policy")
        except ValueError as exc:
            problem(f"outputs.{name}", str(exc))
            continue
        unknown = sorted(expr.names - names)
        if unknown:
            problem(f"outputs.{name}", f"unknown variables {unknown}")
        outputs.append((str(name), expr))
    if problems:
        return None, problems
    policy = Policy(
        str(data.get("name", "policy")),
        str(data.get("version", "1")),
        tuple(inputs),
        tuple(derived),
        tuple(rules),
        tuple(tables),
        tuple(outputs),
        _digest(data),
    )
    return policy, []


def load_policy(source: str | Path | Mapping[str, Any]) -> Policy:
    """A checked policy from a YAML file or a parsed mapping; ``ConfigError`` lists problems."""
    if isinstance(source, Mapping):
        data, file = source, "<policy>"
    else:
        path = Path(source)
        file = path.name
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError([Problem(file, "", f"cannot read the policy: {exc}")]) from exc
        if not isinstance(data, dict):
            raise ConfigError([Problem(file, "", "expected a mapping")])
        lines = yaml_lines(path.read_text(encoding="utf-8"))
    policy, problems = check_policy(data, file=file)
    if problems or policy is None:
        if not isinstance(source, Mapping):
            problems = [replace(p, line=line_of(lines, p.path)) for p in problems]
        raise ConfigError(problems)
    return policy
