"""The real-time backend: one Python function generated from a policy's IR.

Every node becomes straight-line Python — input checks, expressions with their null rules
(:func:`fengkong.expression.python_source`), scorecard bins by ``bisect``, decision tables as
``if``/``elif`` chains of inline cell tests — so a decision costs about what hand-written
``if``/``else`` costs, with the audit record on. No name or text from the policy file is
pasted as code: variables are internal ids (``v0``, ``v1``, …), every string and number is a
``repr`` literal or a constant bound under an internal name, and the names of inputs appear
only inside ``repr`` strings (reasons, audit keys). Input checks run inline for the common
value of each type (a finite float, an int within int64, ASCII text, …) and through the
``_slow_*`` functions otherwise, which apply the data-quality rules the batch backend
applies column by column. :meth:`fengkong.policy.Policy.source` shows the code.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import numbers
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fengkong.errors import InvalidArgumentError
from fengkong.expression import python_source
from fengkong.expression._typing import INT64_MAX, INT64_MIN
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

_FLOAT_MAX = sys.float_info.max
# the common case of each type, tested inline; anything else takes the slow path below
_FAST = {
    "number": "{v}.__class__ is float and " + f"{-_FLOAT_MAX!r} <= {{v}} <= {_FLOAT_MAX!r}",
    "integer": "{v}.__class__ is int and " + f"{INT64_MIN} <= {{v}} <= {INT64_MAX}",
    "text": "{v}.__class__ is str and {v}.isascii()",
    "boolean": "{v}.__class__ is bool",
    "date": "{v}.__class__ is _date",
}
_SIMPLE = (int, float, str, bool, type(None))


def _slow_number(v: Any, required: bool) -> tuple[float | None, str]:
    """A number input that is not a finite float: ``(value, data-quality code or "")``."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return None, "DQ_TYPE"
    if isinstance(v, numbers.Integral):
        return (float(v), "") if INT64_MIN <= int(v) <= INT64_MAX else (None, "DQ_RANGE")
    x = float(v)
    if math.isnan(x):  # NaN is null
        return None, "DQ_MISSING" if required else ""
    return (x, "") if -_FLOAT_MAX <= x <= _FLOAT_MAX else (None, "DQ_RANGE")


