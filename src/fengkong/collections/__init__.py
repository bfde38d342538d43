"""Collections: cases, the collection score, strategies, guardrails, promises, allocation,
agencies and simulation (see ``docs/collections.md``).

:func:`check_attempt` returns every conduct rule a contact attempt would break (quiet hours
in the debtor's local time, frequency across lender and agencies, third parties, stop states,
recording, banned content), from rule profiles kept as data with their sources
(:func:`load_contact_rules`). :func:`run_day` runs a day: :func:`update_cases`, promises, the
strategy's plan (:func:`load_strategy`), the guardrails on every planned contact and
:func:`allocate`. :func:`simulate_strategy` compares strategies before they go live.
"""

from fengkong.collections.agencies import agency_performance, load_agencies, place_cases
from fengkong.collections.allocation import Allocation, allocate, allocate_greedy
from fengkong.collections.cases import Stages, update_cases
from fengkong.collections.cohorts import cohort_report
from fengkong.collections.daily import DayResult, run_day
from fengkong.collections.guardrails import (
    Attempt,
    Breach,
    CaseState,
    LoggedAttempt,
    Verdict,
    check_attempt,
    check_template,
)
from fengkong.collections.promises import evaluate_promises, make_promise, paused_cases
from fengkong.collections.rules import ContactProfile, ContactRules, load_contact_rules
from fengkong.collections.score import (
    CollectionScore,
    case_p_pay,
    collection_dataset,
    fit_collection_score,
)
from fengkong.collections.simulate import simulate_strategy
from fengkong.collections.strategy import Strategy, load_strategy, load_templates

__all__ = [
    "Allocation",
    "Attempt",
    "Breach",
    "CaseState",
    "CollectionScore",
    "ContactProfile",
    "ContactRules",
    "DayResult",
    "LoggedAttempt",
    "Stages",
    "Strategy",
    "Verdict",
    "agency_performance",
    "allocate",
    "allocate_greedy",
    "case_p_pay",
    "check_attempt",
    "check_template",
    "cohort_report",
    "collection_dataset",
    "evaluate_promises",
    "fit_collection_score",
    "load_agencies",
    "load_contact_rules",
    "load_strategy",
    "load_templates",
    "make_promise",
    "paused_cases",
    "place_cases",
    "run_day",
    "simulate_strategy",
    "update_cases",
]
