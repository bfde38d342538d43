"""The contact-rule check every contact attempt goes through before it happens.

:func:`check_attempt` takes the attempt, the debtor's recent contact history (every logged
attempt of the lender and of every agency, with outcomes), the case's state and the
jurisdiction's :class:`~fengkong.collections.rules.ContactProfile`, and returns a
:class:`Verdict` listing **every** rule the attempt would break — quiet hours in the
debtor's local time (boundaries exactly as the profile states them, to the microsecond),
the profile's frequency limits by channel, party, outcome and window (per debtor, per
number in E.164, per debt across every case id and agency; pending attempts count), third
parties (only to locate an unreachable debtor, only with an approved location-inquiry
script), stop states, required recording, banned content (on normalised text, see
:mod:`fengkong.collections.content`). A debtor without a time zone is checked in every
zone of the jurisdiction (the most restrictive answer); an unknown zone name and an invalid
phone number are themselves breaches. The check is pure: the service logs every attempt,
allowed or blocked (``fengkong.services.collections``).

>>> import datetime as dt
>>> rules = load_contact_rules()
>>> attempt = Attempt("C1", "D1", "call", dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC),
...                   debtor_tz="Asia/Shanghai", number="13800138000", recording=frozenset({"audio"}))
>>> check_attempt(attempt, history=(), state=CaseState(), profile=rules.profile("cn")).breaches[0].rule
'quiet_hours'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fengkong.collections.content import (
    content_matcher,
    normalise_number,
    number_key,
    third_party_script_problem,
)
from fengkong.collections.rules import (
    CHANNELS,
    OUTCOMES,
    ContactProfile,
    ContactRules,
    Limit,
    load_contact_rules,
)
from fengkong.errors import InvalidArgumentError

__all__ = [
    "CHANNELS",
    "OUTCOMES",
    "PARTIES",
    "Attempt",
    "Breach",
    "CaseState",
    "LoggedAttempt",
    "Verdict",
    "check_attempt",
    "check_template",
]

PARTIES = ("debtor", "third_party", "attorney")
_ID = re.compile(r"[A-Za-z0-9_]{1,64}")


@dataclass(frozen=True, slots=True)
class Attempt:
    """A contact about to be made.

    ``at`` is an aware instant; ``party`` is ``debtor``, ``third_party`` (a contact from the
    application) or ``attorney`` (the debtor's lawyer, while the case is ``represented``);
    ``purpose`` is ``collect`` or ``locate``; ``actor`` is the lender or the agency making
    it; ``template`` is the message or script text as sent and ``template_id`` the
    template it comes from (required for a third party: only approved scripts go there);
    ``debts`` are the loan ids the case collects (per-debt limits count every attempt that
    shares one, whatever its case id or agency; empty: the case id alone).
    """

    case_id: str
    debtor_id: str
    channel: str
    at: dt.datetime
    debtor_tz: str | None = None
    number: str | None = None
    party: str = "debtor"
    purpose: str = "collect"
    actor: str = "lender"
    template: str = ""
    recording: frozenset[str] = frozenset()
    debts: frozenset[str] = frozenset()
    template_id: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise InvalidArgumentError("channel", expected=f"one of {CHANNELS}", got=self.channel)
        if not isinstance(self.at, dt.datetime) or self.at.tzinfo is None:
            raise InvalidArgumentError("at", expected="an aware datetime (UTC)", got=self.at)
        if self.party not in PARTIES:
            raise InvalidArgumentError("party", expected=f"one of {PARTIES}", got=self.party)
        if self.purpose not in ("collect", "locate"):
            raise InvalidArgumentError("purpose", expected="collect or locate", got=self.purpose)
        if not isinstance(self.debts, frozenset):
            if isinstance(self.debts, str) or not isinstance(self.debts, Iterable):
                raise InvalidArgumentError("debts", expected="a set of loan ids", got=self.debts)
            object.__setattr__(self, "debts", frozenset(self.debts))
        if any(not isinstance(d, str) or not 0 < len(d) <= 64 for d in self.debts):
            raise InvalidArgumentError("debts", expected="loan ids of 1–64 characters", got=self.debts)  # fmt: skip
        if self.template_id is not None and (
            not isinstance(self.template_id, str) or _ID.fullmatch(self.template_id) is None
        ):
            raise InvalidArgumentError("template_id", expected="1–64 letters, digits, _", got=self.template_id)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LoggedAttempt:
    """An attempt from the contact log with what came of it (``blocked`` ones never count;
    ``pending`` — no outcome recorded yet — counts as an attempt of any outcome)."""

    attempt: Attempt
    outcome: str  # connected | unanswered | wrong_party | delivered | visited | failed | pending | blocked


@dataclass(frozen=True, slots=True)
class CaseState:
    """What the check needs to know about the case (the service puts every stop state in
    force — settled, disputed, cease request, bankruptcy, represented, … — in ``status``
    or ``holds``)."""

    status: str = "open"  # open, or a stop state: settled, disputed, paused_hardship, ...
    holds: frozenset[str] = frozenset()  # extra stop states in force (legal_hold, cease_request)
    debtor_unreachable: bool = False  # right-party contact failed: third parties may be asked


@dataclass(frozen=True, slots=True)
class Breach:
    """One rule an attempt would break, with the rule's source."""

    rule: str
    message: str
    source: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """Allowed, or blocked with every rule broken."""

    breaches: tuple[Breach, ...] = field(default=())

    @property
    def allowed(self) -> bool:
        """True when no rule is broken."""
        return not self.breaches


def check_template(
    text: str, *, party: str = "debtor", rules: ContactRules | None = None
) -> list[tuple[str, str]]:
    """Banned phrases in a message: ``(kind, phrase)`` pairs, matched on normalised text
    (full-width, case, digit-for-letter swaps, CJK spacing; whole words in English);
    disclosure only counts towards third parties.

    >>> check_template("Pay now or the P0LICE will come", party="debtor")
    [('impersonation', 'police')]
    >>> check_template("a skilled team")
    []
    """
    skip = () if party == "third_party" else ("disclosure",)
    return content_matcher(rules).find(text, skip=skip)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        return None


def _zones(attempt: Attempt, profile: ContactProfile) -> tuple[list[ZoneInfo], Breach | None]:
    every = [z for z in (_zone(n) for n in profile.time_zones) if z is not None]
    if attempt.debtor_tz is None:
        return every, None
    found = _zone(attempt.debtor_tz) if len(attempt.debtor_tz) <= 64 else None
    if found is not None:
        return [found], None
    why = Breach(
        "debtor_time_zone",
        f"unknown time zone {attempt.debtor_tz[:64]!r}: checked in every zone of the profile",
        "fengkong: a debtor's local time must be known",
    )
    return every, why


def check_attempt(
    attempt: Attempt,
    *,
    history: Iterable[LoggedAttempt],
    state: CaseState,
    profile: ContactProfile,
    rules: ContactRules | None = None,
    templates: Mapping[str, Mapping[str, Any]] | None = None,
) -> Verdict:
    """Every rule the attempt would break (an empty verdict allows it).

    ``history`` is the debtor's logged attempts (lender and agencies) covering at least
    ``profile.lookback`` before ``attempt.at``; later entries and blocked ones are ignored.
    ``templates`` holds the approved third-party scripts (``third_party: true``; the shipped
    templates when None).
    """
    rules = rules or load_contact_rules()
    src = profile.sources
    breaches: list[Breach] = []
    zones, zone_problem = _zones(attempt, profile)
    if zone_problem is not None:
        breaches.append(zone_problem)
    breaches += _stops(attempt, state, profile)
    breaches += _quiet(attempt, zones, profile)
    key, number_problem = _number(attempt, profile)
    if number_problem is not None:
        breaches.append(number_problem)
    past = [h for h in history if h.outcome != "blocked" and h.attempt.at <= attempt.at]
    breaches += _limits(attempt, past, zones, profile, key)
    if attempt.party == "third_party":
        breaches += _third_party(attempt, state, profile, templates)
    wanted = set(profile.recording.get(attempt.channel, ()))
    missing = sorted(wanted - attempt.recording)
    if missing:
        breaches.append(
            Breach(
                "recording",
                f"a {attempt.channel} must be recorded ({', '.join(missing)} missing)",
                src["recording"],
            )
        )
    for kind, phrase in check_template(attempt.template, party=attempt.party, rules=rules):
        breaches.append(
            Breach(f"content:{kind}", f"the message contains {phrase!r} ({kind})", src["content"])
        )
    return Verdict(tuple(breaches))


def _stops(attempt: Attempt, state: CaseState, profile: ContactProfile) -> list[Breach]:
    in_force = {state.status, *state.holds}
    out = []
    for stop in sorted(in_force & set(profile.stop_states)):
        if stop == "represented" and attempt.party == "attorney":
            continue  # the one contact a represented debtor's case may have
        who = "only the debtor's attorney" if stop == "represented" else "no contact"
        out.append(Breach(f"stop:{stop}", f"the case is {stop}: {who}", profile.stop_states[stop]))
    if attempt.party == "attorney" and "represented" not in in_force:
        out.append(
            Breach(
                "attorney",
                "no attorney is on record for this case: contact the debtor, not a lawyer",
                profile.stop_states.get("represented", profile.sources["stop"]),
            )
        )
    return out


def _quiet(attempt: Attempt, zones: list[ZoneInfo], profile: ContactProfile) -> list[Breach]:
    if attempt.channel == "letter":  # posted, read when the debtor chooses: no time of day
        return []
    hours = profile.quiet_hours
    quiet = [z for z in zones if hours.contains(attempt.at.astimezone(z).time())]
    if not quiet:
        return []
    local = attempt.at.astimezone(quiet[0])
    return [
        Breach(
            "quiet_hours",
            f"{local:%H:%M:%S.%f} local ({quiet[0].key}) is within the quiet hours "
            f"({hours.describe()})",
            profile.sources["quiet_hours"],
        )
    ]


def _number(attempt: Attempt, profile: ContactProfile) -> tuple[str | None, Breach | None]:
    if attempt.number is None:
        return None, None
    try:
        return normalise_number(attempt.number, profile.phone_region), None
    except InvalidArgumentError as exc:
        shown = attempt.number if len(attempt.number) <= 40 else f"{attempt.number[:40]}…"
        why = Breach(
            "number",
            f"{shown!r} is not a valid phone number: expected {exc.expected}",
            "fengkong: numbers are counted in E.164",
        )
        return number_key(attempt.number, profile.phone_region), why


_WHAT = {"debtor": "to this debtor", "number": "to this number", "debt": "on this debt"}


def _limits(
    attempt: Attempt,
    past: Sequence[LoggedAttempt],
    zones: list[ZoneInfo],
    profile: ContactProfile,
    key: str | None,
) -> list[Breach]:
    out = []
    for limit in profile.limits:
        if not limit.applies(attempt.channel, attempt.party):
            continue
        if limit.per == "number" and key is None:
            continue  # no number: nothing to count per number
        same = [h.attempt for h in past if _counts(limit, h, attempt, key, profile)]
        days = limit.days
        if days is None:
            n = max(
                (sum(1 for a in same if _same_day(a.at, attempt.at, z)) for z in zones), default=0
            )
            when = "today (local time)"
        else:
            since = attempt.at - dt.timedelta(days=days)
            n = sum(1 for a in same if a.at > since)
            when = f"in the last {days} days"
        if n >= limit.max:
            what = "" if limit.outcome == "any" else f"{limit.outcome} (or pending) "
            out.append(
                Breach(
                    limit.rule,
                    f"{n} earlier {what}{'/'.join(limit.channels)} attempts "
                    f"{_WHAT[limit.per]} {when}, lender and agencies; at most {limit.max}",
                    limit.source,
                )
            )
    return out


def _counts(
    limit: Limit, h: LoggedAttempt, attempt: Attempt, key: str | None, profile: ContactProfile
) -> bool:
    a = h.attempt
    if not limit.applies(a.channel, a.party):
        return False
    if limit.outcome != "any" and h.outcome not in (limit.outcome, "pending"):
        return False
    if limit.per == "debtor":
        return a.debtor_id == attempt.debtor_id
    if limit.per == "number":
        return number_key(a.number, profile.phone_region) == key
    return a.case_id == attempt.case_id or not a.debts.isdisjoint(attempt.debts)


def _same_day(a: dt.datetime, b: dt.datetime, zone: ZoneInfo) -> bool:
    return a.astimezone(zone).date() == b.astimezone(zone).date()


def _third_party(
    attempt: Attempt,
    state: CaseState,
    profile: ContactProfile,
    templates: Mapping[str, Mapping[str, Any]] | None,
) -> list[Breach]:
    src = profile.sources["third_parties"]
    out = []
    if attempt.purpose != "locate":
        out.append(
            Breach(
                "third_party_collection",
                "collecting from a third party is not allowed: contacts only to locate the debtor",
                src,
            )
        )
    elif not state.debtor_unreachable:
        out.append(
            Breach(
                "third_party_locate",
                "the debtor is reachable: no reason to contact a third party",
                src,
            )
        )
    why = third_party_script_problem(
        attempt.template_id, attempt.template, attempt.channel, templates=templates
    )
    if why is not None:
        out.append(Breach("third_party_script", why, src))
    return out
