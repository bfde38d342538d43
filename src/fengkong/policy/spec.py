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

import graphlib
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from fengkong._yaml_strict import strict_yaml
from fengkong.errors import ConfigError, Problem
from fengkong.expression import Expression, ExpressionLimits, parse_expression
from fengkong.expression._typing import INT64_MAX, INT64_MIN
from fengkong.modeling.artifact import ScorecardModel
from fengkong.modeling.gbm import GBMArtifact
from fengkong.policy._lines import line_of, yaml_lines
from fengkong.policy._names import label_problem, name_problem
from fengkong.policy._typecheck import TypeEnv, typed_expr, typed_nodes
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
from fengkong.policy.table import DecisionTable, as_type, output_types, parse_cell

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


_MAX_ARTIFACT_BYTES = 512 * 2**20


class _Checker:
    """Collects problems while building nodes."""

    def __init__(self, file: str, base: Path | None, limits: ExpressionLimits) -> None:
        self.file = file
        self.base = base
        self.limits = limits
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message))

    def name(self, path: str, value: Any, *, reading: bool = False) -> str | None:
        """A variable name, or None (with a problem) when it is not one (see
        :func:`name_problem`)."""
        why = name_problem(value, reading=reading)
        if why is not None:
            self.problem(path, why)
            return None
        return str(value)

    def label(self, path: str, value: Any, what: str) -> str | None:
        """A rule id, arm or leaf label, or None (with a problem)."""
        why = label_problem(value, what)
        if why is not None:
            self.problem(path, why)
            return None
        return str(value)

    def unknown_keys(self, path: str, raw: Mapping[str, Any], known: tuple[str, ...]) -> None:
        """A problem for every key of ``raw`` not in ``known`` (a typo must not be ignored)."""
        for key in sorted(set(raw) - set(known), key=str):
            where = f"{path}.{key}" if path else str(key)
            self.problem(where, f"unknown key (expected one of {list(known)})")

    def description(self, path: str, raw: Mapping[str, Any]) -> None:
        """An optional ``description`` must be text."""
        if not isinstance(raw.get("description", ""), str):
            where = f"{path}.description" if path else "description"
            self.problem(where, f"expected a text, got {raw['description']!r:.60}")

    def mapping(self, path: str, raw: Any) -> Mapping[str, Any]:
        """A mapping section (absent is empty); anything else is a problem."""
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.problem(path, f"expected a mapping, got {type(raw).__name__}")
            return {}
        return raw

    def expr(
        self, path: str, text: Any, limits: ExpressionLimits | None = None
    ) -> Expression | None:
        if isinstance(text, bool) or not isinstance(text, str | int | float):
            self.problem(path, f"expected an expression, got {text!r}")
            return None
        try:
            return parse_expression(str(text), dialect="policy", limits=limits or self.limits)
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
            if not file.is_file() or file.stat().st_size > _MAX_ARTIFACT_BYTES:
                raise ValueError(
                    f"expected a saved model file of at most {_MAX_ARTIFACT_BYTES:,} bytes"
                )
            model = loader(file)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # the loaders read untrusted JSON: a wrong shape is a problem, never a crash
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
    from fengkong.features.spec import Aggregate, builtin_specs  # noqa: PLC0415

    if not isinstance(ref, str):
        c.problem("variables", f"expected a shipped spec's name or a file, got {ref!r:.60}")
        return {}
    where = Path(ref)
    if not where.is_absolute() and c.base is not None and (c.base / where).is_file():
        where = c.base / where
    if ref not in builtin_specs() and not where.is_file():
        c.problem("variables", f"expected a shipped spec's name or a file, got {ref!r:.60}")
        return {}
    try:
        spec = load_spec(where if where.is_file() else ref)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        # a spec file of the wrong shape is a problem here, never a crash
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


_INPUT_KEYS = ("type", "required", "categories", "min", "max", "description")


