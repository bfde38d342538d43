"""Policy files: parse, check every problem at once, and compile to the IR.

A policy file (YAML, ``schema_version: 1``) declares typed ``inputs`` (with
``variables: <features spec>`` and ``graph_features: true``, also every variable of a
:mod:`fengkong.features` spec and every relationship-graph feature, typed and optional);
value nodes — ``arms`` (champion/challenger), ``derived`` expressions, ``scorecards`` and
``models`` (artifacts from :mod:`fengkong.modeling`, pinned by SHA-256), decision ``tables``
and ``trees`` — which may read each other in any order (the loader sorts them and reports
cycles); ``rules`` with actions; ``outputs``; and an optional ``pricing`` step. See
``docs/policy.md`` for the full reference and :class:`fengkong.policy.Policy` for running it.

>>> p = load_policy({
...     "schema_version": 1, "name": "mini", "version": "1",
...     "inputs": {"age": {"type": "integer"}},
...     "derived": {"young": "age < 25"},
...     "rules": [{"id": "R01", "when": "age < 18", "action": "decline"}],
...     "outputs": {"limit_fen": "100000 if young else 500000"}})
>>> p.decide({"age": 30}).outputs
{'limit_fen': 500000}
>>> p.decide({"age": 16}).reasons
('R01',)
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from fengkong.errors import ConfigError, Problem
from fengkong.expression import Expression, parse_expression
from fengkong.modeling.artifact import ScorecardModel
from fengkong.modeling.gbm import GBMArtifact
from fengkong.policy._lines import line_of, yaml_lines
from fengkong.policy.nodes import (
    ACTIONS,
    TYPES,
    ArmNode,
    DerivedNode,
    InputSpec,
    ModelNode,
    Node,
    PricingNode,
    Rule,
    ScorecardNode,
    TableNode,
    TreeNode,
)
from fengkong.policy.policy import Policy
from fengkong.policy.table import DecisionTable, check_table

__all__ = ["check_policy", "load_policy"]

_KEYS = (
    "schema_version",
    "name",
    "version",
    "description",
    "inputs",
    "variables",
    "graph_features",
    "arms",
    "derived",
    "scorecards",
    "models",
    "rules",
    "tables",
    "trees",
    "outputs",
    "pricing",
)


def content_hash(data: Any) -> str:
    """SHA-256 of a policy's parsed content (key order and formatting do not matter)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


class _Checker:
    """Collects problems while building nodes."""

    def __init__(self, file: str, base: Path | None) -> None:
        self.file = file
        self.base = base
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message))

    def expr(self, path: str, text: Any) -> Expression | None:
        try:
            return parse_expression(str(text), dialect="policy")
        except ValueError as exc:
            self.problem(path, str(exc))
            return None

    def artifact(self, path: str, raw: Any, loader: Callable[[Path], Any]) -> tuple[Any, str]:
        raw = raw if isinstance(raw, Mapping) else {}
        where = raw.get("artifact")
        if not where:
            self.problem(f"{path}.artifact", "expected the path of a saved model")
            return None, ""
        file = Path(str(where))
        if not file.is_absolute() and self.base is not None:
            file = self.base / file
        try:
            model = loader(file)
        except (OSError, ValueError, KeyError) as exc:
            self.problem(f"{path}.artifact", f"missing or unreadable artifact {file}: {exc}")
            return None, ""
        pinned = raw.get("sha256")
        if pinned != model.sha256:
            self.problem(
                f"{path}.sha256",
                f"expected the artifact's hash {model.sha256}, got {pinned!r} "
                "(pin the exact model the policy was approved with)",
            )
        return model, str(where)


