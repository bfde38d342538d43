"""The decision engine (in progress): policy files, decision tables, two backends.

:func:`load_policy` checks a policy file (every problem at once) and compiles it;
:meth:`Policy.decide` (one application) and :meth:`Policy.decide_frame` (a Polars frame) run
the same steps. Expressions use :mod:`fengkong.expression`'s policy dialect.
"""

from fengkong.policy.spec import Decision, Policy, check_policy, load_policy
from fengkong.policy.table import Cell, DecisionTable, check_table, parse_cell

__all__ = [
    "Cell",
    "Decision",
    "DecisionTable",
    "Policy",
    "check_policy",
    "check_table",
    "load_policy",
    "parse_cell",
]
