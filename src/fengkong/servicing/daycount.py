"""Day-count conventions: the year fraction between two dates, exact in ``Decimal``.

>>> import datetime as dt
>>> year_fraction("30/360", dt.date(2026, 1, 15), dt.date(2026, 2, 15))
Decimal('0.08333333333333333333333333333')
>>> days_and_basis("ACT/365", dt.date(2026, 1, 15), dt.date(2026, 2, 15))
(31, 365)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal, get_args

from fengkong.errors import InvalidArgumentError

__all__ = ["DAY_COUNTS", "DayCount", "days_and_basis", "year_fraction"]

DayCount = Literal["ACT/360", "ACT/365", "30/360"]
DAY_COUNTS: tuple[str, ...] = get_args(DayCount)


def _days_30_360(start: dt.date, end: dt.date) -> int:
    """ISDA 30/360 (bond basis): day 31 counts as 30; the end day too when the start is 30."""
    d1 = min(start.day, 30)
    d2 = min(end.day, 30) if d1 == 30 else end.day
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def days_and_basis(day_count: str, start: dt.date, end: dt.date) -> tuple[int, int]:
    """The day count between ``start`` and ``end`` and the days in the year it divides by."""
    if end < start:
        raise InvalidArgumentError("end", expected=f"a date on or after {start}", got=end)
    if day_count == "30/360":
        return _days_30_360(start, end), 360
    if day_count == "ACT/360":
        return (end - start).days, 360
    if day_count == "ACT/365":
        return (end - start).days, 365
    raise InvalidArgumentError("day_count", expected=f"one of {DAY_COUNTS}", got=day_count)


def year_fraction(day_count: str, start: dt.date, end: dt.date) -> Decimal:
    """The year fraction between two dates under ``day_count``."""
    days, basis = days_and_basis(day_count, start, end)
    return Decimal(days) / Decimal(basis)
