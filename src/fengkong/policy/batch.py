"""The batch backend: a policy's IR run over a Polars frame.

Expressions and decision tables become Polars expressions; scorecards bin with the Numba
kernels of :mod:`fengkong.modeling`; LightGBM scores the whole matrix; pricing runs once per
distinct offer. Ranked reason codes are built once per distinct ranking and gathered, so a
million rows cost a handful of list builds, not a million.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

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

__all__ = ["decide_frame", "ranked_reason_lists"]

_PL_TYPES = {
    "number": pl.Float64,
    "integer": pl.Int64,
    "text": pl.String,
    "boolean": pl.Boolean,
    "date": pl.Date,
}
_LIST = pl.List(pl.String)


def ranked_reason_lists(lost: np.ndarray, codes: list[str], n: int) -> pl.Series:
    """Per row, the codes of the ``n`` largest positive columns of ``lost`` (ties: column order).

    >>> ranked_reason_lists(np.array([[0, 5, 2, 5], [1, 0, 0, 0]]), list("ABCD"), 2).to_list()
    [['B', 'D'], ['A']]
    """
    rows, m = lost.shape
    if rows == 0 or m == 0:
        return pl.Series([[]] * rows, dtype=_LIST)
    order = np.argsort(-lost, axis=1, kind="stable")[:, :n]
    picked = np.take_along_axis(lost, order, axis=1) > 0
    chosen = np.where(picked, order, m)  # m: no reason in this slot
    key = np.zeros(rows, dtype=np.int64)
    for k in range(chosen.shape[1]):
        key = key * (m + 1) + chosen[:, k]
    uniques, inverse = np.unique(key, return_inverse=True)
    lists = []
    for u in uniques:
        slots = []
        for _ in range(chosen.shape[1]):
            slots.append(int(u % (m + 1)))
            u //= m + 1
        lists.append([codes[j] for j in reversed(slots) if j < m])
    return pl.Series(lists, dtype=_LIST).gather(inverse.ravel())


def _input_frame(inputs: tuple[InputSpec, ...], frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.Expr]:
    """Inputs cast to their types, failures nulled, and the list of data-quality reasons."""
    cols = {}
    for s in inputs:
        if s.name in frame.columns:
            col = frame[s.name]
            if col.dtype in (pl.Categorical, pl.Enum) or isinstance(col.dtype, pl.Enum):
                col = col.cast(pl.String)
            if col.dtype.is_float():
                col = col.fill_nan(None)
            cols[s.name] = col
        else:
            cols[s.name] = pl.Series(s.name, [None] * frame.height, dtype=_PL_TYPES[s.type])
    work = pl.DataFrame(cols)
    quality: list[pl.Expr] = []
    fixes: list[pl.Expr] = []
    for s in inputs:
        col = pl.col(s.name)
        dtype = work.schema[s.name]
        type_ok = dtype == pl.Null or (
            dtype.is_numeric()
            if s.type == "number"
            else dtype.is_integer()
            if s.type == "integer"
            else dtype == _PL_TYPES[s.type]
        )
        if not type_ok:
            quality.append(pl.when(col.is_not_null()).then(pl.lit(f"DQ_TYPE:{s.name}")))
            if s.required:
                quality.append(pl.when(col.is_null()).then(pl.lit(f"DQ_MISSING:{s.name}")))
            fixes.append(pl.lit(None, _PL_TYPES[s.type]).alias(s.name))
            continue
        if s.required:
            quality.append(pl.when(col.is_null()).then(pl.lit(f"DQ_MISSING:{s.name}")))
        if s.categories:
            bad = col.is_not_null() & ~pl.any_horizontal([col == pl.lit(c) for c in s.categories])
            quality.append(pl.when(bad).then(pl.lit(f"DQ_CATEGORY:{s.name}")))
            fixes.append(pl.when(bad).then(None).otherwise(col).alias(s.name))
        elif dtype != _PL_TYPES[s.type] and not (s.type == "number" and dtype.is_numeric()):
            fixes.append(col.cast(_PL_TYPES[s.type]))
    dq = pl.concat_list(quality).list.drop_nulls() if quality else pl.lit([], _LIST)
    work = work.with_columns(dq.alias("__dq"))
    if fixes:
        work = work.with_columns(fixes)
    return work, pl.col("__dq")


def _table(out: pl.DataFrame, node: TableNode) -> pl.DataFrame:
    t = node.table
    exprs = t.to_polars()
    if t.hit == "first":
        return out.with_columns(
            exprs[f"{t.name}_row"].alias(node.row_variable),
            *(exprs[o].alias(f"{t.name}_{o}") for o in t.outputs),
        )
    out = out.with_columns(exprs[f"{t.name}_rows"].cast(pl.List(pl.Int64)).alias(node.row_variable))
    return out.with_columns(
        pl.col(node.row_variable)
        .list.eval(pl.element().replace_strict({k: r[o] for k, r in enumerate(t.results)}))
        .alias(f"{t.name}_{o}")
        for o in t.outputs
    )


def _pricing(out: pl.DataFrame, p: PricingNode) -> pl.DataFrame:
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
    table = distinct.with_columns(
        pl.Series("apr", [x[0] for x in priced], dtype=pl.Decimal(10, 4)),
        pl.Series("__cap", [[f"CAP:{b}" for b in x[1]] for x in priced], dtype=_LIST),
    )
    joined = offers.join(table, on=["__a", "__r", "__t", "__d"], how="left", nulls_equal=True,
                         maintain_order="left")
    out = out.with_columns(joined["apr"], joined["__cap"])
    return out.with_columns(
        pl.when(pl.col("__cap").list.len() > 0)
        .then(pl.lit(p.on_breach))
        .otherwise(pl.col("decision"))
        .alias("decision")
    )


def decide_frame(policy: Policy, frame: pl.DataFrame) -> pl.DataFrame:
    """Run ``policy`` over every row of ``frame`` (see :meth:`Policy.decide_frame`)."""
    out, dq = _input_frame(policy.inputs, frame)
    model_reasons: list[pl.Series] = []
    keep_nodes: list[str] = []
    for node in policy.nodes:
        if isinstance(node, DerivedNode):
            out = out.with_columns(node.expr.to_polars().alias(node.name))
        elif isinstance(node, ArmNode):
            bounds = node.bounds()
            keys: list[Any] = out[node.key].to_list()
            arms = [arm_of(k, node.salt, bounds) for k in keys]
            out = out.with_columns(pl.Series("arm", arms, dtype=pl.String))
            keep_nodes.append("arm")
        elif isinstance(node, TableNode):
            out = _table(out, node)
        elif isinstance(node, TreeNode):
            out = out.with_columns(
                node.leaf.to_polars().alias(f"{node.name}_leaf"),
                *(e.to_polars().alias(f"{node.name}_{o}") for o, e in node.outputs),
            )
        elif isinstance(node, ScorecardNode):
            bins = node.model.bins_frame(out.select(node.model.features))
            pts = node.scaled_points()
            points = np.column_stack(
                [np.asarray(p, dtype=np.int64)[bins[v.name]] for p, v in zip(pts, node.model.variables, strict=True)]
            ) if pts else np.zeros((out.height, 0), dtype=np.int64)
            total = pl.Series(node.provides[0], points.sum(axis=1))
            out = out.with_columns(total / node.scale if node.scale != 1 else total)
            best = np.array([max(p) for p in pts], dtype=np.int64)
            model_reasons.append(ranked_reason_lists(best - points, node.reason_codes(), node.n_reasons))
            keep_nodes.append(node.provides[0])
        elif isinstance(node, ModelNode):
            x = node.model.matrix(out.select(node.model.features))
            booster = node.model._booster
            out = out.with_columns(pl.Series(node.provides[0], booster.predict(x)))
            contrib = np.asarray(booster.predict(x, pred_contrib=True))[:, :-1]
            model_reasons.append(ranked_reason_lists(contrib, node.reason_codes(), node.n_reasons))
            keep_nodes.append(node.provides[0])
    rule_cols = [f"rule_{r.id}" for r in policy.rules]
    out = out.with_columns(
        r.when.to_polars().cast(pl.Boolean).fill_null(False).alias(c)
        for r, c in zip(policy.rules, rule_cols, strict=True)
    )
    declines = [pl.col(f"rule_{r.id}") for r in policy.rules if r.action == "decline"]
    declined = pl.any_horizontal(declines) if declines else pl.lit(False)
    referred = (dq.list.len() > 0) | (pl.any_horizontal(rule_cols) if rule_cols else pl.lit(False))
    out = out.with_columns(
        pl.when(declined)
        .then(pl.lit("decline"))
        .when(referred)
        .then(pl.lit("refer"))
        .otherwise(pl.lit("approve"))
        .alias("decision")
    )
    if policy.outputs:
        out = out.with_columns(e.to_polars().alias(name) for name, e in policy.outputs)
    parts = [dq, *(pl.when(pl.col(c)).then(pl.lit(c[5:])) for c in rule_cols)]
    if policy.pricing is not None:
        out = _pricing(out, policy.pricing)
        parts.append(pl.col("__cap"))
    reasons = pl.concat_list(parts).list.drop_nulls() if len(parts) > 1 else dq
    if model_reasons:
        extra = pl.concat_list([pl.col(f"__mr{k}") for k in range(len(model_reasons))])
        out = out.with_columns(s.alias(f"__mr{k}") for k, s in enumerate(model_reasons))
        reasons = (
            pl.when(pl.col("decision") != "approve")
            .then(pl.concat_list([reasons, extra]).list.unique(maintain_order=True))
            .otherwise(reasons)
        )
    out = out.with_columns(reasons.alias("reasons"))
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
