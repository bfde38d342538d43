"""Portfolio analytics: panel, vintages, roll and flow rates, strata, monitoring, collections, reports."""

from fengkong.portfolio.collection_performance import (
    contact_funnel,
    load_collection_costs,
    recovery_by_channel,
)
from fengkong.portfolio.monitoring import (
    AlertRule,
    check_alerts,
    decision_rates,
    discrimination_by_month,
    load_alert_rules,
    score_psi_by_month,
    variable_csi_by_month,
)
from fengkong.portfolio.panel import bucket_expr, monthly_panel
from fengkong.portfolio.report import (
    ApplicationsView,
    PortfolioReport,
    book_applications_view,
    book_loan_attributes,
    portfolio_report,
)
from fengkong.portfolio.rolls import flow_rates, loss_rates, roll_matrix, roll_rates, transitions
from fengkong.portfolio.strata import DEFAULT_BANDS, pool_loans, pool_overview, stratify
from fengkong.portfolio.summary import pool_summary
from fengkong.portfolio.vintage import vintage_curves

__all__ = [
    "DEFAULT_BANDS",
    "AlertRule",
    "ApplicationsView",
    "PortfolioReport",
    "book_applications_view",
    "book_loan_attributes",
    "bucket_expr",
    "check_alerts",
    "contact_funnel",
    "decision_rates",
    "discrimination_by_month",
    "flow_rates",
    "load_alert_rules",
    "load_collection_costs",
    "loss_rates",
    "monthly_panel",
    "pool_loans",
    "pool_overview",
    "pool_summary",
    "portfolio_report",
    "recovery_by_channel",
    "roll_matrix",
    "roll_rates",
    "score_psi_by_month",
    "stratify",
    "transitions",
    "variable_csi_by_month",
    "vintage_curves",
]
