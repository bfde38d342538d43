"""Simulation over the synthetic book: figures agree with a hand count, the oracle covers
every application, the swap matrix adds up, and the report files are written."""

import polars as pl
import pytest

from fengkong.errors import InvalidArgumentError
from fengkong.modeling import application_dataset
from fengkong.policy import load_policy
from fengkong.policy.simulate import simulate, simulation_report
from fengkong.synth import generate


def _policy(max_inquiries):
    return load_policy(
        {
            "schema_version": 1,
            "name": "inq",
            "version": str(max_inquiries),
            "inputs": {"age": {"type": "integer"}, "bureau_inquiries_3m": {"type": "integer"}},
            "rules": [
                {"id": "AGE", "when": "age < 20", "action": "decline"},
                {
                    "id": "INQ",
                    "when": f"bureau_inquiries_3m > {max_inquiries}",
                    "action": "decline",
                },
            ],
        }
    )


@pytest.fixture(scope="module")
def data():
    return application_dataset(generate(4_000, seed=2))


def test_simulation_figures_match_a_hand_count(data, tmp_path):
    a, b = _policy(6), _policy(3)
    sim = simulate(a, data, challenger=b, outcome="bad", known="accepted", oracle=True,
                   segment="channel", keep=("application_id",))  # fmt: skip
    ok_a = (data["age"] >= 20) & (data["bureau_inquiries_3m"] <= 6)
    ok_b = (data["age"] >= 20) & (data["bureau_inquiries_3m"] <= 3)
    row_a = sim.summary.row(0, named=True)
    assert row_a["approval_rate"] == pytest.approx(ok_a.mean())
    assert row_a["oracle_bad_rate"] == pytest.approx(data.filter(ok_a)["bad"].mean())
    known = data.filter(ok_a & data["accepted"])
    assert row_a["observed_bad_rate"] == pytest.approx(known["bad"].mean())
    assert row_a["observed_n"] == known.height
    swap = sim.swap
    assert swap["applications"].sum() == data.height
    out = swap.filter(pl.col("swap") == "swap-out")["applications"].sum()
    assert out == (ok_a & ~ok_b).sum()
    assert swap.filter(pl.col("swap") == "swap-in").height == 0  # b is stricter than a
    assert sim.segments.filter(pl.col("policy") == "inq v6")["applications"].sum() == data.height
    path = simulation_report(sim, tmp_path / "sim")
    assert "Swap-in / swap-out" in path.read_text()
    assert pl.read_parquet(tmp_path / "sim" / "decisions.parquet").height == data.height


def test_simulation_names_a_missing_column(data):
    with pytest.raises(InvalidArgumentError, match="outcome"):
        simulate(_policy(6), data, outcome="default_flag")
