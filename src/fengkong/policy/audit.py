"""A decision and its audit record: everything needed to explain and replay it.

:class:`AuditRecord` holds the inputs as received, every computed variable, rule hits,
decision-table rows, points per scorecard attribute, model probabilities with their top
contributions, the reasons, the policy's name, version and hash, the arm and the time each
node took. :meth:`AuditRecord.to_dict` gives the JSON the repository stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fengkong.jsonvalues import json_ready

__all__ = ["AuditRecord", "Decision", "json_ready"]


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

    def fields(self) -> dict[str, Any]:
        """The record's fields as they are (dates, Decimals): what the repository writes
        with :func:`fengkong.jsonvalues.json_text`."""
        return {
            "policy": self.policy,
            "version": self.version,
            "sha256": self.sha256,
            "arm": self.arm,
            "inputs": self.inputs,
            "variables": self.variables,
            "rule_hits": self.rule_hits,
            "table_rows": self.table_rows,
            "points": self.points,
            "models": self.models,
            "reasons": self.reasons,
            "timings_ns": self.timings_ns,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the decision repository stores)."""
        return json_ready(self.fields())  # type: ignore[no-any-return]


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