def _bound(c: _Checker, path: str, kind: str, value: Any) -> int | float | None:
    """A declared ``min``/``max``: an integer for an integer input, a finite number for a
    number input (as a float, the type the input's values take)."""
    if value is None:
        return None
    if kind not in ("integer", "number"):
        c.problem(path, f"bounds are for number and integer inputs, not {kind}")
        return None
    wanted = (int,) if kind == "integer" else (int, float)
    fits = isinstance(value, wanted) and not isinstance(value, bool)
    if fits and isinstance(value, int):
        fits = INT64_MIN <= value <= INT64_MAX
    elif fits:
        fits = math.isfinite(value)
    if not fits:
        what = "an integer" if kind == "integer" else "a finite number"
        c.problem(path, f"expected {what} within 64 bits, got {value!r}")
        return None
    return float(value) if kind == "number" else value


def _input(c: _Checker, name: Any, declared: Any) -> InputSpec | None:
    path = f"inputs.{name}"
    ok = c.name(path, name)
    raw = c.mapping(path, declared)
    c.unknown_keys(path, raw, _INPUT_KEYS)
    t = raw.get("type")
    if not isinstance(t, str) or t not in TYPES:
        c.problem(f"{path}.type", f"expected one of {sorted(TYPES)}, got {t!r}")
        return None
    cats = raw.get("categories") or ()
    if cats and (t != "text" or not isinstance(cats, list | tuple)):
        c.problem(f"{path}.categories", "categories are a list of texts, for text inputs")
        cats = ()
    for k, cat in enumerate(cats):
        if not isinstance(cat, str):
            c.problem(f"{path}.categories.{k}", f"expected a text, got {cat!r}")
    c.description(path, raw)
    required = raw.get("required", True)
    if not isinstance(required, bool):
        c.problem(f"{path}.required", f"expected true or false, got {required!r}")
    low, high = (
        _bound(c, f"{path}.min", t, raw.get("min")),
        _bound(c, f"{path}.max", t, raw.get("max")),
    )
    if low is not None and high is not None and low > high:
        c.problem(f"{path}.min", f"expected min <= max, got {low} > {high}")
    if ok is None:
        return None
    return InputSpec(ok, t, bool(required), tuple(str(x) for x in cats), low, high)


def _inputs(c: _Checker, data: Mapping[str, Any]) -> list[InputSpec]:
    """Declared inputs, then (optional, typed) every variable of the features spec named by
    ``variables`` and every graph feature when ``graph_features`` is true."""
    inputs = []
    for name, declared in c.mapping("inputs", data.get("inputs")).items():
        spec = _input(c, name, declared)
        if spec is not None:
            inputs.append(spec)
    declared_names = {s.name for s in inputs}
    provided: dict[str, str] = {}
    if data.get("variables"):
        provided |= _spec_variables(c, data["variables"])
    if data.get("graph_features"):
        from fengkong.graph import feature_names  # noqa: PLC0415 (only when asked for)

        provided |= feature_names()
    for n, t in provided.items():
        if n not in declared_names and c.name("variables", n) is not None:
            inputs.append(InputSpec(n, t, False))
    return inputs


_ARM_KEYS = ("unit", "salt", "shares")


def _arms(c: _Checker, raw: Any) -> ArmNode | None:
    raw = c.mapping("arms", raw)
    if not raw:
        return None
    c.unknown_keys("arms", raw, _ARM_KEYS)
    if "key" in raw:
        c.problem("arms.key", "arms are keyed on a unit now: `unit: person_id`")
    shares = c.mapping("arms.shares", raw.get("shares"))
    try:
        bp = tuple((arm, round(float(share) * 100)) for arm, share in shares.items())
    except (TypeError, ValueError, OverflowError):
        c.problem("arms.shares", f"expected percentages per arm, got {shares!r}")
        return None
    if not bp or sum(b for _, b in bp) != 10_000 or any(b <= 0 for _, b in bp):
        c.problem("arms.shares", f"expected positive percentages summing to 100, got {shares!r}")
        return None
    arms = [c.label(f"arms.shares.{arm}", arm, "an arm name") for arm, _ in bp]
    unit = c.name("arms.unit", raw.get("unit", "person_id"))
    salt = raw.get("salt")
    if not isinstance(salt, str) or not salt or len(salt.encode()) > 64:
        c.problem("arms.salt", f"expected a text of 1 to 64 bytes (the draw's key), got {salt!r}")
        return None
    if unit is None or None in arms:
        return None
    return ArmNode(unit, salt, bp)