def _spec_variables(c: _Checker, ref: Any) -> dict[str, str]:
    """The variables of a :mod:`fengkong.features` spec (a shipped name or a path), typed."""
    from fengkong.features import load_spec  # noqa: PLC0415 (only for policies that use one)
    from fengkong.features.spec import Aggregate  # noqa: PLC0415

    where = Path(str(ref))
    if not where.is_absolute() and c.base is not None and (c.base / where).is_file():
        where = c.base / where
    try:
        spec = load_spec(where if where.is_file() else str(ref))
    except (OSError, ValueError) as exc:
        c.problem("variables", f"expected a variable spec (a shipped name or a file): {exc}")
        return {}
    types = {}
    for v in spec.variables:
        kind = "number"
        if isinstance(v, Aggregate) and v.aggregation in ("last", "min", "max") and v.column:
            column_type = spec.sources[v.source].columns[v.column][1]
            kind = "text" if column_type == "str" else "number"
        types[v.name] = kind
    return types


def _inputs(c: _Checker, data: Mapping[str, Any]) -> list[InputSpec]:
    """Declared inputs, then (optional, typed) every variable of the features spec named by
    ``variables`` and every graph feature when ``graph_features`` is true."""
    inputs = []
    for name, declared in (data.get("inputs") or {}).items():
        raw = declared or {}
        t = raw.get("type")
        if t not in TYPES:
            c.problem(f"inputs.{name}.type", f"expected one of {sorted(TYPES)}, got {t!r}")
            continue
        cats = tuple(raw.get("categories") or ())
        if cats and t != "text":
            c.problem(f"inputs.{name}.categories", "categories are for text inputs")
        inputs.append(InputSpec(str(name), t, bool(raw.get("required", True)), cats))
    declared = {s.name for s in inputs}
    provided: dict[str, str] = {}
    if data.get("variables"):
        provided |= _spec_variables(c, data["variables"])
    if data.get("graph_features"):
        from fengkong.graph import feature_names  # noqa: PLC0415 (only when asked for)

        provided |= feature_names()
    inputs += [InputSpec(n, t, False) for n, t in provided.items() if n not in declared]
    return inputs


def _arms(c: _Checker, raw: Any) -> ArmNode | None:
    if not raw:
        return None
    shares = raw.get("shares") or {}
    try:
        bp = tuple((str(arm), round(float(share) * 100)) for arm, share in shares.items())
    except (TypeError, ValueError):
        c.problem("arms.shares", f"expected percentages per arm, got {shares!r}")
        return None
    if not bp or sum(b for _, b in bp) != 10_000 or any(b <= 0 for _, b in bp):
        c.problem("arms.shares", f"expected positive percentages summing to 100, got {shares!r}")
        return None
    if not raw.get("key"):
        c.problem("arms.key", "expected the input whose hash picks the arm (an id)")
        return None
    return ArmNode(str(raw["key"]), str(raw.get("salt", "")), bp)


def _tree(c: _Checker, name: str, raw: Any) -> TreeNode | None:
    outputs = [str(o) for o in (raw or {}).get("outputs") or ()]
    leaves: list[str] = []

    def walk(node: Any, path: str) -> tuple[str, dict[str, str]] | None:
        if not isinstance(node, Mapping):
            c.problem(path, "expected a branch {if, then, else} or a leaf {leaf, set}")
            return None
        if "if" in node:
            test = c.expr(f"{path}.if", node["if"])
            yes, no = walk(node.get("then"), f"{path}.then"), walk(node.get("else"), f"{path}.else")
            if test is None or yes is None or no is None:
                return None
            cond = f"({test.text})"
            return (
                f"({yes[0]}) if {cond} else ({no[0]})",
                {o: f"({yes[1][o]}) if {cond} else ({no[1][o]})" for o in outputs},
            )
        leaf, values = node.get("leaf"), dict(node.get("set") or {})
        if leaf is None or leaf in leaves:
            c.problem(f"{path}.leaf", f"expected a unique leaf id, got {leaf!r}")
            return None
        leaves.append(str(leaf))
        if sorted(values) != sorted(outputs):
            c.problem(
                f"{path}.set", f"expected exactly the outputs {outputs}, got {sorted(values)}"
            )
            return None
        return repr(str(leaf)), {o: repr(values[o]) for o in outputs}

    found = walk((raw or {}).get("root"), f"trees.{name}.root")
    if found is None:
        return None
    leaf = c.expr(f"trees.{name}", found[0])
    exprs = [(o, c.expr(f"trees.{name}", text)) for o, text in found[1].items()]
    if leaf is None or any(e is None for _, e in exprs):
        return None
    return TreeNode(name, leaf, tuple((o, e) for o, e in exprs if e is not None))


