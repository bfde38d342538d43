"""Live champion/challenger comparison: costs per allowed attempt, recovery, roll rate."""

import polars as pl
import pytest

from fengkong.collections.cohorts import cohort_report


def test_costs_count_only_allowed_attempts_and_rates_add_up():
    actions = pl.DataFrame(
        {
            "case_id": ["a", "a", "b", "c", "c"],
            "arm": ["champion", "champion", "challenger", "challenger", "challenger"],
            "action": ["sms", "call", "field_visit", "call", "call"],
            "allowed": [True, True, True, True, False],
        }
    )
    cases = pl.DataFrame({"case_id": ["a", "b", "c"], "overdue_fen": [10_000, 40_000, 20_000]})
    events = pl.DataFrame(
        {
            "case_id": ["a", "b", "c"],
            "event": ["stage", "stage", "opened"],
            "from_stage": ["middle", "early", None],
            "to_stage": ["early", "middle", "early"],
        }
    )
    payments = pl.DataFrame({"case_id": ["a", "b", "b"], "amount_fen": [10_000, 5_000, 5_000]})
    report = {r["arm"]: r for r in cohort_report(actions, cases, events, payments).to_dicts()}
    champ, chall = report["champion"], report["challenger"]
    assert champ["attempts"] == 2 and champ["cost_fen"] == 5 + 300
    assert chall["attempts"] == 2 and chall["cost_fen"] == 8000 + 300  # the blocked call is free
    assert champ["recovery_rate"] == 1.0
    assert chall["recovery_rate"] == pytest.approx(10_000 / 60_000)
    assert champ["roll_rate"] == 0.0 and chall["roll_rate"] == 0.5  # a improved; b rolled
    assert chall["cost_per_yuan"] == pytest.approx(8300 / 10_000)