_TREE_KEYS = ("outputs", "root", "description")


def _tree(c: _Checker, name: str, raw: Any) -> TreeNode | None:
    """A tree as one expression per output and one for the leaf id (nested if/else); each
    test is kept with its path, so a test of the wrong type is reported where it is."""
    where = f"trees.{name}"
    raw = c.mapping(where, raw)
    c.unknown_keys(where, raw, _TREE_KEYS)
    c.description(where, raw)
    listed = raw.get("outputs") or []
    if not isinstance(listed, list | tuple):
        c.problem(f"{where}.outputs", f"expected a list of names, got {listed!r:.60}")
        return None
    outputs = [str(o) for o in listed if c.name(f"{where}.outputs", o)]
    leaves: list[str] = []
    tests: list[tuple[str, Expression]] = []
    values: dict[str, list[tuple[str, Any]]] = {o: [] for o in outputs}
    depth_limit = c.limits.max_depth

    def walk(node: Any, path: str, depth: int) -> tuple[Any, ...] | None:  # noqa: PLR0911
        """The tree checked: ``("if", test, then, else)`` or ``("leaf", id, values)``."""
        if depth > depth_limit:
            c.problem(path, f"the tree is deeper than {depth_limit} levels")
            return None
        if not isinstance(node, Mapping):
            c.problem(path, "expected a branch {if, then, else} or a leaf {leaf, set}")
            return None
        if "if" in node:
            c.unknown_keys(path, node, ("if", "then", "else"))
            test = c.expr(f"{path}.if", node["if"])
            yes = walk(node.get("then"), f"{path}.then", depth + 1)
            no = walk(node.get("else"), f"{path}.else", depth + 1)
            if test is None or yes is None or no is None:
                return None
            tests.append((f"{path}.if", test))
            return ("if", test, yes, no)
        c.unknown_keys(path, node, ("leaf", "set"))
        leaf, given = node.get("leaf"), c.mapping(f"{path}.set", node.get("set"))
        if c.label(f"{path}.leaf", leaf, "a leaf id") is None or leaf in leaves:
            c.problem(f"{path}.leaf", f"expected a unique leaf id, got {leaf!r}")
            return None
        leaves.append(str(leaf))
        if sorted(given, key=str) != sorted(outputs):
            c.problem(
                f"{path}.set",
                f"expected exactly the outputs {outputs}, got {sorted(given, key=str)}",
            )
            return None
        for o in outputs:
            values[o].append((f"{path}.set.{o}", given[o]))
        return ("leaf", str(leaf), {o: given[o] for o in outputs})

    found = walk(raw.get("root"), f"{where}.root", 1)
    if found is None:
        return None
    types, bad = output_types(values)
    for path, message in bad:
        c.problem(path, message)
    if bad:
        return None

    def text(node: tuple[Any, ...], output: str | None) -> str:
        """One output's expression (the leaf id for None): each leaf's value in the
        output's type (an integer in a number output is a float), ``repr`` for literals."""
        if node[0] == "if":
            yes, no = text(node[2], output), text(node[3], output)
            # the test was parsed alone, so it is one whole expression; the line break ends
            # any comment it holds before the rest of the tree
            return f"({yes}) if ({node[1].text}\n) else ({no})"
        if output is None:
            return repr(node[1])
        value = as_type(node[2][output], types[output])
        return (
            "(-9223372036854775807 - 1)"
            if value == INT64_MIN and type(value) is int
            else repr(value)
        )

    # the tree as one expression per output: its tests nested once per level, so the levels
    # and the deepest test together stay within the depth limit (the text and node count
    # grow with the leaves and are bounded by the file)
    inner = ExpressionLimits(max_chars=2**62, max_depth=c.limits.max_depth, max_nodes=2**62)
    leaf = c.expr(where, text(found, None), inner)
    exprs = [(o, c.expr(where, text(found, o), inner)) for o in outputs]
    if leaf is None or any(e is None for _, e in exprs):
        return None
    return TreeNode(
        name, leaf, tuple((o, e) for o, e in exprs if e is not None), tests=tuple(tests)
    )


