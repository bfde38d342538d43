"""The contact-rule check every contact attempt goes through before it happens.

:func:`check_attempt` takes the attempt, the debtor's recent contact history (every logged
attempt of the lender and of every agency, with outcomes), the case's state and the
jurisdiction's :class:`~fengkong.collections.rules.ContactProfile`, and returns a
:class:`Verdict` listing **every** rule the attempt would break — quiet hours in the
debtor's local time, connected calls per debtor per day, unanswered attempts per number per
day, 7 attempts in 7 days and the gap after a conversation (US), collection from third
parties, stop states, required recording, banned template content. A debtor without a
time zone is checked in every zone of the jurisdiction (the most restrictive answer); an
unknown zone name is itself a breach. The check is pure: the service logs every attempt,
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fengkong.collections.rules import ContactProfile, ContactRules, load_contact_rules
from fengkong.errors import InvalidArgumentError

__all__ = [
    "CHANNELS",
    "OUTCOMES",
    "Attempt",
    "Breach",
    "CaseState",
    "LoggedAttempt",
    "Verdict",
    "check_attempt",
    "check_template",
]

CHANNELS = ("call", "robocall", "sms", "email", "letter", "field_visit")
_CALLS = ("call", "robocall")
OUTCOMES = ("connected", "unanswered", "wrong_party", "delivered", "visited", "failed")


@dataclass(frozen=True, slots=True)
class Attempt:
    """A contact about to be made.

    ``at`` is an aware instant; ``party`` is ``debtor`` or ``third_party`` (a contact from
    the application); ``purpose`` is ``collect`` or ``locate``; ``actor`` is the lender or
    the agency making it; ``template`` is the message or script text.
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

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise InvalidArgumentError("channel", expected=f"one of {CHANNELS}", got=self.channel)
        if self.at.tzinfo is None:
            raise InvalidArgumentError("at", expected="an aware datetime (UTC)", got=self.at)
        if self.party not in ("debtor", "third_party"):
            raise InvalidArgumentError("party", expected="debtor or third_party", got=self.party)
        if self.purpose not in ("collect", "locate"):
            raise InvalidArgumentError("purpose", expected="collect or locate", got=self.purpose)


@dataclass(frozen=True, slots=True)
class LoggedAttempt:
    """An attempt from the contact log with what came of it (``blocked`` ones never count)."""

    attempt: Attempt
    outcome: str  # connected | unanswered | wrong_party | delivered | visited | failed | blocked


@dataclass(frozen=True, slots=True)
class CaseState:
    """What the check needs to know about the case."""

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
    """Banned phrases in a message: ``(kind, phrase)`` pairs; disclosure only counts towards
    third parties.

    >>> check_template("Pay now or the police will come", party="debtor")
    [('impersonation', 'police')]
    """
    rules = rules or load_contact_rules()
    low = text.lower()
    found = []
    for kind, phrases in rules.content.items():
        if kind == "disclosure" and party != "third_party":
            continue
        found += [(kind, p) for p in phrases if p.lower() in low]
    return found


def _zones(attempt: Attempt, profile: ContactProfile) -> tuple[list[ZoneInfo], Breach | None]:
    if attempt.debtor_tz is None:
        return [ZoneInfo(z) for z in profile.time_zones], None
    try:
        return [ZoneInfo(attempt.debtor_tz)], None
    except (ZoneInfoNotFoundError, ValueError):
        why = Breach(
            "debtor_time_zone",
            f"unknown time zone {attempt.debtor_tz!r}: checked in every zone of the profile",
            "fengkong: a debtor's local time must be known",
        )
        return [ZoneInfo(z) for z in profile.time_zones], why


def _same_day(a: dt.datetime, b: dt.datetime, zone: ZoneInfo) -> bool:
    return a.astimezone(zone).date() == b.astimezone(zone).date()


