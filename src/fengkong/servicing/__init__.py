"""Loan servicing core: products, schedules, true APR and legal caps (pure, no I/O)."""
