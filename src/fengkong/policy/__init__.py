"""The decision engine (in progress): decision tables; the policy spec, IR and backends follow.

See :mod:`fengkong.policy.table` and, for expressions, :mod:`fengkong.expression` (policy
dialect).
"""

from fengkong.policy.table import Cell, DecisionTable, check_table, parse_cell

__all__ = ["Cell", "DecisionTable", "check_table", "parse_cell"]
