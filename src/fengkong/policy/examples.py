"""A reference credit policy and matching applications (benchmarks, tests, docs, the demo).

:func:`write_reference_policy` writes ``credit.yaml`` with a 7-attribute points scorecard
(``credit_scorecard.json``, pinned by hash), hard rules and a 20-row first-hit limit table
with reason codes over 12 declared inputs; :func:`reference_applications` draws applications
for it, with a share of missing and out-of-range values.

>>> import tempfile
>>> from fengkong.policy import load_policy
>>> with tempfile.TemporaryDirectory() as d:
...     policy = load_policy(write_reference_policy(d))
>>> apps = reference_applications(3, seed=1)
>>> [policy.decide(a).decision for a in apps.to_dicts()]
['approve', 'approve', 'approve']
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from fengkong.modeling.artifact import ScorecardModel, ScorecardVariable
from fengkong.modeling.table import BinningTable

__all__ = ["reference_applications", "reference_scorecard", "write_reference_policy"]

CHANNELS = ("app", "h5", "partner_api", "offline")


def _numeric(
    name: str, splits: tuple[float, ...], points: tuple[int, ...], code: str
) -> ScorecardVariable:
    n = len(splits) + 2  # regular bins and the missing bin
    table = BinningTable(name, "numeric", splits=splits, nonevent=(100,) * n, event=(10,) * n)
    return ScorecardVariable(table, tuple(Decimal(p) for p in points), code, -1.0)


def reference_scorecard() -> ScorecardModel:
    """A 7-attribute points scorecard (integer points, base 600 at odds 50, PDO 20)."""
    channel = BinningTable(
        "channel",
        "categorical",
        groups=(("app",), ("h5", "offline"), ("partner_api",)),
        nonevent=(100, 100, 100, 100),
        event=(10, 10, 10, 10),
    )
    variables = (
        _numeric("age", (22.0, 25.0, 30.0, 40.0, 55.0), (40, 55, 65, 78, 85, 70, 50), "AGE"),
        _numeric("income_fen", (300_000.0, 600_000.0, 1_200_000.0), (45, 60, 75, 90, 40), "INC"),
        _numeric("inquiries_3m", (1.0, 3.0, 6.0), (95, 80, 60, 30, 60), "INQ"),
        _numeric("dti", (0.2, 0.35, 0.5), (90, 75, 55, 35, 50), "DTI"),
        _numeric("months_employed", (6.0, 24.0, 60.0), (40, 60, 75, 85, 50), "EMP"),
        _numeric("overdue_count_12m", (1.0, 2.0, 4.0), (100, 70, 45, 20, 60), "OVD"),
        ScorecardVariable(channel, tuple(Decimal(p) for p in (80, 65, 50, 55)), "CHN", -1.0),
    )
    return ScorecardModel(
        variables, base_points=600.0, base_odds=50.0, pdo=20.0, decimals=0, name="credit"
    )


def _limit_table() -> dict[str, object]:
    bands = ["< 440", "[440, 480)", "[480, 520)", "[520, 560)", ">= 560"]
    dti = ["< 0.2", "[0.2, 0.35)", "[0.35, 0.5)", "-"]
    base = [0, 300_000, 800_000, 1_500_000, 3_000_000]
    factor = [1.0, 0.8, 0.5, 0.25]
    rows = []
    for b, (band, amount) in enumerate(zip(bands, base, strict=True)):
        for d, (cell, f) in enumerate(zip(dti, factor, strict=True)):
            rows.append(
                {
                    "when": {"credit_score": band, "dti": cell},
                    "then": {"limit_fen": int(amount * f), "reason": f"L{b}{d}"},
                }
            )
    return {
        "hit": "first",
        "inputs": ["credit_score", "dti"],
        "outputs": ["limit_fen", "reason"],
        "rows": rows,
    }


def write_reference_policy(folder: str | Path, *, version: str = "1") -> Path:
    """Write ``credit.yaml`` and its scorecard into ``folder``; return the policy's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    card = reference_scorecard()
    card.save(folder / "credit_scorecard.json")
    policy = {
        "schema_version": 1,
        "name": "credit",
        "version": version,
        "description": "Reference policy: 12 inputs, a 7-attribute scorecard, a 20-row limit table.",
        "inputs": {
            "application_id": {"type": "text"},
            "age": {"type": "integer"},
            "income_fen": {"type": "integer", "required": False},
            "channel": {"type": "text", "categories": list(CHANNELS)},
            "inquiries_3m": {"type": "integer"},
            "dti": {"type": "number", "required": False},
            "months_employed": {"type": "integer"},
            "overdue_count_12m": {"type": "integer"},
            "has_mortgage": {"type": "boolean", "required": False},
            "bank_tenure_months": {"type": "integer", "required": False},
            "device_risk": {"type": "number"},
            "city_tier": {"type": "integer"},
        },
        "scorecards": {
            "credit": {"artifact": "credit_scorecard.json", "sha256": card.sha256, "reasons": 4}
        },
        "rules": [
            {"id": "R01_UNDERAGE", "when": "age < 18", "action": "decline"},
            {"id": "R02_OVERDUE", "when": "overdue_count_12m >= 6", "action": "decline"},
            {"id": "R03_DEVICE", "when": "device_risk > 0.9", "action": "decline"},
            {"id": "R04_LOW_SCORE", "when": "credit_score < 440", "action": "decline"},
            {
                "id": "R05_INQUIRIES",
                "when": "inquiries_3m >= 10 and city_tier >= 3",
                "action": "refer",
            },
        ],
        "tables": {"limit": _limit_table()},
        "outputs": {
            "limit_fen": "coalesce(limit_limit_fen, 0)",
            "limit_code": "limit_reason",
        },
    }
    path = folder / "credit.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def reference_applications(n: int, *, seed: int = 0) -> pl.DataFrame:
    """``n`` applications for the reference policy (about 3% of optional fields missing)."""
    rng = np.random.default_rng(seed)

    def some_missing(values: np.ndarray, share: float = 0.03) -> list[object]:
        out: list[object] = values.tolist()
        for k in np.flatnonzero(rng.random(n) < share):
            out[k] = None
        return out

    return pl.DataFrame(
        {
            "application_id": [f"A{k:09d}" for k in range(n)],
            "age": rng.integers(17, 70, n),
            "income_fen": pl.Series(
                some_missing(rng.integers(100_000, 3_000_000, n)), dtype=pl.Int64
            ),
            "channel": rng.choice(np.array(CHANNELS), n, p=[0.5, 0.25, 0.15, 0.1]),
            "inquiries_3m": rng.poisson(2.0, n),
            "dti": pl.Series(some_missing(np.round(rng.beta(2, 5, n), 4)), dtype=pl.Float64),
            "months_employed": rng.integers(0, 240, n),
            "overdue_count_12m": rng.poisson(0.4, n),
            "has_mortgage": rng.random(n) < 0.3,
            "bank_tenure_months": rng.integers(0, 200, n),
            "device_risk": np.round(rng.random(n) ** 3, 4),
            "city_tier": rng.integers(1, 5, n),
        }
    )
