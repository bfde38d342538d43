"""A small credit-like data set and a fitted scorecard shared by the scorecard tests."""

from __future__ import annotations

import numpy as np
import polars as pl

from fengkong.modeling import BinningProcess, Scorecard


def credit_data(n: int = 20_000, seed: int = 7) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.5, 0.6, n).round(0)
    age = rng.integers(18, 70, n).astype(float)
    channel = rng.choice(["app", "h5", "partner_api", "offline"], n, p=[0.5, 0.3, 0.15, 0.05])
    inquiries = rng.poisson(1.5, n).astype(float)
    logit = (
        -2.2
        - (income - 5000) / 6000
        + np.where(age < 25, 0.6, 0)
        + np.where(channel == "partner_api", 0.5, 0)
        + 0.25 * inquiries
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    income[rng.random(n) < 0.03] = -999
    income[rng.random(n) < 0.05] = np.nan
    frame = pl.DataFrame({"income": income, "age": age, "channel": channel, "inquiries": inquiries})
    return frame, y


def fitted_scorecard(decimals: int = 0, unknown: str = "missing") -> tuple[Scorecard, pl.DataFrame]:
    X, y = credit_data()
    sc = Scorecard(
        BinningProcess(special_codes=[-999]),
        decimals=decimals,
        unknown=unknown,
        reason_codes={"income": "R01", "age": "R02", "channel": "R03", "inquiries": "R04"},
    )
    return sc.fit(X, y), X


def probe_rows(sc: Scorecard, n: int = 300, seed: int = 1) -> list[dict]:
    """Rows hitting every edge: exact cut points, specials, None, NaN, unseen levels."""
    rng = np.random.default_rng(seed)
    model = sc.model_
    cuts = {v.name: list(v.table.splits) for v in model.variables if v.table.kind == "numeric"}
    rows = []
    for k in range(n):
        row = {}
        for v in model.variables:
            t = v.table
            if t.kind == "categorical":
                row[v.name] = [*(lv for g in t.groups for lv in g), None, "wechat"][k % 6]
                continue
            choice = k % 5
            if choice == 0 and cuts[v.name]:
                row[v.name] = float(rng.choice(cuts[v.name]))
            elif choice == 1:
                row[v.name] = None
            elif choice == 2 and t.specials:
                row[v.name] = float(t.specials[0])
            else:
                row[v.name] = float(
                    rng.normal(5000, 4000) if v.name == "income" else rng.integers(0, 80)
                )
        rows.append(row)
    return rows