def _models(c: _Checker, data: Mapping[str, Any]) -> list[tuple[str, Node]]:
    nodes: list[tuple[str, Node]] = []
    for section, kind, loader in (
        ("scorecards", ScorecardNode, ScorecardModel.load),
        ("models", ModelNode, GBMArtifact.load),
    ):
        for name, raw in c.mapping(section, data.get(section)).items():
            path = f"{section}.{name}"
            ok = c.name(path, name)
            if isinstance(raw, Mapping):
                c.unknown_keys(path, raw, ("artifact", "sha256", "reasons", "description"))
                c.description(path, raw)
            model, where = c.artifact(path, raw, loader)
            n = raw.get("reasons", 4) if isinstance(raw, Mapping) else 4
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 100:
                c.problem(f"{path}.reasons", f"expected a count from 0 to 100, got {n!r}")
                continue
            if model is not None and ok is not None:
                nodes.append((path, kind(ok, model, where, model.sha256, n)))
    return nodes


_TABLE_KEYS = ("hit", "inputs", "outputs", "rows", "description")


def _table_rows(c: _Checker, path: str, raw: Mapping[str, Any]) -> None:
    """Every row's shape and cells, each problem at its own path."""
    inputs, outputs = list(raw.get("inputs") or ()), list(raw.get("outputs") or ())
    rows = raw.get("rows")
    if not isinstance(rows, list | tuple):
        c.problem(f"{path}.rows", f"expected a list of rows {{when, then}}, got {rows!r:.60}")
        return
    if not rows:
        c.problem(f"{path}.rows", "expected at least one row")
    for k, row in enumerate(rows):
        where = f"{path}.rows.{k}"
        if not isinstance(row, Mapping):
            c.problem(where, f"expected a row {{when, then}}, got {row!r:.60}")
            continue
        c.unknown_keys(where, row, ("when", "then"))
        when = row.get("when") or {}
        if not isinstance(when, Mapping):
            c.problem(f"{where}.when", f"expected a cell per input, got {when!r:.60}")
        else:
            for name, cell in when.items():
                at = f"{where}.when.{name}"
                if name not in inputs:
                    c.problem(at, f"unknown input (expected one of {inputs})")
                elif isinstance(cell, bool) or not isinstance(cell, str | int | float | None):
                    c.problem(at, f"expected a cell like '< 18' or 'in [a, b]', got {cell!r:.60}")
                else:
                    try:
                        parse_cell(cell)
                    except ValueError as exc:
                        c.problem(at, str(exc))
        then = row.get("then")
        if not isinstance(then, Mapping) or sorted(then, key=str) != sorted(outputs, key=str):
            got = sorted(then, key=str) if isinstance(then, Mapping) else then
            c.problem(f"{where}.then", f"expected exactly the outputs {outputs}, got {got!r:.80}")