def check_attempt(
    attempt: Attempt,
    *,
    history: Iterable[LoggedAttempt],
    state: CaseState,
    profile: ContactProfile,
    rules: ContactRules | None = None,
) -> Verdict:
    """Every rule the attempt would break (an empty verdict allows it).

    ``history`` is the debtor's logged attempts (lender and agencies) of at least the last 7
    days before ``attempt.at``; later entries are ignored.
    """
    rules = rules or load_contact_rules()
    src = profile.sources
    breaches: list[Breach] = []
    zones, zone_problem = _zones(attempt, profile)
    if zone_problem is not None:
        breaches.append(zone_problem)
    stops = {state.status, *state.holds} & set(profile.stop_states)
    for stop in sorted(stops):
        breaches.append(Breach(f"stop:{stop}", f"the case is {stop}: no contact", src["stop"]))
    quiet = [z for z in zones if profile.quiet_hours.contains(attempt.at.astimezone(z).time())]
    if quiet:
        local = attempt.at.astimezone(quiet[0])
        hours = profile.quiet_hours
        breaches.append(
            Breach(
                "quiet_hours",
                f"{local:%H:%M} local ({quiet[0].key}) is within the quiet hours "
                f"{hours.start:%H:%M}–{hours.end:%H:%M}",
                src["quiet_hours"],
            )
        )
    past: Sequence[LoggedAttempt] = [
        h for h in history if h.outcome != "blocked" and h.attempt.at <= attempt.at
    ]
    is_call = attempt.channel in _CALLS
    if is_call and attempt.party == "debtor":
        breaches += _frequency(attempt, past, zones, profile)
    if attempt.party == "third_party":
        if attempt.purpose != "locate":
            breaches.append(
                Breach(
                    "third_party_collection",
                    "collecting from a third party is not allowed: contacts only to locate "
                    "the debtor",
                    src["third_parties"],
                )
            )
        elif not state.debtor_unreachable:
            breaches.append(
                Breach(
                    "third_party_locate",
                    "the debtor is reachable: no reason to contact a third party",
                    src["third_parties"],
                )
            )
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


def _frequency(
    attempt: Attempt, past: Sequence[LoggedAttempt], zones: list[ZoneInfo], profile: ContactProfile
) -> list[Breach]:
    src = profile.sources["frequency"]
    out = []
    calls = [h for h in past if h.attempt.channel in _CALLS and h.attempt.party == "debtor"]
    limit = profile.connected_calls_per_debtor_per_day
    if limit is not None:
        n = max(
            sum(
                1
                for h in calls
                if h.outcome == "connected"
                and h.attempt.debtor_id == attempt.debtor_id
                and _same_day(h.attempt.at, attempt.at, z)
            )
            for z in zones
        )
        if n >= limit:
            out.append(
                Breach(
                    "connected_calls_per_day",
                    f"{n} connected calls today (lender and agencies); at most {limit}",
                    src,
                )
            )
    limit = profile.unanswered_attempts_per_number_per_day
    if limit is not None and attempt.number is not None:
        n = max(
            sum(
                1
                for h in calls
                if h.outcome == "unanswered"
                and h.attempt.number == attempt.number
                and _same_day(h.attempt.at, attempt.at, z)
            )
            for z in zones
        )
        if n >= limit:
            out.append(
                Breach(
                    "unanswered_per_number_per_day",
                    f"{n} unanswered attempts to this number today; at most {limit}",
                    src,
                )
            )
    week = attempt.at - dt.timedelta(days=7)
    limit = profile.attempts_per_debt_in_7_days
    if limit is not None:
        n = sum(1 for h in calls if h.attempt.case_id == attempt.case_id and h.attempt.at > week)
        if n >= limit:
            out.append(
                Breach("attempts_in_7_days", f"{n} call attempts in 7 days; at most {limit}", src)
            )
    gap = profile.days_after_conversation
    if gap is not None:
        since = attempt.at - dt.timedelta(days=gap)
        talked = [
            h.attempt.at
            for h in calls
            if h.outcome == "connected"
            and h.attempt.case_id == attempt.case_id
            and h.attempt.at > since
        ]
        if talked:
            out.append(
                Breach(
                    "after_conversation",
                    f"a conversation on {max(talked):%Y-%m-%d %H:%M} UTC: no call within {gap} days",
                    src,
                )
            )
    return out
