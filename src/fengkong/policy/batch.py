"""The batch backend: a policy's IR run over a Polars frame.

Expressions and decision tables become Polars expressions; scorecards bin with the Numba
kernels of :mod:`fengkong.modeling`; LightGBM scores the whole matrix; pricing runs once per
distinct offer. Ranked reason codes are built once per distinct ranking and gathered, so a
million rows cost a handful of list builds, not a million.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from fengkong.expression._typing import INT64_MAX, INT64_MIN
from fengkong.modeling._assign import category_map
from fengkong.policy._kernels import add_numeric_points
from fengkong.policy.nodes import (
    ArmNode,
    DerivedNode,
    InputSpec,
    ModelNode,
    PricingNode,
    ScorecardNode,
    TableNode,
    TreeNode,
    arm_of,
)
from fengkong.policy.pricing import price_offer

if TYPE_CHECKING:
    from fengkong.policy.policy import Policy

__all__ = ["decide_frame", "ranked_reason_codes"]

_PL_TYPES = {
    "number": pl.Float64,
    "integer": pl.Int64,
    "text": pl.String,
    "boolean": pl.Boolean,
    "date": pl.Date,
}
_LIST = pl.List(pl.String)
_DECISIONS = pl.Series("decision", ["approve", "refer", "decline"])


def ranked_reason_codes(
    lost: np.ndarray, codes: list[str], n: int
) -> tuple[np.ndarray, list[list[str]]]:
    """Per row, the ``n`` largest positive columns of ``lost`` (ties: column order), coded.

    Returns a code per row and the reason list of each code.

    >>> code, lists = ranked_reason_codes(np.array([[0, 5, 2, 5], [1, 0, 0, 0]]), list("ABCD"), 2)
    >>> [lists[c] for c in code]
    [['B', 'D'], ['A']]
    """
    rows, m = lost.shape
    if rows == 0 or m == 0:
        return np.zeros(rows, dtype=np.int64), [[]]
    order = np.argsort(-lost, axis=1, kind="stable")[:, :n]
    picked = np.take_along_axis(lost, order, axis=1) > 0
    chosen = np.where(picked, order, m)  # m: no reason in this slot
    key = np.zeros(rows, dtype=np.int64)
    for k in range(chosen.shape[1]):
        key = key * (m + 1) + chosen[:, k]
    uniques, inverse = np.unique(key, return_inverse=True)
    lists = []
    for unique in uniques.tolist():
        slots, u = [], unique
        for _ in range(chosen.shape[1]):
            slots.append(u % (m + 1))
            u //= m + 1
        lists.append([codes[j] for j in reversed(slots) if j < m])
    return inverse.ravel(), lists


_DQ = ("", "DQ_MISSING", "DQ_TYPE", "DQ_CATEGORY", "DQ_RANGE")
_OK, _MISSING, _TYPE, _CATEGORY, _RANGE = (pl.lit(k, pl.UInt8) for k in range(5))


def _type_ok(kind: str, dtype: pl.DataType) -> bool:
    """Whether a column of ``dtype`` can hold the input's values (as the row backend takes
    them: numbers from integer or float columns, integers only from integer columns)."""
    if dtype == pl.Null:
        return True
    if kind == "number":
        return dtype.is_integer() or dtype.is_float()
    if kind == "integer":
        return dtype.is_integer()
    return dtype == _PL_TYPES[kind]


def _with(frame: pl.DataFrame, exprs: Iterable[pl.Expr]) -> pl.DataFrame:
    """``frame.with_columns(exprs)``, with constant results broadcast to the frame's height.

    Polars 2.1 sometimes computes an expression as one row when its data make it constant
    (``'x' == coalesce(s, 'x')`` over a column ``s`` of nulls) and then refuses to broadcast
    it; each expression is then evaluated alone and a one-row result repeated.
    """
    exprs = list(exprs)
    try:
        return frame.with_columns(exprs)
    except pl.exceptions.InvalidOperationError as exc:
        if "doesn't match the DataFrame height" not in str(exc):
            raise
    columns = []
    for e in exprs:
        column = frame.select(e).to_series()
        if column.len() == 1 and frame.height != 1:
            column = column.gather(np.zeros(frame.height, dtype=np.int64))
        columns.append(column)
    return frame.with_columns(columns)


def _input_exprs(s: InputSpec, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """One input's value (cast to its type, failures null) and its data-quality code, from
    its column of ``dtype``."""
    v, target = pl.col(s.name), _PL_TYPES[s.type]
    if isinstance(dtype, pl.Categorical | pl.Enum):
        v, dtype = v.cast(pl.String), pl.String()
    missing = _MISSING if s.required else _OK
    name, dq = s.name, f"__dq_{s.name}"
    if not _type_ok(s.type, dtype):
        absent = v.is_null() | v.is_nan() if dtype.is_float() else v.is_null()  # NaN is null
        return pl.lit(None, target).alias(name), pl.when(absent).then(missing).otherwise(
            _TYPE
        ).alias(dq)
    if dtype.is_float():
        v = v.fill_nan(None)  # NaN is null
    checks: list[pl.Expr] = []  # out of range: any of these
    if dtype in (pl.UInt64, pl.Int128) and s.type in ("number", "integer"):
        checks.append(~v.cast(pl.Int128).is_between(INT64_MIN, INT64_MAX))
    elif dtype.is_float():
        checks.append(~v.is_finite())
    value = v.cast(target, strict=False) if dtype != target else v
    if s.low is not None:
        checks.append(value < s.low)
    if s.high is not None:
        checks.append(value > s.high)
    code: Any = pl.when(v.is_null()).then(missing)
    if checks:
        code = code.when(pl.any_horizontal(checks)).then(_RANGE)
    if s.categories:
        # a few equality tests are several times faster than `is_in` on strings
        listed = pl.any_horizontal([value == pl.lit(c) for c in s.categories])
        code = code.when(~listed).then(_CATEGORY)
    codes = code.otherwise(_OK)
    if not checks and not s.categories:  # only a null can fail, and it is null already
        return value.alias(name), codes.alias(dq)
    return pl.when(codes == 0).then(value).alias(name), codes.alias(dq)


def _input_frame(inputs: tuple[InputSpec, ...], frame: pl.DataFrame) -> pl.DataFrame:
    """Inputs cast to their types, failures nulled, and a data-quality code per input.

    ``__dq_<input>`` indexes ``_DQ``: 0 fine, 1 missing and required, 2 wrong type,
    3 category not listed, 4 out of range (±inf, outside int64 or the declared bounds).
    """
    if not inputs:
        return pl.DataFrame(height=frame.height) if frame.height else pl.DataFrame()
    absent = [
        pl.lit(None, _PL_TYPES[s.type]).alias(s.name) for s in inputs if s.name not in frame.columns
    ]
    source = frame.with_columns(absent) if absent else frame
    out = source.select(e for s in inputs for e in _input_exprs(s, source.schema[s.name]))
    # rebuilt from Series: Polars may keep an all-null ``when/then`` result as a length-1
    # scalar column, which later expressions then fail to broadcast
    return pl.DataFrame(out.get_columns())


def _reason_lists(parts: list[tuple[np.ndarray, list[list[str]]]], height: int) -> pl.Series:
    """Reason lists from coded parts: each part is (code per row, reasons of each code).

    Rows with the same codes share one list: the distinct combinations are decoded once
    and gathered, so the cost is in the combinations, not the rows.
    """
    if not parts:
        return pl.Series("reasons", [[]], dtype=_LIST).gather(np.zeros(height, dtype=np.int64))
    radix = [len(table) for _, table in parts]
    if math.prod(radix) < 2**62:
        key = np.zeros(height, dtype=np.int64)
        for (codes, _), r in zip(parts, radix, strict=True):
            key = key * r + codes.astype(np.int64)
        # most rows usually carry no reason at all (key 0): sort only the others
        some = np.flatnonzero(key)
        uniques, inverse_some = np.unique(key[some], return_inverse=True)
        uniques = np.concatenate([[0], uniques])
        inverse = np.zeros(height, dtype=np.int64)
        inverse[some] = inverse_some.ravel() + 1
        combos = []
        for unique in uniques.tolist():
            digits, u = [], unique
            for r in reversed(radix):
                digits.append(u % r)
                u //= r
            combos.append(digits[::-1])
    else:  # too many combinations for one integer: let Polars find the distinct rows
        coded = pl.DataFrame({f"p{k}": c for k, (c, _) in enumerate(parts)})
        distinct = coded.unique(maintain_order=True).with_row_index("__id")
        inverse = coded.join(distinct, on=coded.columns, how="left", maintain_order="left")[
            "__id"
        ].to_numpy()
        combos = [list(row) for row in distinct.drop("__id").iter_rows()]
    lists = []
    for digits in combos:
        reasons = [r for (_, table), d in zip(parts, digits, strict=True) for r in table[d]]
        lists.append(list(dict.fromkeys(reasons)))
    return pl.Series("reasons", lists, dtype=_LIST).gather(inverse.ravel())


def _table(out: pl.DataFrame, node: TableNode) -> pl.DataFrame:
    t = node.table
    index = t.fast_index()
    rows = index.rows(out) if index is not None else None
    if rows is not None:  # the fast path: one array lookup per row
        at = rows.fill_null(len(t.results)).to_numpy()
        return out.with_columns(
            rows.alias(node.row_variable),
            *(
                pl.Series(f"{t.name}_{o}", [r[o] for r in t.results] + [None]).gather(at)
                for o in t.outputs
            ),
        )
    exprs = t.to_polars()
    if t.hit == "first":
        return _with(
            out,
            [
                exprs[f"{t.name}_row"].alias(node.row_variable),
                *(exprs[o].alias(f"{t.name}_{o}") for o in t.outputs),
            ],
        )
    out = out.with_columns(exprs[f"{t.name}_rows"].cast(pl.List(pl.Int64)).alias(node.row_variable))
    return out.with_columns(
        pl.col(node.row_variable)
        .list.eval(pl.element().replace_strict({k: r[o] for k, r in enumerate(t.results)}))
        .alias(f"{t.name}_{o}")
        for o in t.outputs
    )


def _pricing(out: pl.DataFrame, p: PricingNode) -> tuple[pl.DataFrame, list[list[str]]]:
    offers = out.select(
        pl.when(pl.col("decision") != "decline").then(p.amount_fen.to_polars()).alias("__a"),
        p.annual_rate.to_polars().alias("__r"),
        p.term_months.to_polars().alias("__t"),
        pl.col(p.date).alias("__d"),
    )
    distinct = offers.unique(maintain_order=True)
    priced = [
        price_offer(p.product, p.jurisdiction, p.lender_type, a, r, t, d)
        for a, r, t, d in distinct.iter_rows()
    ]
    cap_lists = sorted({x[1] for x in priced})
    cap_code = {caps: k for k, caps in enumerate(cap_lists)}
    table = distinct.with_columns(
        pl.Series("apr", [x[0] for x in priced], dtype=pl.Decimal(10, 4)),
        pl.Series("__cap", [cap_code[x[1]] for x in priced], dtype=pl.Int64),
    )
    joined = offers.join(
        table, on=["__a", "__r", "__t", "__d"], how="left", nulls_equal=True, maintain_order="left"
    )
    out = out.with_columns(joined["apr"], joined["__cap"])
    broken = [len(caps) > 0 for caps in cap_lists]
    out = out.with_columns(
        pl.when(pl.col("__cap").replace_strict(dict(enumerate(broken)), return_dtype=pl.Boolean))
        .then(pl.lit(p.on_breach))
        .otherwise(pl.col("decision"))
        .alias("decision")
    )
    return out, [[f"CAP:{b}" for b in caps] for caps in cap_lists]


def _numeric_points(
    values: pl.Series, var: Any, points: list[int], out: np.ndarray, j: int, total: np.ndarray
) -> bool:
    """Fill ``out[:, j]`` (and add to ``total``) with a numeric variable's points as the row
    scorer bins it: null and NaN missing, specials their own bins, else ``bisect_right``."""
    t = var.table
    if not (values.dtype.is_numeric() or values.dtype == pl.Null):
        return False
    x = values.to_numpy()  # integers without nulls stay integers; nulls become NaN
    if x.dtype.kind not in "iuf":
        x = values.cast(pl.Float64).fill_null(np.nan).to_numpy()
    add_numeric_points(
        x,
        np.asarray(t.splits, dtype=np.float64),
        np.asarray([float(s) for s in t.specials], dtype=np.float64),
        np.arange(t.n_regular, t.n_regular + len(t.specials), dtype=np.int64),
        t.missing_index,
        np.asarray(points, dtype=np.int64),
        out,
        j,
        total,
    )
    return True


def _category_bins(values: pl.Series, var: Any, unknown: str) -> np.ndarray:
    t = var.table
    if unknown == "error" or values.dtype != pl.String:
        found: np.ndarray = t.assign(values, unknown=unknown)
        return found
    other = t.missing_index if unknown == "missing" else t.worst_regular_bin()
    codes = values.replace_strict(category_map(t), default=other, return_dtype=pl.Int64)
    return np.where(values.is_null().to_numpy(), t.missing_index, codes.to_numpy())


def _scorecard(out: pl.DataFrame, node: ScorecardNode) -> tuple[pl.DataFrame, np.ndarray]:
    """Add ``<name>_score``; return the points lost per attribute (for reasons)."""
    pts = node.scaled_points()
    points = np.zeros((out.height, len(pts)), dtype=np.int64)
    total = np.zeros(out.height, dtype=np.int64)
    for j, (p, v) in enumerate(zip(pts, node.model.variables, strict=True)):
        if v.table.kind == "numeric" and _numeric_points(out[v.name], v, p, points, j, total):
            continue
        found = _category_bins(out[v.name], v, node.model.unknown)
        points[:, j] = np.asarray(p, dtype=np.int64)[found]
        total += points[:, j]
    score = pl.Series(node.provides[0], total)
    out = out.with_columns(score / node.scale if node.scale != 1 else score)
    best = np.array([max(p) for p in pts], dtype=np.int64)
    return out, best - points


def decide_frame(policy: Policy, frame: pl.DataFrame) -> pl.DataFrame:
    """Run ``policy`` over every row of ``frame`` (see :meth:`Policy.decide_frame`)."""
    out = _input_frame(policy.inputs, frame)
    model_reasons: list[tuple[np.ndarray, list[str], int]] = []
    keep_nodes: list[str] = []
    for node in policy.nodes:
        if isinstance(node, DerivedNode):
            out = _with(out, [node.expr.to_polars().alias(node.name)])
        elif isinstance(node, ArmNode):
            bounds = node.bounds()
            units: list[Any] = out[node.unit].to_list()
            arms = [arm_of(u, node.salt, bounds) for u in units]
            out = out.with_columns(pl.Series("arm", arms, dtype=pl.String))
            keep_nodes.append("arm")
        elif isinstance(node, TableNode):
            out = _table(out, node)
        elif isinstance(node, TreeNode):
            out = _with(
                out,
                [
                    node.leaf.to_polars().alias(f"{node.name}_leaf"),
                    *(e.to_polars().alias(f"{node.name}_{o}") for o, e in node.outputs),
                ],
            )
        elif isinstance(node, ScorecardNode):
            out, lost = _scorecard(out, node)
            model_reasons.append((lost, node.reason_codes(), node.n_reasons))
            keep_nodes.append(node.provides[0])
        elif isinstance(node, ModelNode):
            x = node.model.matrix(out.select(node.model.features))
            booster = node.model._booster
            out = out.with_columns(pl.Series(node.provides[0], booster.predict(x)))
            contrib = np.asarray(booster.predict(x, pred_contrib=True))[:, :-1]
            model_reasons.append((contrib, node.reason_codes(), node.n_reasons))
            keep_nodes.append(node.provides[0])
    rule_cols = [f"rule_{r.id}" for r in policy.rules]
    out = _with(
        out,
        (
            r.when.to_polars().cast(pl.Boolean).fill_null(False).alias(c)
            for r, c in zip(policy.rules, rule_cols, strict=True)
        ),
    )
    dq_cols = [f"__dq_{s.name}" for s in policy.inputs]
    declines = [pl.col(f"rule_{r.id}") for r in policy.rules if r.action == "decline"]
    declined = pl.any_horizontal(declines) if declines else pl.lit(False)
    flags = [*(pl.col(c) > 0 for c in dq_cols), *(pl.col(c) for c in rule_cols)]
    referred = pl.any_horizontal(flags) if flags else pl.lit(False)
    code = out.select(
        pl.when(declined).then(2).when(referred).then(1).otherwise(0).cast(pl.UInt32)
    ).to_series()
    out = out.with_columns(_DECISIONS.gather(code).alias("decision"))
    if policy.outputs:
        out = _with(out, (e.to_polars().alias(name) for name, e in policy.outputs))
    # columns that are zero everywhere add no reason: skip them before leaving Polars
    nonzero = out.select(pl.col(c).cast(pl.UInt8).max() for c in (*dq_cols, *rule_cols)).row(0)
    used = {c for c, top in zip((*dq_cols, *rule_cols), nonzero, strict=True) if top}
    parts = [
        (out[c].to_numpy(), [[f"{code}:{s.name}"] if code else [] for code in _DQ])
        for c, s in zip(dq_cols, policy.inputs, strict=True)
        if c in used
    ]
    parts += [
        (out[c].to_numpy(), [[], [r.id]])
        for c, r in zip(rule_cols, policy.rules, strict=True)
        if c in used
    ]
    if policy.pricing is not None:
        out, cap_lists = _pricing(out, policy.pricing)
        declined_now = pl.col("decision") == "decline"  # no offer on a decline (Policy.offer)
        out = out.with_columns(
            pl.when(declined_now).then(None).otherwise(pl.col(c)).alias(c)
            for c in (*policy.offer, "apr")
        )
        parts.append((out["__cap"].fill_null(0).to_numpy(), cap_lists))
    if model_reasons:
        explain = np.flatnonzero((out["decision"] != "approve").to_numpy())
        for lost, names, n in model_reasons:  # an approval gives no model reasons: code 0
            codes, lists = ranked_reason_codes(lost[explain], names, n)
            coded = np.zeros(out.height, dtype=np.int64)
            coded[explain] = codes + 1
            parts.append((coded, [[], *lists]))
    out = out.with_columns(_reason_lists(parts, out.height))
    keep = [
        "decision",
        "reasons",
        *(n for n, _ in policy.outputs),
        *(["apr"] if policy.pricing is not None else []),
        *keep_nodes,
        *rule_cols,
        *(t.row_variable for t in policy.tables),
    ]
    return out.select(keep)