def _table(c: _Checker, name: Any, raw: Any) -> TableNode | None:
    path = f"tables.{name}"
    ok = c.name(path, name)
    raw = c.mapping(path, raw)
    before = len(c.problems)
    c.unknown_keys(path, raw, _TABLE_KEYS)
    c.description(path, raw)
    if raw.get("hit", "first") not in ("first", "collect"):
        c.problem(f"{path}.hit", f"expected first or collect, got {raw['hit']!r:.40}")
    for k in ("inputs", "outputs"):
        items = raw.get(k) or ()
        if not isinstance(items, list | tuple):
            c.problem(f"{path}.{k}", f"expected a list of names, got {items!r:.60}")
            return None
        if len(set(map(str, items))) != len(items):
            c.problem(f"{path}.{k}", f"expected distinct names, got {items!r:.80}")
        for item in items:
            c.name(f"{path}.{k}", item, reading=k == "inputs")
    _table_rows(c, path, raw)
    if len(c.problems) > before or ok is None:
        return None
    return TableNode(DecisionTable.from_dict(raw, name=str(name)))


def _nodes(c: _Checker, data: Mapping[str, Any]) -> list[tuple[str, Node]]:
    """Every value node with the path it came from (unordered)."""
    nodes: list[tuple[str, Node]] = []
    arm = _arms(c, data.get("arms"))
    if arm is not None:
        nodes.append(("arms", arm))
    for name, text in c.mapping("derived", data.get("derived")).items():
        ok = c.name(f"derived.{name}", name)
        expr = c.expr(f"derived.{name}", text)
        if expr is not None and ok is not None:
            nodes.append((f"derived.{name}", DerivedNode(ok, expr)))
    nodes += _models(c, data)
    for name, raw in c.mapping("tables", data.get("tables")).items():
        table = _table(c, name, raw)
        if table is not None:
            nodes.append((f"tables.{name}", table))
    for name, raw in c.mapping("trees", data.get("trees")).items():
        ok = c.name(f"trees.{name}", name)
        tree = _tree(c, str(name), raw)
        if tree is not None and ok is not None:
            nodes.append((f"trees.{name}", tree))
    return nodes


def _order(
    c: _Checker, inputs: list[InputSpec], nodes: list[tuple[str, Node]]
) -> list[tuple[str, Node]]:
    """Nodes sorted so each runs after what it reads; unknown names and cycles reported."""
    provider: dict[str, str] = {s.name: "inputs" for s in inputs}
    for path, node in nodes:
        for var in node.provides:
            why = None if isinstance(node, ArmNode) else name_problem(var)
            if why is not None:  # e.g. table `rule` with output `x` gives `rule_x`
                c.problem(path, f"gives the variable {var!r}: {why}")
            if var in provider:
                c.problem(path, f"{var!r} is already defined by {provider[var]}")
            provider[var] = path
    by_path = dict(nodes)
    for path, node in nodes:
        unknown = sorted(n for n in node.reads if n not in provider)
        if unknown:
            c.problem(path, f"unknown variables {unknown}")
    # a topological sort, linear in the nodes (a chain of 30,000 derived values included)
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for path, node in nodes:
        sorter.add(
            path, *{provider[n] for n in node.reads if provider.get(n, "inputs") != "inputs"}
        )
    try:
        order = [(p, by_path[p]) for p in sorter.static_order()]
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        c.problem(cycle[0], f"a cycle: {' -> '.join(cycle)} read each other")
        return []
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


_RULE_KEYS = ("id", "when", "action", "description")


def _rules(c: _Checker, data: Mapping[str, Any], env: TypeEnv) -> list[Rule]:
    rules, seen = [], set()
    raw_rules = data.get("rules") or ()
    if not isinstance(raw_rules, list | tuple):
        c.problem("rules", f"expected a list of rules, got {type(raw_rules).__name__}")
        return []
    for k, given in enumerate(raw_rules):
        where = f"rules.{k}"
        raw = c.mapping(where, given)
        c.unknown_keys(where, raw, _RULE_KEYS)
        c.description(where, raw)
        rid, action = raw.get("id"), raw.get("action")
        if c.label(f"{where}.id", rid, "a rule id") is not None:
            if rid in seen:
                c.problem(f"{where}.id", f"expected a unique rule id, got {rid!r}")
            seen.add(rid)
        if action not in ACTIONS:
            c.problem(f"{where}.action", f"expected one of {ACTIONS}, got {action!r}")
        expr = c.expr(f"{where}.when", raw.get("when"))
        if expr is None:
            continue
        unknown = env.unknown(expr.names)
        if unknown:
            c.problem(f"{where}.when", f"unknown variables {unknown}")
            continue
        typed = typed_expr(c.problem, f"{where}.when", expr, env, want=("boolean",))
        if typed is not None:
            rules.append(Rule(str(rid), typed, str(action)))
    return rules


