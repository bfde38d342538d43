"""The real-time backend: one Python function generated from a policy's IR.

Every node becomes straight-line Python — input checks, expressions with their null rules
(:func:`fengkong.expression.python_source`), scorecard bins by ``bisect``, decision tables as
``if``/``elif`` chains of inline cell tests — so a decision costs about what hand-written
``if``/``else`` costs, with the audit record on. Nothing outside the checked IR reaches the
generated source: names come from validated expressions, values are literals or constants
bound by name. :meth:`fengkong.policy.Policy.source` shows the code.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fengkong.errors import InvalidArgumentError
from fengkong.expression import python_source
from fengkong.modeling._assign import category_map
from fengkong.modeling.single_row import SingleRowPredictor
from fengkong.policy.audit import AuditRecord, Decision
from fengkong.policy.nodes import (
    ArmNode,
    DerivedNode,
    InputSpec,
    ModelNode,
    ScorecardNode,
    TableNode,
    TreeNode,
    arm_of,
)
from fengkong.policy.pricing import price_offer
from fengkong.policy.table import Cell

if TYPE_CHECKING:
    from fengkong.policy.policy import Policy

__all__ = ["compile_row", "ranked_reasons", "row_source"]

_TYPE_BAD = {
    "number": "not ({v}.__class__ is int or {v}.__class__ is float or "
    "(isinstance({v}, (int, float)) and not isinstance({v}, bool)))",
    "integer": "not ({v}.__class__ is int or (isinstance({v}, int) and not isinstance({v}, bool)))",
    "text": "not isinstance({v}, str)",
    "boolean": "{v}.__class__ is not bool",
    "date": "not isinstance({v}, _date) or isinstance({v}, _datetime)",
}
_SIMPLE = (int, float, str, bool, type(None))


def ranked_reasons(lost: Any, codes: list[str], n: int) -> list[str]:
    """The codes of the ``n`` largest positive values of ``lost``, ties in variable order.

    >>> ranked_reasons([0, 5, 2, 5], ["A", "B", "C", "D"], 2)
    ['B', 'D']
    """
    order = sorted((-x, j) for j, x in enumerate(lost) if x > 0)
    return [codes[j] for _, j in order[:n]]


class _ModelRow:
    """One LightGBM model scored on one row: probability and per-feature contributions."""

    def __init__(self, node: ModelNode) -> None:
        self._probability = SingleRowPredictor(node.model._booster, "probability")
        self._contributions = SingleRowPredictor(node.model._booster, "contributions")
        self.codes = {
            f: {c: float(k) for k, c in enumerate(node.model.categories[f])}
            for f in node.model.features
            if f in node.model.categories
        }
        self.features = node.model.features
        self.reason_codes = node.reason_codes()
        self.n = node.n_reasons

    def matrix(self, values: tuple[Any, ...]) -> np.ndarray:
        row = []
        for f, v in zip(self.features, values, strict=True):
            codes = self.codes.get(f)
            if codes is not None:
                row.append(math.nan if v is None else codes.get(str(v), math.nan))
            else:
                row.append(math.nan if v is None else float(v))
        return np.array([row], dtype=np.float64)

    def probability(self, x: np.ndarray) -> float:
        return float(self._probability(x)[0])

    def contributions(self, x: np.ndarray) -> list[float]:
        out: list[float] = self._contributions(x).tolist()
        return out[:-1]

    def audit(self, contrib: list[float], probability: float) -> dict[str, Any]:
        top = sorted(range(len(contrib)), key=lambda j: -contrib[j])[: self.n]
        return {
            "probability": probability,
            "top_contributions": {self.features[j]: contrib[j] for j in top},
            "reasons": ranked_reasons(contrib, self.reason_codes, self.n),
        }


class _Gen:
    """Source lines and the constants they refer to by name."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {
            "_bisect": bisect.bisect_right,
            "_date": dt.date,
            "_datetime": dt.datetime,
            "_ns": time.perf_counter_ns,
            "_arm_of": arm_of,
            "_price": price_offer,
            "_ranked": ranked_reasons,
            "_Decision": Decision,
            "_Audit": AuditRecord,
            "_InvalidArgumentError": InvalidArgumentError,
        }

    def const(self, value: Any) -> str:
        if isinstance(value, _SIMPLE) and not (
            isinstance(value, float) and not math.isfinite(value)
        ):
            return repr(value)
        name = f"_k{len(self.ns)}"
        self.ns[name] = value
        return name

    def emit(self, line: str, depth: int = 1) -> None:
        self.lines.append("    " * depth + line)


