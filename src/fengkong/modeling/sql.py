"""A scorecard as SQL: one ``CASE WHEN`` per variable, the score as their sum.

The statement reproduces :meth:`ScorecardModel.score_row` exactly: the same bin order (missing
first, then special values, then the intervals ``[a, b)`` as ``x < b`` tests), cut points
written with Python's shortest round-trip ``repr`` so the database parses the same doubles,
integer points (or points scaled by ``10**decimals`` to integers, summed, then divided), and
unseen categories in the bin the scorecard's ``unknown`` rule names. Categorical variables are
compared as text. PostgreSQL's ``NaN`` counts as missing, as it does in Python.

>>> from decimal import Decimal
>>> from fengkong.modeling.artifact import ScorecardModel, ScorecardVariable
>>> from fengkong.modeling.table import BinningTable
>>> t = BinningTable("age", "numeric", splits=(30.0,), nonevent=(4, 8, 1), event=(1, 1, 1))
>>> m = ScorecardModel((ScorecardVariable(t, (Decimal(10), Decimal(35), Decimal(20)), "AGE", -1.0),),
...                    base_points=600, base_odds=50.0, pdo=20.0, decimals=0)
>>> print(scorecard_sql(m, "applicants", keep=["id"]))
SELECT "id",
  CASE WHEN "age" IS NULL THEN 20 WHEN "age" < 30.0 THEN 10 ELSE 35 END AS "points_age"
FROM "applicants"
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fengkong.errors import InvalidArgumentError

if TYPE_CHECKING:  # the artifact imports this module
    from fengkong.modeling.artifact import ScorecardModel, ScorecardVariable

__all__ = ["scorecard_sql"]

DIALECTS = ("sqlite", "postgresql")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _case(var: ScorecardVariable, unknown: str, dialect: str, decimals: int) -> str:
    t = var.table
    col = _ident(t.name)
    pts = [str(int(p.scaleb(decimals))) for p in var.points]
    whens = []
    if t.kind == "numeric":
        missing = f"{col} IS NULL"
        if dialect == "postgresql":
            missing += f" OR {col} = 'NaN'::float8"
        whens.append(f"WHEN {missing} THEN {pts[t.missing_index]}")
        for k, s in enumerate(t.specials):
            whens.append(f"WHEN {col} = {float(s)!r} THEN {pts[t.n_regular + k]}")
        for k, s in enumerate(t.splits):
            whens.append(f"WHEN {col} < {float(s)!r} THEN {pts[k]}")
        tail = pts[t.n_regular - 1]
    else:
        text = f"CAST({col} AS TEXT)"
        whens.append(f"WHEN {col} IS NULL THEN {pts[t.missing_index]}")
        for k, s in enumerate(t.specials):
            whens.append(f"WHEN {text} = {_text(str(s))} THEN {pts[t.n_regular + k]}")
        for k, group in enumerate(t.groups):
            levels = ", ".join(_text(v) for v in group)
            whens.append(f"WHEN {text} IN ({levels}) THEN {pts[k]}")
        tail = pts[t.missing_index if unknown == "missing" else t.worst_regular_bin()]
    return "CASE " + " ".join(whens) + f" ELSE {tail} END"


def scorecard_sql(
    model: ScorecardModel, table: str, *, dialect: str = "sqlite", keep: Sequence[str] = ()
) -> str:
    """``SELECT keep…, points_<var>…[, score]`` over ``table``.

    With more than one variable a ``score`` column sums the points; with ``decimals > 0`` the
    points columns are integers in units of ``10**-decimals`` and ``score`` divides once.
    ``unknown="error"`` cannot be expressed in SQL: unseen levels then take the missing bin.
    """
    if dialect not in DIALECTS:
        raise InvalidArgumentError("dialect", expected=f"one of {DIALECTS}", got=dialect)
    cols = [_ident(k) for k in keep]
    for v in model.variables:
        cols.append(
            f"{_case(v, model.unknown, dialect, model.decimals)} AS {_ident('points_' + v.name)}"
        )
    inner = "SELECT " + ",\n  ".join(cols) + f"\nFROM {_ident(table)}"
    if len(model.variables) < 2 and model.decimals == 0:
        return inner
    total = " + ".join(_ident("points_" + v.name) for v in model.variables)
    if model.decimals:
        total = f"CAST({total} AS NUMERIC) / {10**model.decimals}"
    return f"SELECT s.*, {total} AS {_ident('score')}\nFROM (\n{inner}\n) AS s"