def _slow_integer(v: Any, required: bool) -> tuple[int | None, str]:
    """An integer input that is not a plain int within int64."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        return None, "DQ_TYPE"
    return (int(v), "") if INT64_MIN <= int(v) <= INT64_MAX else (None, "DQ_RANGE")


def _slow_text(v: Any, required: bool) -> tuple[str | None, str]:
    """A text input that is not plain ASCII: any text Arrow can hold (valid UTF-8)."""
    if not isinstance(v, str):
        return None, "DQ_TYPE"
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not text in any other system
        return None, "DQ_TYPE"
    return str(v), ""


def _slow_boolean(v: Any, required: bool) -> tuple[None, str]:
    return None, "DQ_TYPE"


def _slow_date(v: Any, required: bool) -> tuple[dt.date | None, str]:
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.date(v.year, v.month, v.day), ""
    return None, "DQ_TYPE"


def _nan_is_null(check: Any) -> Any:
    """``check`` with a float NaN taken as null first, for every type (as in the batch
    backend, where NaN is pandas' and NumPy's missing value)."""

    def checked(v: Any, required: bool) -> tuple[Any, str]:
        if isinstance(v, float) and math.isnan(v):
            return None, "DQ_MISSING" if required else ""
        return check(v, required)  # type: ignore[no-any-return]

    return checked


_SLOW = {
    t: _nan_is_null(f)
    for t, f in {
        "number": _slow_number,
        "integer": _slow_integer,
        "text": _slow_text,
        "boolean": _slow_boolean,
        "date": _slow_date,
    }.items()
}


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
            **{f"_slow_{t}": f for t, f in _SLOW.items()},
        }
        self.ids: dict[str, str] = {}

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

    def var(self, name: str) -> str:
        """The internal id of a variable (``v0``, ``v1``, …): names never reach the source."""
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = f"v{len(self.ids)}"
        return found

    def expr(self, e: Any) -> str:
        return python_source(e, self.var)


def _inputs(g: _Gen, inputs: tuple[InputSpec, ...]) -> None:
    """Each input read, checked against its type, bounds and categories; a failure nulls it
    and appends its data-quality code (one per input)."""
    for s in inputs:
        v = g.var(s.name)
        g.emit(f"{v} = app.get({s.name!r})")
        g.emit(f"if {v} is None:")
        g.emit(f"dq.append({'DQ_MISSING:' + s.name!r})" if s.required else "pass", 2)
        g.emit(f"elif not ({_FAST[s.type].format(v=v)}):")
        g.emit(f"{v}, _c = _slow_{s.type}({v}, {s.required})", 2)
        g.emit(f"if _c: dq.append(_c + {':' + s.name!r})", 2)
        tests = []
        if s.low is not None:
            tests.append(f"{v} < {s.low!r}")
        if s.high is not None:
            tests.append(f"{v} > {s.high!r}")
        if tests:
            g.emit(f"if {v} is not None and ({' or '.join(tests)}):")
            g.emit(f"dq.append({'DQ_RANGE:' + s.name!r}); {v} = None", 2)
        if s.categories:
            g.emit(f"if {v} is not None and {v} not in {g.const(frozenset(s.categories))}:")
            g.emit(f"dq.append({'DQ_CATEGORY:' + s.name!r}); {v} = None", 2)


def _cell(g: _Gen, cell: Cell, v: str) -> str | None:
    """Inline source of a cell test, or None for a cell that matches anything; ``v`` holds
    the value (for a number input, as a float: cells compare numbers as float64)."""
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
    parts = [f"{v} is not None"]
    if cell.low != -math.inf:
        parts.append(f"{v} {'>=' if cell.low_closed else '>'} {g.const(cell.low)}")
    if cell.high != math.inf:
        parts.append(f"{v} {'<=' if cell.high_closed else '<'} {g.const(cell.high)}")
    return "(" + " and ".join(parts) + ")"


def _table(g: _Gen, node: TableNode) -> None:
    t = node.table
    outs = [g.var(f"{t.name}_{o}") for o in t.outputs]
    held = []
    for j, i in enumerate(t.inputs):
        v = g.var(i)
        if t.types and t.types[j] == "integer":  # cells compare numbers as float64
            f = f"_f{len(g.lines)}_{j}"
            g.emit(f"{f} = None if {v} is None else float({v})")
            v = f
        held.append(v)
    tests = []
    for cells in t.cells:
        parts = [p for c, v in zip(cells, held, strict=True) if (p := _cell(g, c, v)) is not None]
        tests.append(" and ".join(parts) if parts else "True")
    if t.hit == "first":
        for k, test in enumerate(tests):
            g.emit(f"{'if' if k == 0 else 'elif'} {test}:")
            sets = [
                f"{o} = {g.const(t.results[k][name])}"
                for o, name in zip(outs, t.outputs, strict=True)
            ]
            g.emit("; ".join([f"{g.var(node.row_variable)} = {k}", *sets]), 2)
        g.emit("else:" if tests else "if True:")
        g.emit("; ".join([f"{g.var(node.row_variable)} = None", *(f"{o} = None" for o in outs)]), 2)
        return
    rows = g.var(node.row_variable)
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
        v, k, p = g.var(var.name), f"_b{j0 + j}", f"_p{j0 + j}"
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
    g.emit(f"{g.var(node.provides[0])} = {score}")
    return names


class _Parts:
    """What the node section leaves for the audit record and the reasons."""

    def __init__(self) -> None:
        self.stamps = ["inputs"]
        self.points: dict[str, list[tuple[str, str]]] = {}
        self.models: dict[str, tuple[str, str, str]] = {}  # name: (model, contributions, p)
        self.reasons: list[str] = []


def _model(g: _Gen, node: ModelNode, parts: _Parts, audit: bool) -> None:
    m = g.const(_ModelRow(node))
    k = len(parts.models)
    x, p = f"_x{k}", g.var(node.provides[0])
    values = ", ".join(g.var(f) for f in node.model.features)
    g.emit(f"{x} = {m}.matrix(({values},))")
    g.emit(f"{p} = {m}.probability({x})")
    contrib = f"{m}.contributions({x})"
    if audit:  # the record shows the contributions: compute them once, here
        g.emit(f"_c{k} = {contrib}")
        contrib = f"_c{k}"
    parts.models[node.name] = (m, contrib, p)
    parts.reasons.append(f"_ranked({contrib}, {m}.reason_codes, {m}.n)")


def _node_source(g: _Gen, policy: Policy, audit: bool) -> _Parts:
    """Every value node in run order, with a timestamp after each when auditing."""
    parts, j0 = _Parts(), 0
    for node in policy.nodes:
        if isinstance(node, DerivedNode):
            g.emit(f"{g.var(node.name)} = {g.expr(node.expr)}")
        elif isinstance(node, ArmNode):
            bounds = g.const(node.bounds())
            g.emit(f"{g.var('arm')} = _arm_of({g.var(node.unit)}, {node.salt!r}, {bounds})")
        elif isinstance(node, TableNode):
            _table(g, node)
        elif isinstance(node, TreeNode):
            g.emit(f"{g.var(node.provides[0])} = {g.expr(node.leaf)}")
            for o, e in node.outputs:
                g.emit(f"{g.var(f'{node.name}_{o}')} = {g.expr(e)}")
        elif isinstance(node, ScorecardNode):
            names = _scorecard(g, node, j0)
            j0 += len(names)
            feats = [v.name for v in node.model.variables]
            parts.points[node.name] = list(zip(feats, names, strict=True))
            best = g.const(tuple(max(p) for p in node.scaled_points()))
            codes = g.const(node.reason_codes())
            lost = ", ".join(f"{best}[{j}] - {n}" for j, n in enumerate(names))
            parts.reasons.append(f"_ranked(({lost},), {codes}, {node.n_reasons})")
        elif isinstance(node, ModelNode):
            _model(g, node, parts, audit)
        parts.stamps.append(node.name)
        if audit:
            g.emit(f"_T{len(parts.stamps)} = _ns()")
    return parts


def _decision_source(g: _Gen, policy: Policy) -> list[str]:
    """Rules, the decision, outputs and pricing; the output entries of the result."""
    g.emit("hits = []")
    g.emit("_dec = _ref = False")
    for r in policy.rules:
        flag = "_dec" if r.action == "decline" else "_ref"
        g.emit(f"if {g.expr(r.when)} is True: hits.append({r.id!r}); {flag} = True")
    g.emit("decision = 'decline' if _dec else ('refer' if dq or _ref else 'approve')")
    for name, e in policy.outputs:
        g.emit(f"{g.var(name)} = {g.expr(e)}")
    outs = [f"{name!r}: {g.var(name)}" for name, _ in policy.outputs]
    g.emit("_cap = ()")
    pricing = policy.pricing
    if pricing is not None:
        apr = g.var("apr")
        g.emit(f"{apr} = None")
        g.emit("if decision != 'decline':")
        args = ", ".join(
            [
                repr(pricing.product),
                repr(pricing.jurisdiction),
                repr(pricing.lender_type),
                g.expr(pricing.amount_fen),
                g.expr(pricing.annual_rate),
                g.expr(pricing.term_months),
                g.var(pricing.date),
            ]
        )
        g.emit(f"{apr}, _cap = _price({args})", 2)
        g.emit(f"if _cap: decision = {pricing.on_breach!r}", 2)
        outs.append(f"'apr': {apr}")
        # a declined decision carries no offer (a breach may also decline): see Policy.offer
        g.emit("if decision == 'decline':")
        for name in (*policy.offer, "apr"):
            g.emit(f"{g.var(name)} = None", 2)
    return outs


def _audit_source(g: _Gen, policy: Policy, parts: _Parts, rows: str, arm: str) -> str:
    """The audit record's constructor call."""
    variables = [s.name for s in policy.inputs] + [v for n in policy.nodes for v in n.provides]
    variables += [name for name, _ in policy.outputs]
    var_dict = "{" + ", ".join(f"{v!r}: {g.var(v)}" for v in variables) + "}"
    scale = {n.name: n.scale for n in policy.nodes if isinstance(n, ScorecardNode)}
    pts = ", ".join(
        f"{sc!r}: {{"
        + ", ".join(f"{f!r}: {p}" + (f" / {scale[sc]}" if scale[sc] != 1 else "") for f, p in pairs)
        + "}"
        for sc, pairs in parts.points.items()
    )
    models = ", ".join(
        f"{name!r}: {m}.audit({contrib}, {p})" for name, (m, contrib, p) in parts.models.items()
    )
    timings = ", ".join(f"{s!r}: _T{k + 1} - _T{k}" for k, s in enumerate(parts.stamps))
    ident = f"{policy.name!r}, {policy.version!r}"
    return (
        f"_Audit(dict(app), {var_dict}, tuple(hits), {rows}, {{{pts}}}, {{{models}}}, "
        f"reasons, {ident}, {policy.sha256!r}, {arm}, {{{timings}}})"
    )