def _var(name: str) -> str:
    return f"v_{name}"


def _expr(e: Any) -> str:
    return python_source(e, _var)


def _inputs(g: _Gen, inputs: tuple[InputSpec, ...]) -> None:
    for s in inputs:
        v = _var(s.name)
        g.emit(f"{v} = app.get({s.name!r})")
        g.emit(f"if {v} is None:")
        g.emit(f"dq.append('DQ_MISSING:{s.name}')" if s.required else "pass", 2)
        g.emit(f"elif {_TYPE_BAD[s.type].format(v=v)}:")
        g.emit(f"dq.append('DQ_TYPE:{s.name}'); {v} = None", 2)
        if s.type == "number":
            g.emit(f"elif {v} != {v}:")
            g.emit(f"{v} = None" + (f"; dq.append('DQ_MISSING:{s.name}')" if s.required else ""), 2)
        if s.categories:
            g.emit(f"elif {v} not in {g.const(frozenset(s.categories))}:")
            g.emit(f"dq.append('DQ_CATEGORY:{s.name}'); {v} = None", 2)


def _cell(g: _Gen, cell: Cell, v: str, numeric: bool) -> str | None:
    """Inline source of a cell test, or None for a cell that matches anything."""
    if cell.kind == "any":
        return None
    if cell.kind == "null":
        return f"{v} is None"
    if cell.kind == "not_null":
        return f"{v} is not None"
    if cell.kind in ("values", "not_values"):
        values = "{" + ", ".join(g.const(x) for x in cell.values) + "}"
        word = "in" if cell.kind == "values" else "not in"
        return f"({v} is not None and {v} {word} {values})"
    parts = [f"{v} is not None" if numeric else f"({v}.__class__ is int or {v}.__class__ is float)"]
    if not numeric:
        parts.append(f"{v} == {v}")
    if cell.low != -math.inf:
        parts.append(f"{v} {'>=' if cell.low_closed else '>'} {g.const(cell.low)}")
    if cell.high != math.inf:
        parts.append(f"{v} {'<=' if cell.high_closed else '<'} {g.const(cell.high)}")
    return "(" + " and ".join(parts) + ")"


def _table(g: _Gen, node: TableNode, numeric: set[str]) -> None:
    t = node.table
    outs = [_var(f"{t.name}_{o}") for o in t.outputs]
    tests = []
    for cells in t.cells:
        parts = [
            p
            for c, i in zip(cells, t.inputs, strict=True)
            if (p := _cell(g, c, _var(i), i in numeric)) is not None
        ]
        tests.append(" and ".join(parts) if parts else "True")
    if t.hit == "first":
        for k, test in enumerate(tests):
            g.emit(f"{'if' if k == 0 else 'elif'} {test}:")
            sets = [
                f"{o} = {g.const(t.results[k][name])}"
                for o, name in zip(outs, t.outputs, strict=True)
            ]
            g.emit("; ".join([f"{_var(node.row_variable)} = {k}", *sets]), 2)
        g.emit("else:" if tests else "if True:")
        g.emit("; ".join([f"{_var(node.row_variable)} = None", *(f"{o} = None" for o in outs)]), 2)
        return
    rows = _var(node.row_variable)
    g.emit(f"{rows} = []")
    for k, test in enumerate(tests):
        g.emit(f"if {test}: {rows}.append({k})")
    for o, name in zip(outs, t.outputs, strict=True):
        values = g.const(tuple(r[name] for r in t.results))
        g.emit(f"{o} = [{values}[_r] for _r in {rows}]")


