"""Collections (in progress): contact-rule guardrails checked on every contact attempt.

:func:`check_attempt` returns every conduct rule an attempt would break (quiet hours in the
debtor's local time, frequency across lender and agencies, third parties, stop states,
recording, banned content), from rule profiles kept as data with their sources
(:func:`load_contact_rules`).
"""

from fengkong.collections.guardrails import (
    Attempt,
    Breach,
    CaseState,
    LoggedAttempt,
    Verdict,
    check_attempt,
    check_template,
)
from fengkong.collections.rules import ContactProfile, ContactRules, load_contact_rules

__all__ = [
    "Attempt",
    "Breach",
    "CaseState",
    "ContactProfile",
    "ContactRules",
    "LoggedAttempt",
    "Verdict",
    "check_attempt",
    "check_template",
    "load_contact_rules",
]