def row_source(policy: Policy, *, audit: bool) -> tuple[str, dict[str, Any]]:
    """The generated source of the row backend and the constants it needs."""
    g = _Gen()
    g.lines.append("def decide(app):")
    if audit:
        g.emit("_T0 = _ns()")
    g.emit("dq = []")
    _inputs(g, policy.inputs)
    if audit:
        g.emit("_T1 = _ns()")
    parts = _node_source(g, policy, audit)
    outs = _decision_source(g, policy)
    parts.stamps.append("rules_outputs")
    if audit:
        g.emit(f"_T{len(parts.stamps)} = _ns()")
    g.emit("reasons = (*dq, *hits, *('CAP:' + c for c in _cap))")
    if parts.reasons:
        g.emit("if decision != 'approve':")
        g.emit(f"reasons = tuple(dict.fromkeys((*reasons, *{' , *'.join(parts.reasons)})))", 2)
    rows = "{" + ", ".join(f"{n.name!r}: {g.var(n.row_variable)}" for n in policy.tables) + "}"
    arm = g.var("arm") if any(isinstance(n, ArmNode) for n in policy.nodes) else "None"
    head = f"decision, reasons, {{{', '.join(outs)}}}, tuple(hits), {rows}"
    ident = f"{policy.name!r}, {policy.version!r}"
    if not audit:
        g.emit(f"return _Decision({head}, {ident}, {arm})")
    else:
        g.emit(f"rec = {_audit_source(g, policy, parts, rows, arm)}")
        g.emit(f"return _Decision({head}, {ident}, {arm}, rec)")
    return "\n".join(g.lines) + "\n", g.ns


def compile_row(policy: Policy, *, audit: bool = True) -> Callable[[Mapping[str, Any]], Decision]:
    """Compile the row backend of a policy (``audit`` adds the full record and timings)."""
    source, ns = row_source(policy, audit=audit)
    code = compile(source, f"<policy {policy.name} v{policy.version}>", "exec")
    exec(code, ns)  # the source holds only the checked IR (see the module docstring)
    run: Callable[[Mapping[str, Any]], Decision] = ns["decide"]
    return run
