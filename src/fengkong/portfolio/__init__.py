"""Portfolio analytics: the monthly panel, vintages, roll and flow rates, losses, pool summaries."""

from fengkong.portfolio.panel import bucket_expr, monthly_panel
from fengkong.portfolio.rolls import flow_rates, loss_rates, roll_matrix, roll_rates, transitions
from fengkong.portfolio.strata import DEFAULT_BANDS, pool_loans, pool_overview, stratify
from fengkong.portfolio.summary import pool_summary
from fengkong.portfolio.vintage import vintage_curves

__all__ = [
    "DEFAULT_BANDS",
    "bucket_expr",
    "flow_rates",
    "loss_rates",
    "monthly_panel",
    "pool_loans",
    "pool_overview",
    "pool_summary",
    "roll_matrix",
    "roll_rates",
    "stratify",
    "transitions",
    "vintage_curves",
]
