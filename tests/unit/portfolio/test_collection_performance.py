"""Contact funnel and recovery by channel, worked by hand."""

import polars as pl
import pytest

from fengkong.errors import ConfigError
from fengkong.portfolio import contact_funnel, load_collection_costs, recovery_by_channel

RESPONSES = pl.DataFrame(
    {
        "loan_id": [1, 1, 1, 2, 2, 3],
        "mob": [2, 2, 2, 4, 4, 1],
        "channel": ["sms", "call", "agency", "call", "field_visit", "sms"],
        "contacted": [True, True, True, False, True, True],
        "right_party": [False, True, True, False, False, False],
        "promised": [False, True, False, False, False, False],
        "paid": [True, True, True, False, False, True],
    }
)
PERFORMANCE = pl.DataFrame(
    {
        "loan_id": [1, 2, 3],
        "mob": [3, 5, 2],
        "paid_fen": [10_001, 0, 500],
        "recovered_fen": [0, 0, 0],
    }
)
COSTS = {"sms": (5, 0), "call": (300, 0), "field_visit": (8000, 0), "agency": (0, 2500)}


def test_funnel_rates():
    f = contact_funnel(RESPONSES)
    call = f.filter(pl.col("channel") == "call").row(0, named=True)
    assert (
        call["attempts"],
        call["contacted"],
        call["right_party"],
        call["promised"],
        call["kept"],
    ) == (2, 1, 1, 1, 1)
    assert call["contact_rate"] == 0.5 and call["rpc_rate"] == 0.5
    assert call["promise_rate"] == 1.0 and call["promise_kept_rate"] == 1.0
    sms = f.filter(pl.col("channel") == "sms").row(0, named=True)
    assert sms["promise_rate"] is None and sms["promise_kept_rate"] is None


def test_recovery_split_in_whole_fen_and_costs():
    r = {
        row["channel"]: row
        for row in recovery_by_channel(RESPONSES, PERFORMANCE, costs=COSTS).iter_rows(named=True)
    }
    # loan 1, month 2: 10,001 fen paid next month, credited to the two right-party attempts
    # (call, agency): 5,001 + 5,000; loan 3: no right party, so the one SMS attempt gets 500
    assert r["call"]["recovered_fen"] == 5_001 and r["agency"]["recovered_fen"] == 5_000
    assert r["sms"]["recovered_fen"] == 500 and r["field_visit"]["recovered_fen"] == 0
    total = sum(v["recovered_fen"] for v in r.values())
    assert total == 10_001 + 500
    assert r["agency"]["cost_fen"] == 1_250  # 25 % commission
    assert r["call"]["cost_fen"] == 600 and r["field_visit"]["cost_fen"] == 8_000
    assert r["call"]["cost_per_unit_recovered"] == pytest.approx(600 / 5_001)
    assert r["field_visit"]["cost_per_unit_recovered"] is None


def test_costs_are_data_with_a_source(tmp_path):
    assert load_collection_costs()["agency"] == (0, 2500)
    bad = tmp_path / "costs.yaml"
    bad.write_text(
        "schema_version: 1\nchannels:\n  sms: {per_attempt_fen: 0.5, commission_bp: 0}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_collection_costs(bad)
    assert {p.path for p in err.value.problems} == {"source", "channels.sms"}
    with pytest.raises(ValueError, match="costs"):
        recovery_by_channel(RESPONSES, PERFORMANCE, costs={"sms": (5, 0)})