def _nodes(c: _Checker, data: Mapping[str, Any]) -> list[tuple[str, Node]]:
    """Every value node with the path it came from (unordered)."""
    nodes: list[tuple[str, Node]] = []
    arm = _arms(c, data.get("arms"))
    if arm is not None:
        nodes.append(("arms", arm))
    for name, text in (data.get("derived") or {}).items():
        expr = c.expr(f"derived.{name}", text)
        if expr is not None:
            nodes.append((f"derived.{name}", DerivedNode(str(name), expr)))
    for name, raw in (data.get("scorecards") or {}).items():
        model, where = c.artifact(f"scorecards.{name}", raw, ScorecardModel.load)
        if model is not None:
            n = int(raw.get("reasons", 4))
            nodes.append(
                (f"scorecards.{name}", ScorecardNode(str(name), model, where, model.sha256, n))
            )
    for name, raw in (data.get("models") or {}).items():
        model, where = c.artifact(f"models.{name}", raw, GBMArtifact.load)
        if model is not None:
            n = int(raw.get("reasons", 4))
            nodes.append((f"models.{name}", ModelNode(str(name), model, where, model.sha256, n)))
    for name, raw in (data.get("tables") or {}).items():
        try:
            table = DecisionTable.from_dict(raw, name=str(name))
        except ValueError as exc:
            c.problem(f"tables.{name}", str(exc))
            continue
        nodes.append((f"tables.{name}", TableNode(table)))
    for name, raw in (data.get("trees") or {}).items():
        tree = _tree(c, str(name), raw)
        if tree is not None:
            nodes.append((f"trees.{name}", tree))
    return nodes


def _order(c: _Checker, inputs: list[InputSpec], nodes: list[tuple[str, Node]]) -> list[Node]:
    """Nodes sorted so each runs after what it reads; unknown names and cycles reported."""
    provider: dict[str, str] = {s.name: "inputs" for s in inputs}
    for path, node in nodes:
        for var in node.provides:
            if var in provider:
                c.problem(path, f"{var!r} is already defined by {provider[var]}")
            provider[var] = path
    by_path = dict(nodes)
    done: set[str] = {"inputs"}
    order: list[Node] = []
    pending = [p for p, _ in nodes]
    for path, node in nodes:
        unknown = sorted(n for n in node.reads if n not in provider)
        if unknown:
            c.problem(path, f"unknown variables {unknown}")
    while pending:
        ready = [
            p for p in pending if all(provider.get(n, "inputs") in done for n in by_path[p].reads)
        ]
        if not ready:
            c.problem(pending[0], f"a cycle: {' -> '.join(sorted(pending))} read each other")
            break
        for p in ready:
            order.append(by_path[p])
            done.add(p)
        pending = [p for p in pending if p not in done]
    never_null = frozenset(
        n.provides[0] for _, n in nodes if isinstance(n, ScorecardNode | ModelNode)
    )
    for path, node in nodes:
        if isinstance(node, TableNode) and not any(pr.path.startswith(path) for pr in c.problems):
            c.problems.extend(check_table(node.table, file=c.file, never_null=never_null))
    return order


