"""The decision engine: versioned policies, one IR, a real-time and a batch backend, audit.

:func:`load_policy` (or :meth:`Policy.load`) checks a policy file — every problem at once —
and compiles it; :meth:`Policy.decide` runs one application through Python generated from the
IR, with the full :class:`AuditRecord`; :meth:`Policy.decide_frame` runs a Polars frame.
Expressions use :mod:`fengkong.expression`'s policy dialect.
"""

from fengkong.policy.audit import AuditRecord, Decision
from fengkong.policy.policy import Policy
from fengkong.policy.spec import check_policy, load_policy
from fengkong.policy.table import Cell, DecisionTable, check_table, parse_cell

__all__ = [
    "AuditRecord",
    "Cell",
    "Decision",
    "DecisionTable",
    "Policy",
    "check_policy",
    "check_table",
    "load_policy",
    "parse_cell",
]
