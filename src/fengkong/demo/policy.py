"""The demo's credit policy, fitted on the history half of the synthetic book.

About 100 variables (the ``demo_risk`` online variables, the application's own fields and
the relationship graph's features), a points scorecard and a LightGBM model fitted on the
history's approved applications with their observed outcome, 30 rules (hard bureau rules,
velocity and multi-lending rules at the history's 99.5th percentile, graph rules, score and
model cut-offs), a limit from the score and pricing with the true APR against the legal caps.
A declined decision carries no offer: the limit, rate and term (what the pricing step prices)
and the APR are null on a decline (:attr:`fengkong.policy.Policy.offer`).

The model (:data:`MODEL_FEATURES`) reads about twenty variables a risk team would sign off,
each with the direction of its risk as a monotone constraint: the history's bads are few
(tens in a small book) and many of them are fraud rings with clean bureau files, so a model
left to derive its directions from them learns that fewer inquiries mean more risk, and one
that stops early on a hold-out of a handful of bads keeps one or two trees (a few distinct
probabilities, contributions of zero). It is fitted on every history row with a fixed number
of small, regularised trees (``min_child_samples``, L2) instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import yaml

from fengkong.modeling import BinningProcess, GBMClassifier, Scorecard

__all__ = ["APPLICATION_INPUTS", "GRAPH_INPUTS", "write_challenger", "write_demo_policy"]

#: The application's own fields the policy reads (sent with each application).
APPLICATION_INPUTS = {
    "age": {"type": "integer"},
    "monthly_income_fen": {"type": "integer", "required": False},
    "requested_amount_fen": {"type": "integer"},
    "requested_term": {"type": "integer"},
    "bureau_inquiries_3m": {"type": "integer"},
    "bureau_open_loans": {"type": "integer"},
    "bureau_past_delinquency": {"type": "boolean"},
    "channel": {"type": "text", "categories": ["app", "h5", "partner_api", "offline"]},
    "application_date": {"type": "date"},
    "baseline_score": {"type": "integer", "required": False},  # the incumbent scorecard's
}
#: The graph features the rules and the model read.
GRAPH_INPUTS = (
    "component_size",
    "bad_1hop",
    "bad_2hop",
    "component_bad_share",
    "component_apps_7d",
    "devices_per_person",
    "persons_per_device",
)
#: The model's variables and the direction of their risk (+1 riskier as the value grows,
#: -1 safer, 0 free): the application, the incumbent score, the graph and velocity.
MODEL_FEATURES = {
    "baseline_score": -1,
    "age": -1,
    "monthly_income_fen": -1,
    "bureau_inquiries_3m": 1,
    "bureau_open_loans": 1,
    "requested_amount_fen": 0,
    "requested_term": 0,
    "component_size": 1,
    "bad_1hop": 1,
    "bad_2hop": 1,
    "component_bad_share": 1,
    "component_apps_7d": 1,
    "devices_per_person": 1,
    "persons_per_device": 1,
    "app_cnt_person_30d": 1,
    "app_cnt_person_90d": 1,
    "app_dcnt_institution_id_person_90d": 1,
    "loan_cnt_person_365d": 0,
    "app_dcnt_person_device_all": 1,
    "app_cnt_device_30d": 1,
    "app_dcnt_person_ip_30d": 1,
}
#: LightGBM settings for a book of hundreds to thousands of approved applications with tens
#: of bads: small trees, at least 20 rows a leaf, L2, a fixed number of rounds (no hold-out).
MODEL_SETTINGS: dict[str, Any] = {
    "n_estimators": 150,
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_child_samples": 20,
    "early_stopping_rounds": 0,
    "params": {"lambda_l2": 2.0},
}
_CARD_FEATURES = (
    "age",
    "monthly_income_fen",
    "bureau_inquiries_3m",
    "bureau_open_loans",
    "app_cnt_person_30d",
    "app_dcnt_institution_id_person_90d",
    "loan_cnt_person_365d",
    "app_dcnt_person_device_all",
)


def write_demo_policy(folder: Path, train: pl.DataFrame, variables: list[str]) -> Path:
    """Fit the scorecard and the model on ``train`` (numeric columns and ``bad``) and write
    ``credit.yaml`` with its artifacts into ``folder``; returns the policy's path."""
    folder.mkdir(parents=True, exist_ok=True)
    y = train["bad"].to_numpy()
    numeric = [
        c
        for c in (
            *variables,
            *GRAPH_INPUTS,
            "age",
            "monthly_income_fen",
            "bureau_inquiries_3m",
            "bureau_open_loans",
            "requested_amount_fen",
            "requested_term",
            "baseline_score",
        )
        if c in train.columns and train[c].dtype.is_numeric()
    ]
    frame = train.select(numeric).fill_nan(None)
    card = Scorecard(BinningProcess()).fit(frame.select(_CARD_FEATURES), y)
    card.model_.save(folder / "credit_scorecard.json")
    features = [c for c in MODEL_FEATURES if c in frame.columns]
    gbm = GBMClassifier(
        monotone={c: MODEL_FEATURES[c] for c in features}, name="credit_gbm", **MODEL_SETTINGS
    )
    gbm.fit(frame.select(features), y)
    gbm.artifact_.save(folder / "credit_gbm")
    rules: list[dict[str, Any]] = [
        {"id": "H01_UNDERAGE", "when": "age < 18", "action": "decline"},
        {"id": "H02_OVERAGE", "when": "age > 65", "action": "decline"},
        {
            "id": "H03_DELINQUENT",
            "when": "bureau_past_delinquency and bureau_inquiries_3m >= 8",
            "action": "decline",
        },
        {"id": "H04_INQUIRIES", "when": "bureau_inquiries_3m >= 15", "action": "decline"},
        {"id": "H05_OPEN_LOANS", "when": "bureau_open_loans >= 10", "action": "refer"},
        {"id": "H06_AMOUNT", "when": "requested_amount_fen > 20000000", "action": "refer"},
    ]
    velocity = [
        v
        for v in variables
        if v.startswith(("app_cnt_", "app_dcnt_", "loan_cnt_", "loan_dcnt_")) and v in train.columns
    ]
    for k, name in enumerate(velocity[:19]):
        q = train[name].drop_nulls().quantile(0.995)
        if q is None:
            continue
        action = "decline" if k % 3 == 0 else "refer"
        rules.append({"id": f"V{k + 1:02d}_{name.upper()}"[:60], "when": f"{name} > {float(q)!r}",
                      "action": action})  # fmt: skip
    rules += [
        {"id": "G01_BAD_NEIGHBOUR", "when": "bad_1hop >= 1", "action": "decline"},
        {"id": "G02_BAD_2HOP", "when": "bad_2hop >= 2", "action": "refer"},
        {"id": "G03_BIG_COMPONENT", "when": "component_size > 15", "action": "refer"},
        {"id": "M01_MODEL", "when": "credit_gbm_probability > 0.25", "action": "decline"},
        {"id": "S01_SCORE", "when": "credit_score < 550", "action": "decline"},
    ]
    policy = {
        "schema_version": 1,
        "name": "demo_credit",
        "version": "1",
        "description": "The demo's credit policy: online variables, graph features, a points "
        "scorecard, a LightGBM model, 30 rules, a score-based limit and legal pricing.",
        "variables": "demo_risk",
        "graph_features": True,
        "inputs": APPLICATION_INPUTS,
        "scorecards": {
            "credit": {
                "artifact": "credit_scorecard.json",
                "sha256": card.model_.sha256,
                "reasons": 4,
            }
        },
        "models": {
            "credit_gbm": {
                "artifact": "credit_gbm.txt",
                "sha256": gbm.artifact_.sha256,
                "reasons": 3,
            }
        },
        "derived": {
            "band": "'A' if credit_score >= 620 else ('B' if credit_score >= 570 else 'C')",
        },
        "rules": rules[:30],
        "outputs": {
            "limit_fen": "min(requested_amount_fen, 5000000 if band == 'A' else "
            "(3000000 if band == 'B' else 1500000))",
            "rate": "0.09 if band == 'A' else (0.12 if band == 'B' else 0.15)",
            "term_months": "clip(requested_term, 3, 24)",
            "score_band": "band",
        },
        "pricing": {
            "product": "cash_loan",
            "jurisdiction": "cn",
            "lender_type": "licensed",
            "amount_fen": "limit_fen",
            "annual_rate": "rate",
            "term_months": "term_months",
            "date": "application_date",
            "on_breach": "refer",
        },
    }
    path = folder / "credit.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def write_challenger(champion: Path, *, score_cutoff: int = 580) -> Path:
    """A challenger beside ``champion``: version 2, the same models, a stricter score
    cut-off — what the simulator compares before anyone promotes it."""
    data = yaml.safe_load(champion.read_text(encoding="utf-8"))
    data["version"] = "2"
    data["description"] = f"Challenger: the score cut-off raised to {score_cutoff}."
    for rule in data["rules"]:
        if rule["id"] == "S01_SCORE":
            rule["when"] = f"credit_score < {score_cutoff}"
    path = champion.with_name("credit_v2.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
