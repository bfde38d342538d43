"""Benchmark of the decision engine against zen-engine and hand-written Python if/else.

The same policy in all three: 12 inputs, a 7-attribute points scorecard, five hard rules and a
20-row first-hit limit table with reason codes (``fengkong.policy.examples``). zen-engine
(GoRules, Rust) runs it as a JSON decision model built from the same scorecard and table
objects: an expression node for the points, one for the score, the decision table and an
expression node for the decision and rule reasons. The three must agree on every decision and
limit of the sample before any time is reported.

* real time: one decision per call over 20,000 applications, per-call wall time (median, p99);
  fengkong with the full audit record on (and off), zen-engine without and with its trace;
* batch: ``Policy.decide_frame`` over 1,000,000 applications on one core
  (``POLARS_MAX_THREADS=1``) against a zen-engine loop over 100,000 (decisions per second);
* a realistic decision, end to end in process: the synthetic book's 303 online variables
  (``application_risk``, from a state prepared on the earlier applications and loans), the
  relationship-graph features from an online graph seeded by a batch build, then a policy with
  a scorecard, a 300-tree LightGBM (contributions in the audit record) and 30 rules.

Run: ``python -m benchmarks.policy [--rows N] [--batch-rows N]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")  # one core for the batch figure
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import datetime as dt
import itertools
import json
import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from benchmarks._harness import SKIPPED, measure, parse_args, peer_available, report
from fengkong.modeling.artifact import ScorecardModel
from fengkong.policy import load_policy
from fengkong.policy.examples import (
    reference_applications,
    reference_scorecard,
    write_reference_policy,
)


# ---------------------------------------------------------------------- zen-engine model
def _zen_points(card: ScorecardModel) -> dict[str, str]:
    out = {}
    for v in card.variables:
        t, pts = v.table, [int(p) for p in v.points]
        if t.kind == "numeric":
            expr = str(pts[len(t.splits)])
            for k in range(len(t.splits) - 1, -1, -1):
                expr = f"{v.name} < {t.splits[k]} ? {pts[k]} : ({expr})"
            expr = f"{v.name} == null ? {pts[t.missing_index]} : ({expr})"
        else:
            expr = str(pts[t.missing_index])  # unseen levels score as missing
            for k in range(len(t.groups) - 1, -1, -1):
                test = " or ".join(f"{v.name} == '{level}'" for level in t.groups[k])
                expr = f"{test} ? {pts[k]} : ({expr})"
            expr = f"{v.name} == null ? {pts[t.missing_index]} : ({expr})"
        out[f"p_{v.name}"] = expr
    return out


def _zen_cell(cell: str) -> str:
    if cell == "-":
        return ""
    if cell.startswith("["):
        low, high = cell[1:-1].split(",")
        return f"[{low.strip()}..{high.strip()})"
    return cell


def zen_model(policy_yaml: dict[str, Any], card: ScorecardModel) -> dict[str, Any]:
    """The reference policy as a GoRules JSON decision model."""
    points = _zen_points(card)
    table = policy_yaml["tables"]["limit"]

    def expression_node(node_id: str, expressions: dict[str, str]) -> dict[str, Any]:
        return {
            "id": node_id,
            "name": node_id,
            "type": "expressionNode",
            "position": {"x": 0, "y": 0},
            "content": {
                "expressions": [
                    {"id": f"{node_id}-{k}", "key": key, "value": value}
                    for k, (key, value) in enumerate(expressions.items())
                ],
                "passThrough": True,
                "inputField": None,
                "outputPath": None,
                "executionMode": "single",
            },
        }

    rules = [(r["id"], r["when"]) for r in policy_yaml["rules"]]
    declines = " or ".join(f"({w})" for rid, w in rules[:4])
    refer = rules[4][1]
    reason_items = ", ".join(f"({w}) ? '{rid}' : null" for rid, w in rules)
    nodes = [
        {"id": "in", "name": "in", "type": "inputNode", "position": {"x": 0, "y": 0}},
        expression_node("points", points),
        expression_node("score", {"credit_score": " + ".join(points)}),
        {
            "id": "limit",
            "name": "limit",
            "type": "decisionTableNode",
            "position": {"x": 0, "y": 0},
            "content": {
                "hitPolicy": "first",
                "inputs": [
                    {"id": "i0", "name": "score", "field": "credit_score"},
                    {"id": "i1", "name": "dti", "field": "dti"},
                ],
                "outputs": [
                    {"id": "o0", "name": "limit", "field": "limit_fen"},
                    {"id": "o1", "name": "reason", "field": "limit_code"},
                ],
                "rules": [
                    {
                        "_id": f"r{k}",
                        "i0": _zen_cell(row["when"]["credit_score"]),
                        "i1": _zen_cell(row["when"]["dti"]),
                        "o0": str(row["then"]["limit_fen"]),
                        "o1": json.dumps(row["then"]["reason"]),
                    }
                    for k, row in enumerate(table["rows"])
                ],
                "passThrough": True,
                "inputField": None,
                "outputPath": None,
                "executionMode": "single",
            },
        },
        expression_node(
            "decide",
            {
                "decision": f"({declines}) ? 'decline' : (({refer}) ? 'refer' : 'approve')",
                "reasons": f"filter([{reason_items}], # != null)",
            },
        ),
        {"id": "out", "name": "out", "type": "outputNode", "position": {"x": 0, "y": 0}},
    ]
    order = ["in", "points", "score", "limit", "decide", "out"]
    edges = [
        {"id": f"e{k}", "type": "edge", "sourceId": a, "targetId": b}
        for k, (a, b) in enumerate(itertools.pairwise(order))
    ]
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


# ---------------------------------------------------------------------- hand-written Python
def hand_written(card: ScorecardModel, policy_yaml: dict[str, Any]) -> Callable[[dict], tuple]:
    """The same policy as plain Python if/else (what a developer would write by hand)."""
    tables = [
        (v.name, list(v.table.splits), [int(p) for p in v.points], v.table.missing_index)
        for v in card.variables
        if v.table.kind == "numeric"
    ]
    channel_points = {"app": 80, "h5": 65, "offline": 65, "partner_api": 50}

    def decide(a: dict) -> tuple:
        score = 0
        for name, splits, pts, missing in tables:
            v = a[name]
            score += pts[missing] if v is None else pts[bisect_right(splits, v)]
        score += channel_points.get(a["channel"], 55)
        reasons = []
        if a["age"] < 18:
            reasons.append("R01_UNDERAGE")
        if a["overdue_count_12m"] >= 6:
            reasons.append("R02_OVERDUE")
        if a["device_risk"] > 0.9:
            reasons.append("R03_DEVICE")
        if score < 440:
            reasons.append("R04_LOW_SCORE")
        refer = a["inquiries_3m"] >= 10 and a["city_tier"] >= 3
        if refer:
            reasons.append("R05_INQUIRIES")
        band = (
            0
            if score < 440
            else 1
            if score < 480
            else 2
            if score < 520
            else 3
            if score < 560
            else 4
        )
        dti = a["dti"]
        col = 3 if dti is None else 0 if dti < 0.2 else 1 if dti < 0.35 else 2 if dti < 0.5 else 3
        row = policy_yaml["tables"]["limit"]["rows"][band * 4 + col]["then"]
        declined = len(reasons) > (1 if refer else 0)
        decision = "decline" if declined else "refer" if refer else "approve"
        return decision, row["limit_fen"], tuple(reasons)

    return decide


# ---------------------------------------------------------------------- measurements
def _latencies(fn: Callable[[dict], Any], apps: list[dict]) -> dict[str, float]:
    for a in apps[:2000]:  # warm caches and compiled paths
        fn(a)
    times = []
    clock = time.perf_counter_ns
    for a in apps:
        t0 = clock()
        fn(a)
        times.append(clock() - t0)
    times.sort()
    return {
        "median_us": times[len(times) // 2] / 1000,
        "p99_us": times[int(len(times) * 0.99)] / 1000,
        "max_us": times[-1] / 1000,
    }


def _engines(folder: Path, *, with_zen: bool = True) -> dict[str, Callable[[dict], Any]]:
    policy = load_policy(folder / "credit.yaml")
    data = yaml.safe_load((folder / "credit.yaml").read_text())
    card = reference_scorecard()
    engines: dict[str, Callable[[dict[str, Any]], Any]] = {
        "fengkong row, audit on": policy.decide,
        "fengkong row, audit off": lambda a: policy.decide(a, audit=False),
    }
    if with_zen:
        import zen  # noqa: PLC0415 (a benchmark-only dependency)

        decision = zen.ZenEngine().create_decision(json.dumps(zen_model(data, card)))
        engines["zen-engine"] = decision.evaluate
        engines["zen-engine, trace"] = lambda a: decision.evaluate(a, {"trace": True})
    engines["hand-written if/else"] = hand_written(card, data)
    return engines


def _agreement(folder: Path, apps: list[dict], *, with_zen: bool = True) -> dict[str, int]:
    engines = _engines(folder, with_zen=with_zen)
    disagree = {"hand-written if/else": 0} | ({"zen-engine": 0} if with_zen else {})
    for a in apps:
        d = engines["fengkong row, audit on"](a)
        h = engines["hand-written if/else"](a)
        rules = tuple(r for r in d.reasons if r.startswith("R0"))
        ours = (d.decision, d.outputs["limit_fen"], rules)
        if with_zen:
            z = engines["zen-engine"](a)["result"]
            disagree["zen-engine"] += ours != (z["decision"], z["limit_fen"], tuple(z["reasons"]))
        disagree["hand-written if/else"] += ours != h
    return disagree


def _row(folder: Path, n: int, *, with_zen: bool = True) -> dict[str, Any]:
    apps = reference_applications(n, seed=7).to_dicts()
    engines = _engines(folder, with_zen=with_zen)
    return {name: _latencies(fn, apps) for name, fn in engines.items()}


def _batch(folder: Path, n: int) -> dict[str, Any]:
    policy = load_policy(folder / "credit.yaml")
    frame = reference_applications(n, seed=8)
    policy.decide_frame(frame.head(10_000))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        out = policy.decide_frame(frame)
        best = min(best, time.perf_counter() - t0)
    return {
        "seconds": best,
        "per_second": n / best,
        "approve": float((out["decision"] == "approve").mean()),
    }


def _zen_loop(folder: Path, n: int) -> dict[str, Any]:
    engine = _engines(folder)["zen-engine"]
    apps = reference_applications(n, seed=8).to_dicts()
    t0 = time.perf_counter()
    for a in apps:
        engine(a)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "per_second": n / seconds}


# ---------------------------------------------------------------------- realistic decision
def _realistic(n_apps: int, live: int) -> dict[str, Any]:

    from fengkong.features import build_variables, load_spec  # noqa: PLC0415
    from fengkong.modeling import (  # noqa: PLC0415
        BinningProcess,
        GBMClassifier,
        Scorecard,
        application_dataset,
    )
    from fengkong.services.online import seed_state  # noqa: PLC0415
    from fengkong.synth import generate  # noqa: PLC0415

    book = generate(n_apps, seed=3)
    spec = load_spec("application_risk")
    apps = book.applications.sort("applied_at")
    history, tail = apps.head(apps.height - live), apps.tail(live)
    variables = build_variables(spec, {"app": history, "loan": book.loans}, target="app")
    names = [c for c in variables.columns if c != "application_id"]
    labels = application_dataset(book).select("application_id", "bad")
    train = variables.join(labels, on="application_id").sample(min(60_000, history.height), seed=0)
    y = train["bad"].to_numpy()
    numeric = [c for c in names if train[c].dtype.is_numeric()]
    gbm_features = numeric[:40]
    gbm = GBMClassifier(n_estimators=300, early_stopping_rounds=0, monotone="none", name="fraud")
    gbm.fit(train.select(gbm_features).fill_nan(None), y)
    card_features = numeric[40:48]
    card = Scorecard(BinningProcess()).fit(train.select(card_features).fill_nan(None), y)
    folder = Path(tempfile.mkdtemp(prefix="fk-bench-realistic-"))
    card.model_.save(folder / "card.json")
    gbm.artifact_.save(folder / "gbm")
    graph_names = ["component_size", "bad_1hop", "bad_2hop", "component_bad_share",
                   "component_apps_7d", "devices_per_person", "persons_per_device"]  # fmt: skip
    quantiles = {c: train[c].drop_nulls().quantile(0.995) for c in numeric[:26]}
    rules = [
        {
            "id": f"V{k:02d}",
            "when": f"{c} > {float(q)!r}",
            "action": "refer" if k % 3 else "decline",
        }
        for k, (c, q) in enumerate(quantiles.items())
        if q is not None
    ][:26]
    rules += [
        {"id": "G01", "when": "bad_1hop >= 1", "action": "decline"},
        {"id": "G02", "when": "component_size > 20", "action": "refer"},
        {"id": "F01", "when": "fraud_probability > 0.5", "action": "decline"},
        {"id": "S01", "when": "card_score < 480", "action": "decline"},
    ]
    policy_yaml = {
        "schema_version": 1,
        "name": "realistic",
        "version": "1",
        "inputs": {
            **{c: {"type": "number", "required": False} for c in numeric},
            **{c: {"type": "number", "required": False} for c in graph_names},
        },
        "scorecards": {"card": {"artifact": "card.json", "sha256": card.model_.sha256}},
        "models": {"fraud": {"artifact": "gbm.txt", "sha256": gbm.artifact_.sha256, "reasons": 3}},
        "rules": rules,
        "outputs": {"limit_fen": "0 if card_score < 500 else 500000 + (card_score - 500) * 10000"},
    }
    (folder / "realistic.yaml").write_text(yaml.safe_dump(policy_yaml, sort_keys=False))
    policy = load_policy(folder / "realistic.yaml")

    # the prepared state, as a worker seeds it (``seed_state``): every earlier application and
    # every loan known before the cut (a loan is known once its disbursement day is over), and
    # the relationship graph of the earlier applicants, its clock at the cut
    cut = history["applied_at"].max() + dt.timedelta(microseconds=1)
    state = seed_state(
        {"applications": history, "loans": book.loans},
        specs=["application_risk"],
        as_of=cut,
        identifiers=book.person_identifiers,
    )
    engine, online = state.engine("application_risk"), state.graph
    ids = book.person_identifiers.group_by("person_id").agg("id_type", "id_value", "first_seen")
    per_person = {r[0]: list(zip(r[1], r[2], r[3], strict=True)) for r in ids.iter_rows()}
    rows = list(tail.iter_rows(named=True))
    # each application links the identifiers its applicant holds by then (point in time: none
    # first seen at a later application), prepared before the clock starts
    linked = [
        [i for i in per_person.get(app["person_id"], []) if i[2] <= app["applied_at"]]
        for app in rows
    ]

    def inputs(app: dict[str, Any], identifiers: list[Any]) -> dict[str, Any]:
        """The application's variables and graph features, as the service computes them."""
        values = engine.compute(app)
        graph = online.add(app["person_id"], identifiers, app["applied_at"])
        return {
            **{c: _num(values.get(c)) for c in numeric},
            **{c: _num(graph.get(c)) for c in graph_names},
        }

    for app, identifiers in zip(rows[:200], linked, strict=False):
        policy.decide(inputs(app, identifiers))
    import gc  # noqa: PLC0415

    gc.collect()
    gc.freeze()
    times, decide_times, decisions = [], [], []
    prepared: list[dict[str, Any]] = []  # the inputs of the first 2,000, decided again below
    clock = time.perf_counter_ns
    for app, identifiers in zip(rows[200:], linked[200:], strict=True):
        t0 = clock()
        x = inputs(app, identifiers)
        d = policy.decide(x)
        times.append(clock() - t0)
        decisions.append(d.decision)
        engine.observe("app", app)
        if len(prepared) < 2000:
            prepared.append(x)
    for x in prepared:
        t0 = clock()
        policy.decide(x)
        decide_times.append(clock() - t0)
    times.sort()
    decide_times.sort()
    return {
        "variables": len(numeric) + len(graph_names),
        "rules": len(policy.rules),
        "trees": 300,
        "end_to_end_p50_us": times[len(times) // 2] / 1000,
        "end_to_end_p99_us": times[int(len(times) * 0.99)] / 1000,
        "end_to_end_max_us": times[-1] / 1000,
        "policy_p50_us": decide_times[len(decide_times) // 2] / 1000,
        "policy_p99_us": decide_times[int(len(decide_times) * 0.99)] / 1000,
        "decisions": {d: decisions.count(d) for d in set(decisions)},
        "calls": len(times),
    }


def _num(value: Any) -> Any:
    """Online values as the policy's number inputs take them (booleans as 0/1)."""
    if isinstance(value, bool):
        return int(value)
    return value if isinstance(value, int | float) or value is None else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000, help="Applications timed one by one.")
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    parser.add_argument("--zen-rows", type=int, default=100_000)
    parser.add_argument("--realistic-apps", type=int, default=200_000, help="0 to skip.")
    parser.add_argument("--realistic-calls", type=int, default=5_000)
    parser.add_argument(
        "--agreement", type=int, default=20_000, help="Applications every engine must agree on."
    )
    args = parse_args(
        parser,
        tiny={"rows": 300, "batch_rows": 2_000, "zen_rows": 300, "realistic_apps": 2_500,
              "realistic_calls": 300, "agreement": 500},
    )  # fmt: skip
    with_zen = peer_available("zen", tiny=args.tiny)
    nan = float("nan")
    with tempfile.TemporaryDirectory(prefix="fk-bench-policy-") as tmp:
        folder = Path(tmp)
        write_reference_policy(folder)
        agree = measure(
            lambda: _agreement(
                folder, reference_applications(args.agreement, seed=9).to_dicts(), with_zen=with_zen
            )
        )
        if any(agree["extra"].values()):
            raise SystemExit(f"the engines disagree: {agree['extra']}")
        row = measure(lambda: _row(folder, args.rows, with_zen=with_zen))["extra"]
        zen_loop = (
            measure(lambda: _zen_loop(folder, args.zen_rows))["extra"]
            if with_zen
            else {"seconds": nan, "per_second": nan}
        )
        realistic = (
            measure(lambda: _realistic(args.realistic_apps, args.realistic_calls))["extra"]
            if args.realistic_apps
            else None
        )
        # last and in this process: a forked child runs the columnar kernels ~10% slower
        # (fresh heap), and nothing forks after Polars has started here
        batch = _batch(folder, args.batch_rows)
    rows = [
        {
            "engine": name,
            **stats,
            "vs fengkong audit on": stats["median_us"] / row["fengkong row, audit on"]["median_us"],
        }
        for name, stats in row.items()
    ]
    rows.append(
        {
            "engine": f"fengkong batch, 1 core ({args.batch_rows:,} rows)",
            "median_us": 1e6 / batch["per_second"],
            "p99_us": float("nan"),
            "max_us": float("nan"),
            "vs fengkong audit on": float("nan"),
        }
    )
    rows.append(
        {
            "engine": f"zen-engine loop ({args.zen_rows:,} rows)"
            + ("" if with_zen else f" ({SKIPPED})"),
            "median_us": 1e6 / zen_loop["per_second"],
            "p99_us": float("nan"),
            "max_us": float("nan"),
            "vs fengkong audit on": float("nan"),
        }
    )
    report(
        "policy",
        rows,
        {
            "agreement_sample": args.agreement,
            "disagreements": agree["extra"],
            "batch_decisions_per_second": batch["per_second"],
            "zen_loop_decisions_per_second": zen_loop["per_second"],
            "batch_vs_zen_loop": batch["per_second"] / zen_loop["per_second"],
            "realistic": realistic,
            "generated_on": dt.date.today().isoformat(),
        },
    )
    print(
        f"batch: {batch['per_second']:,.0f} decisions/s on one core; zen-engine loop "
        f"{zen_loop['per_second']:,.0f}/s; ratio {batch['per_second'] / zen_loop['per_second']:.1f}x"
    )
    if realistic is not None:
        print(f"realistic decision: {realistic}")


if __name__ == "__main__":
    main()