def _types(c: _Checker, inputs: list[InputSpec], nodes: list[tuple[str, Node]]) -> None:
    """Model features must read inputs of a matching type (numbers vs categories)."""
    types = {s.name: s.type for s in inputs}
    for path, node in nodes:
        if isinstance(node, ScorecardNode):
            kinds = {v.name: v.table.kind for v in node.model.variables}
        elif isinstance(node, ModelNode):
            kinds = {
                f: "categorical" if f in node.model.categories else "numeric"
                for f in node.model.features
            }
        else:
            continue
        for feature, kind in kinds.items():
            declared = types.get(feature)
            if declared is None:
                continue
            wanted = ("number", "integer", "boolean") if kind == "numeric" else ("text",)
            if declared not in wanted:
                c.problem(
                    path,
                    f"type mismatch: {feature!r} is a {kind} feature of the model, "
                    f"but the input is declared {declared} (expected {' or '.join(wanted)})",
                )


def _is_condition(node: ast.expr, types: Mapping[str, str]) -> bool:
    """Whether an expression gives true/false/null (so both backends read it alike)."""
    if isinstance(node, ast.Compare | ast.BoolOp) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    ):
        return True
    if isinstance(node, ast.Constant):
        return node.value is None or isinstance(node.value, bool)
    if isinstance(node, ast.Name):
        return types.get(node.id, "boolean") == "boolean"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id == "is_null" or (
            node.func.id == "coalesce" and all(_is_condition(a, types) for a in node.args)
        )
    if isinstance(node, ast.IfExp):
        return _is_condition(node.body, types) and _is_condition(node.orelse, types)
    return False


def _rules(
    c: _Checker, data: Mapping[str, Any], known: set[str], types: Mapping[str, str]
) -> list[Rule]:
    rules, seen = [], set()
    for k, raw in enumerate(data.get("rules") or ()):
        where = f"rules.{k}"
        rid, action = raw.get("id"), raw.get("action")
        if not rid or rid in seen:
            c.problem(f"{where}.id", f"expected a unique rule id, got {rid!r}")
        seen.add(str(rid))
        if action not in ACTIONS:
            c.problem(f"{where}.action", f"expected one of {ACTIONS}, got {action!r}")
        expr = c.expr(f"{where}.when", raw.get("when"))
        if expr is None:
            continue
        unknown = sorted(expr.names - known)
        if unknown:
            c.problem(f"{where}.when", f"unknown variables {unknown}")
        if not _is_condition(expr._tree, types):
            c.problem(
                f"{where}.when",
                f"type mismatch: {expr.text!r} is not a condition (expected a comparison, "
                "and/or/not, in, is_null or a boolean variable)",
            )
        rules.append(Rule(str(rid), expr, str(action)))
    return rules


def _pricing(c: _Checker, raw: Any, known: set[str], inputs: list[InputSpec]) -> PricingNode | None:
    if not raw:
        return None
    exprs = {
        k: c.expr(f"pricing.{k}", raw.get(k)) for k in ("amount_fen", "annual_rate", "term_months")
    }
    for k, e in exprs.items():
        if e is not None and e.names - known:
            c.problem(f"pricing.{k}", f"unknown variables {sorted(e.names - known)}")
    date = str(raw.get("date"))
    if not any(s.name == date and s.type == "date" for s in inputs):
        c.problem("pricing.date", f"expected a date input (the contract date), got {date!r}")
    on_breach = raw.get("on_breach", "refer")
    if on_breach not in ACTIONS:
        c.problem("pricing.on_breach", f"expected one of {ACTIONS}, got {on_breach!r}")
    missing = [k for k in ("product", "jurisdiction", "lender_type") if not raw.get(k)]
    for k in missing:
        c.problem(f"pricing.{k}", "expected a value")
    if missing or any(e is None for e in exprs.values()):
        return None
    from fengkong.policy.pricing import _product  # noqa: PLC0415 (catalogue read on demand)
    from fengkong.servicing.caps import _caps  # noqa: PLC0415 (only for a check)

    try:
        _product(str(raw["product"]))
    except ValueError as exc:
        c.problem("pricing.product", str(exc))
    known_sets = sorted({(rs.jurisdiction, rs.lender_type) for rs in _caps().rule_sets})
    wanted = (str(raw["jurisdiction"]), str(raw["lender_type"]))
    if wanted not in known_sets and (wanted[0], "any") not in known_sets:
        c.problem("pricing.lender_type", f"expected one of {known_sets}, got {wanted}")
    return PricingNode(
        str(raw["product"]),
        str(raw["jurisdiction"]),
        str(raw["lender_type"]),
        exprs["amount_fen"],  # type: ignore[arg-type]
        exprs["annual_rate"],  # type: ignore[arg-type]
        exprs["term_months"],  # type: ignore[arg-type]
        date,
        str(on_breach),
    )


