"""Values as JSON holds them: one rule for what the API returns and what the database stores.

Dates and times become ISO text, Decimals their exact text, tuples lists, NaN ``null``.
:func:`json_ready` gives the Python form (for responses); :func:`json_text` the text itself,
written by orjson in one pass (the engine's serializer for every JSON column), and equal to
``json.dumps(json_ready(value))`` wherever that is valid JSON.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import orjson

__all__ = ["json_ready", "json_text"]


def json_ready(value: Any) -> Any:
    """A value as JSON can hold it: dates as ISO text, Decimals as text, tuples as lists.

    >>> json_ready({"d": dt.date(2026, 1, 2), "apr": Decimal("0.1800"), "t": (1, None)})
    {'d': '2026-01-02', 'apr': '0.1800', 't': [1, None]}
    """
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, dt.date | Decimal):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _other(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def json_text(value: Any) -> str:
    """``value`` as JSON text, by the rules of :func:`json_ready` (infinities: ``null``).

    >>> json_text({"d": dt.date(2026, 1, 2), "apr": Decimal("0.1800"), "x": float("nan")})
    '{"d":"2026-01-02","apr":"0.1800","x":null}'
    """
    return orjson.dumps(value, default=_other, option=_OPTIONS).decode()
