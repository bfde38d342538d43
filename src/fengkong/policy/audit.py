"""A decision and its audit record: everything needed to explain and replay it.

:class:`AuditRecord` holds the inputs as received, every computed variable, rule hits,
decision-table rows, points per scorecard attribute, model probabilities with their top
contributions, the reasons, the policy's name, version and hash, the arm and the time each
node took. :meth:`AuditRecord.to_dict` gives the JSON the repository stores.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["AuditRecord", "Decision", "json_ready"]


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


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """The full trace of one decision."""

    inputs: dict[str, Any]
    variables: dict[str, Any]
    rule_hits: tuple[str, ...]
    table_rows: dict[str, Any]
    points: dict[str, dict[str, Any]]
    models: dict[str, dict[str, Any]]
    reasons: tuple[str, ...]
    policy: str
    version: str
    sha256: str
    arm: str | None
    timings_ns: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the decision repository stores)."""
        return {
            "policy": self.policy,
            "version": self.version,
            "sha256": self.sha256,
            "arm": self.arm,
            "inputs": json_ready(self.inputs),
            "variables": json_ready(self.variables),
            "rule_hits": list(self.rule_hits),
            "table_rows": json_ready(self.table_rows),
            "points": json_ready(self.points),
            "models": json_ready(self.models),
            "reasons": list(self.reasons),
            "timings_ns": dict(self.timings_ns),
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one application: decision, ranked reasons, outputs, hits, the arm.

    ``audit`` is the full :class:`AuditRecord` unless the policy was run with
    ``audit=False``.
    """

    decision: str
    reasons: tuple[str, ...]
    outputs: dict[str, Any]
    rule_hits: tuple[str, ...]
    table_rows: dict[str, Any]
    policy: str
    version: str
    arm: str | None = None
    audit: AuditRecord | None = field(default=None, compare=False, repr=False)