def check_policy(
    data: Mapping[str, Any], *, file: str = "<policy>", base: Path | None = None
) -> tuple[Policy | None, list[Problem]]:
    """Build a policy from parsed YAML; every problem at once (with file and dotted path).

    ``base`` is the folder artifact paths are relative to (the policy file's folder).
    """
    c = _Checker(file, base)
    if data.get("schema_version") != 1:
        c.problem("schema_version", f"expected 1, got {data.get('schema_version')!r}")
    for key in sorted(set(data) - set(_KEYS)):
        c.problem(key, f"unknown key (expected one of {sorted(_KEYS)})")
    inputs = _inputs(c, data)
    nodes = _nodes(c, data)
    _types(c, inputs, nodes)
    order = _order(c, inputs, nodes)
    known = {s.name for s in inputs} | {v for n in order for v in n.provides}
    types = {s.name: s.type for s in inputs}
    types |= {n.provides[0]: "number" for n in order if isinstance(n, ScorecardNode | ModelNode)}
    rules = _rules(c, data, known, types)
    outputs = []
    for name, text in (data.get("outputs") or {}).items():
        expr = c.expr(f"outputs.{name}", text)
        if expr is None:
            continue
        if expr.names - known:
            c.problem(f"outputs.{name}", f"unknown variables {sorted(expr.names - known)}")
        if name in known:
            c.problem(f"outputs.{name}", f"{name!r} is already a variable; name the output apart")
        outputs.append((str(name), expr))
    pricing = _pricing(c, data.get("pricing"), known | {n for n, _ in outputs}, inputs)
    if pricing is not None and any(n == "apr" for n, _ in outputs):
        c.problem("outputs.apr", "'apr' is set by the pricing step")
    if c.problems:
        return None, c.problems
    policy = Policy(
        variable_spec=str(data["variables"]) if data.get("variables") else None,
        graph_features=bool(data.get("graph_features")),
        name=str(data.get("name", "policy")),
        version=str(data.get("version", "1")),
        inputs=tuple(inputs),
        nodes=tuple(order),
        rules=tuple(rules),
        outputs=tuple(outputs),
        pricing=pricing,
        sha256=content_hash(data),
    )
    return policy, []


def load_policy(source: str | Path | Mapping[str, Any]) -> Policy:
    """A checked policy from a YAML file or a parsed mapping; ``ConfigError`` lists problems.

    Problems from a file carry its name and the line of the path they point at.
    """
    if isinstance(source, Mapping):
        policy, problems = check_policy(source, file="<policy>")
        if problems or policy is None:
            raise ConfigError(problems)
        return policy
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([Problem(path.name, "", f"cannot read the policy: {exc}")]) from exc
    if not isinstance(data, dict):
        raise ConfigError([Problem(path.name, "", "expected a mapping")])
    policy, problems = check_policy(data, file=path.name, base=path.parent)
    if problems or policy is None:
        lines = yaml_lines(text)
        raise ConfigError([replace(p, line=line_of(lines, p.path)) for p in problems])
    return policy