def _outputs(c: _Checker, data: Mapping[str, Any], env: TypeEnv) -> list[tuple[str, Expression]]:
    outputs = []
    for name, text in c.mapping("outputs", data.get("outputs")).items():
        path = f"outputs.{name}"
        ok, expr = c.name(path, name), c.expr(path, text)
        if expr is None or ok is None:
            continue
        if env.unknown(expr.names):
            c.problem(path, f"unknown variables {env.unknown(expr.names)}")
            continue
        if name in env:
            c.problem(path, f"{name!r} is already a variable; name the output apart")
            continue
        typed = typed_expr(c.problem, path, expr, env)
        if typed is None:
            env.broken.add(ok)
        else:
            outputs.append((ok, typed))
    return outputs


_PRICING_KEYS = (
    "product",
    "jurisdiction",
    "lender_type",
    "amount_fen",
    "annual_rate",
    "term_months",
    "date",
    "on_breach",
)


def _pricing(c: _Checker, raw: Any, env: TypeEnv, inputs: list[InputSpec]) -> PricingNode | None:
    raw = c.mapping("pricing", raw)
    if not raw:
        return None
    c.unknown_keys("pricing", raw, _PRICING_KEYS)
    exprs: dict[str, Expression | None] = {}
    for k in ("amount_fen", "annual_rate", "term_months"):
        e = c.expr(f"pricing.{k}", raw.get(k))
        if e is not None and env.unknown(e.names):
            c.problem(f"pricing.{k}", f"unknown variables {env.unknown(e.names)}")
            e = None
        if e is not None:
            e = typed_expr(c.problem, f"pricing.{k}", e, env, want=("integer", "number"))
        exprs[k] = e
    date = raw.get("date")
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
        str(date),
        str(on_breach),
    )


_MAX_NESTING = 100  # containers inside containers (a 60-level tree needs about 70)
_MAX_INT_BITS = 128  # wider integers are no policy's value (and too long to print safely)
_MAX_VALUES = 1_000_000  # keys, values and items in the whole file