def _scorecard(g: _Gen, node: ScorecardNode, j0: int) -> list[str]:
    """Emit bins and points; return the names holding each attribute's points."""
    m = node.model
    names = []
    for j, (var, pts) in enumerate(zip(m.variables, node.scaled_points(), strict=True)):
        t = var.table
        v, k, p = _var(var.name), f"_b{j0 + j}", f"_p{j0 + j}"
        if t.kind == "numeric":
            g.emit(f"if {v} is None or {v} != {v}: {k} = {t.missing_index}")
            g.emit("else:")
            if t.specials:
                specials = {float(s): t.n_regular + q for q, s in enumerate(t.specials)}
                g.emit(f"{k} = {g.const(specials)}.get({v})", 2)
                g.emit(f"if {k} is None: {k} = _bisect({g.const(list(t.splits))}, {v})", 2)
            else:
                g.emit(f"{k} = _bisect({g.const(list(t.splits))}, {v})", 2)
        else:
            unknown = (
                -1
                if m.unknown == "error"
                else (t.missing_index if m.unknown == "missing" else t.worst_regular_bin())
            )
            cats = g.const(category_map(t))
            g.emit(f"if {v} is None or {v} != {v}: {k} = {t.missing_index}")
            g.emit(f"else: {k} = {cats}.get({v} if {v}.__class__ is str else str({v}), {unknown})")
            if unknown < 0:
                g.emit(
                    f"if {k} < 0: raise _InvalidArgumentError({var.name!r}, "
                    f"expected='a level seen in fitting', got={v})"
                )
        g.emit(f"{p} = {g.const(tuple(pts))}[{k}]")
        names.append(p)
    total = " + ".join(names) or "0"
    score = f"({total}) / {node.scale}" if node.scale != 1 else total
    g.emit(f"{_var(node.provides[0])} = {score}")
    return names


