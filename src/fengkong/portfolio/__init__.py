"""Portfolio analytics: pool summaries (vintages, roll rates and stratification to come)."""

from fengkong.portfolio.summary import pool_summary

__all__ = ["pool_summary"]