def _shape_problems(c: _Checker, data: Mapping[str, Any]) -> bool:
    """The file's shape before any meaning: every key a text, every text valid Unicode
    without NUL (a lone surrogate, possible in JSON, or a NUL reaches no backend), nesting
    and size within bounds (a mapping built in Python may share or nest its parts without
    end). Stops at the first bound crossed. True when the rest of the file must not be
    read (a key that is not text is reported and the checks go on, naming what reads it)."""
    stack: list[tuple[str, Any, int]] = [("", data, 1)]
    seen, stop = 0, False
    while stack:
        path, value, depth = stack.pop()
        seen += 1
        if seen > _MAX_VALUES:
            c.problem(path, f"the policy holds more than {_MAX_VALUES:,} values")
            return True
        if isinstance(value, Mapping | list | tuple) and depth > _MAX_NESTING:
            c.problem(path, f"nested more than {_MAX_NESTING} levels deep")
            return True
        if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
            c.problem(path, f"expected a number, got an integer of {value.bit_length():,} bits")
            stop = True
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    shown = (
                        f"{key.bit_length():,} bits"
                        if isinstance(key, int) and key.bit_length() > _MAX_INT_BITS
                        else f"{key!r:.40}"
                    )
                    c.problem(
                        f"{path}.?" if path else "?",
                        f"expected a text key, got {type(key).__name__} {shown}",
                    )
                    stop = stop or shown.endswith(" bits")
                    continue
                where = f"{path}.{key}" if path else key
                if _bad_text(key):
                    c.problem(where, f"expected valid text without NUL, got {key[:40]!r}")
                    stop = True
                stack.append((where, item, depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((f"{path}.{k}", item, depth + 1) for k, item in enumerate(value))
        elif isinstance(value, str) and _bad_text(value):
            c.problem(path, f"expected valid text without NUL, got {value[:40]!r}")
            stop = True
    return stop


def _bad_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return "\x00" in text


def check_policy(
    data: Mapping[str, Any],
    *,
    file: str = "<policy>",
    base: Path | None = None,
    limits: ExpressionLimits | None = None,
) -> tuple[Policy | None, list[Problem]]:
    """Build a policy from parsed YAML; every problem at once (with file and dotted path).

    ``base`` is the folder artifact paths are relative to (the policy file's folder);
    ``limits`` bounds every expression (default :class:`~fengkong.expression.ExpressionLimits`).
    """
    c = _Checker(file, base, limits or ExpressionLimits())
    if not isinstance(data, Mapping):
        c.problem("", f"expected a mapping, got {type(data).__name__}")
        return None, c.problems
    if _shape_problems(c, data):  # a shape no backend can hold: stop before reading it
        return None, c.problems
    schema = data.get("schema_version")
    if type(schema) is not int or schema != 1:
        c.problem("schema_version", f"expected 1, got {schema!r}")
    c.unknown_keys("", data, _KEYS)
    c.description("", data)
    name = c.label("name", data.get("name", "policy"), "a policy name")
    version = data.get("version", "1")
    if isinstance(version, bool) or not isinstance(version, str | int):
        c.problem("version", f"expected a text or a whole number, got {version!r}")
        version = None
    else:
        version = c.label("version", str(version), "a version")
    inputs = _inputs(c, data)
    nodes = _nodes(c, data)
    _types(c, inputs, nodes)
    order = _order(c, inputs, nodes)
    typed, env, table_problems = typed_nodes(c.problem, file, inputs, order)
    c.problems += table_problems
    rules = _rules(c, data, env)
    outputs = _outputs(c, data, env)
    for out_name, e in outputs:
        env.setdefault(out_name, e.type or "null")
    pricing = _pricing(c, data.get("pricing"), env, inputs)
    if pricing is not None and any(n == "apr" for n, _ in outputs):
        c.problem("outputs.apr", "'apr' is set by the pricing step")
    if c.problems or name is None or version is None:
        return None, c.problems
    policy = Policy(
        variable_spec=str(data["variables"]) if data.get("variables") else None,
        graph_features=bool(data.get("graph_features")),
        name=name,
        version=version,
        inputs=tuple(inputs),
        nodes=tuple(typed),
        rules=tuple(rules),
        outputs=tuple(outputs),
        pricing=pricing,
        sha256=content_hash(data),
    )
    return policy, []


def load_policy(
    source: str | Path | Mapping[str, Any], *, limits: ExpressionLimits | None = None
) -> Policy:
    """A checked policy from a YAML file or a parsed mapping; ``ConfigError`` lists problems.

    Problems from a file carry its name and the line of the path they point at.
    """
    if isinstance(source, Mapping):
        policy, problems = check_policy(source, file="<policy>", limits=limits)
        if problems or policy is None:
            raise ConfigError(problems)
        return policy
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
        data = strict_yaml(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = Problem(path.name, "", f"cannot read the policy: {exc}", line)
        raise ConfigError([problem]) from None
    if not isinstance(data, dict):
        raise ConfigError([Problem(path.name, "", "expected a mapping")])
    policy, problems = check_policy(data, file=path.name, base=path.parent, limits=limits)
    if problems or policy is None:
        lines = yaml_lines(text)
        raise ConfigError([replace(p, line=line_of(lines, p.path)) for p in problems])
    return policy