def row_source(policy: Policy, *, audit: bool) -> tuple[str, dict[str, Any]]:
    """The generated source of the row backend and the constants it needs."""
    g = _Gen()
    numeric = {s.name for s in policy.inputs if s.type in ("number", "integer")}
    g.lines.append("def decide(app):")
    if audit:
        g.emit("_T0 = _ns()")
    g.emit("dq = []")
    _inputs(g, policy.inputs)
    stamps = ["inputs"]
    if audit:
        g.emit("_T1 = _ns()")
    points: dict[str, list[tuple[str, str]]] = {}
    model_x: dict[str, str] = {}
    reason_sources: list[str] = []
    j0 = 0
    for node in policy.nodes:
        if isinstance(node, DerivedNode):
            g.emit(f"{_var(node.name)} = {_expr(node.expr)}")
        elif isinstance(node, ArmNode):
            bounds = g.const(node.bounds())
            g.emit(f"v_arm = _arm_of({_var(node.key)}, {node.salt!r}, {bounds})")
        elif isinstance(node, TableNode):
            _table(g, node, numeric)
        elif isinstance(node, TreeNode):
            g.emit(f"{_var(node.provides[0])} = {_expr(node.leaf)}")
            for o, e in node.outputs:
                g.emit(f"{_var(f'{node.name}_{o}')} = {_expr(e)}")
        elif isinstance(node, ScorecardNode):
            names = _scorecard(g, node, j0)
            j0 += len(names)
            numeric.add(node.provides[0])
            feats = [v.name for v in node.model.variables]
            points[node.name] = list(zip(feats, names, strict=True))
            best = g.const(tuple(max(p) for p in node.scaled_points()))
            codes = g.const(node.reason_codes())
            lost = ", ".join(f"{best}[{j}] - {n}" for j, n in enumerate(names))
            reason_sources.append(f"_ranked(({lost},), {codes}, {node.n_reasons})")
        elif isinstance(node, ModelNode):
            m = g.const(_ModelRow(node))
            x = f"_x_{node.name}"
            values = ", ".join(_var(f) for f in node.model.features)
            g.emit(f"{x} = {m}.matrix(({values},))")
            g.emit(f"{_var(node.provides[0])} = {m}.probability({x})")
            numeric.add(node.provides[0])
            model_x[node.name] = m
            contrib = f"{m}.contributions({x})"
            if audit:  # the record shows the contributions: compute them once, here
                g.emit(f"_c_{node.name} = {contrib}")
                contrib = f"_c_{node.name}"
            reason_sources.append(f"_ranked({contrib}, {m}.reason_codes, {m}.n)")
        stamps.append(node.name)
        if audit:
            g.emit(f"_T{len(stamps)} = _ns()")
    g.emit("hits = []")
    g.emit("_dec = _ref = False")
    for r in policy.rules:
        flag = "_dec" if r.action == "decline" else "_ref"
        g.emit(f"if {_expr(r.when)} is True: hits.append({r.id!r}); {flag} = True")
    g.emit("decision = 'decline' if _dec else ('refer' if dq or _ref else 'approve')")
    for name, e in policy.outputs:
        g.emit(f"{_var(name)} = {_expr(e)}")
    outs = [f"{name!r}: {_var(name)}" for name, _ in policy.outputs]
    g.emit("_cap = ()")
    pricing = policy.pricing
    if pricing is not None:
        g.emit("v_apr = None")
        g.emit("if decision != 'decline':")
        args = ", ".join(
            [
                repr(pricing.product),
                repr(pricing.jurisdiction),
                repr(pricing.lender_type),
                _expr(pricing.amount_fen),
                _expr(pricing.annual_rate),
                _expr(pricing.term_months),
                _var(pricing.date),
            ]
        )
        g.emit(f"v_apr, _cap = _price({args})", 2)
        g.emit(f"if _cap: decision = {pricing.on_breach!r}", 2)
        outs.append("'apr': v_apr")
    stamps.append("rules_outputs")
    if audit:
        g.emit(f"_T{len(stamps)} = _ns()")
    g.emit("reasons = (*dq, *hits, *('CAP:' + c for c in _cap))")
    if reason_sources:
        g.emit("if decision != 'approve':")
        g.emit(f"reasons = tuple(dict.fromkeys((*reasons, *{' , *'.join(reason_sources)})))", 2)
    rows = [f"{n.name!r}: {_var(n.row_variable)}" for n in policy.tables]
    arm = "v_arm" if any(isinstance(n, ArmNode) for n in policy.nodes) else "None"
    head = f"decision, reasons, {{{', '.join(outs)}}}, tuple(hits), {{{', '.join(rows)}}}"
    ident = f"{policy.name!r}, {policy.version!r}"
    if not audit:
        g.emit(f"return _Decision({head}, {ident}, {arm})")
        return "\n".join(g.lines) + "\n", g.ns
    variables = [s.name for s in policy.inputs] + [v for n in policy.nodes for v in n.provides]
    variables += [name for name, _ in policy.outputs]
    var_dict = "{" + ", ".join(f"{v!r}: {_var(v)}" for v in variables) + "}"
    scale = {n.name: n.scale for n in policy.nodes if isinstance(n, ScorecardNode)}
    pts = ", ".join(
        f"{sc!r}: {{{', '.join(f'{f!r}: {p}' + (f' / {scale[sc]}' if scale[sc] != 1 else '') for f, p in pairs)}}}"
        for sc, pairs in points.items()
    )
    models = ", ".join(
        f"{name!r}: {m}.audit(_c_{name}, v_{name}_probability)" for name, m in model_x.items()
    )
    timings = ", ".join(f"{s!r}: _T{k + 1} - _T{k}" for k, s in enumerate(stamps))
    g.emit(
        f"rec = _Audit(dict(app), {var_dict}, tuple(hits), {{{', '.join(rows)}}}, "
        f"{{{pts}}}, {{{models}}}, reasons, {ident}, {policy.sha256!r}, {arm}, {{{timings}}})"
    )
    g.emit(f"return _Decision({head}, {ident}, {arm}, rec)")
    return "\n".join(g.lines) + "\n", g.ns


def compile_row(policy: Policy, *, audit: bool = True) -> Callable[[Mapping[str, Any]], Decision]:
    """Compile the row backend of a policy (``audit`` adds the full record and timings)."""
    source, ns = row_source(policy, audit=audit)
    code = compile(source, f"<policy {policy.name} v{policy.version}>", "exec")
    exec(code, ns)  # the source holds only the checked IR (see the module docstring)
    run: Callable[[Mapping[str, Any]], Decision] = ns["decide"]
    return run
