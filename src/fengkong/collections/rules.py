"""Contact-rule profiles (quiet hours, frequency limits by channel and party, third parties,
stop states, recording, banned content) as data with their sources:
``collections/data/contact_rules.yaml``.

A frequency limit is one row (``schema_version: 2``)::

    {rule: sms_per_day, channels: [sms], party: debtor, outcome: any,
     per: debtor, window: day, max: 3, source: "..."}

- ``channels``: the channels it counts and applies to (``call`` and ``robocall`` together
  for calls); ``party``: ``debtor``, ``third_party`` or ``any``.
- ``outcome``: which earlier attempts count — ``any`` (every attempt that was allowed,
  whatever came of it, an outcome still ``pending`` included), or one outcome
  (``connected``, ``unanswered``, …), which counts attempts with that outcome **and pending
  ones** (an outcome not yet known may be that one).
- ``per``: what is counted together — ``debtor`` (every case of the debtor), ``number`` (one
  phone number in E.164, so ``+86 138-0013-8000`` and ``13800138000`` are one), ``debt``
  (attempts whose ``debts`` share a loan, or the same case id, across every agency).
- ``window``: ``day`` (the local calendar day of the debtor: in each zone when the zone is
  not known, the highest count decides) or ``N_days`` (the N×24 hours before the attempt).
- ``max``: the most attempts of the kind in the window, the one being checked included: it
  is blocked when ``max`` earlier ones are there (``max: 0`` forbids the channel).

Schema 1 files (``connected_calls_per_debtor_per_day``, ``unanswered_attempts_per_number_per_day``,
``attempts_per_debt_in_7_days``, ``days_after_conversation``, ``stop_states`` as a list) still
load: each old field becomes the equivalent limit, sourced from ``sources.frequency``.

>>> p = load_contact_rules().profile("cn")
>>> p.quiet_hours.start, p.limit("connected_calls_per_day").max, p.sources["quiet_hours"][:4]
(datetime.time(22, 0), 3, 'NIFA')
>>> load_contact_rules().profile("us").quiet_hours.describe()
'after 21:00:00 before 08:00:00: 21:00:00 allowed, 08:00:00 allowed'
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fengkong.errors import ConfigError, InvalidArgumentError, Problem

__all__ = [
    "CALLS",
    "CHANNELS",
    "OUTCOMES",
    "ContactProfile",
    "ContactRules",
    "Limit",
    "QuietHours",
    "load_contact_rules",
]

CHANNELS = ("call", "robocall", "sms", "email", "letter", "field_visit")
CALLS = ("call", "robocall")
OUTCOMES = ("connected", "unanswered", "wrong_party", "delivered", "visited", "failed")
Channel = Literal["call", "robocall", "sms", "email", "letter", "field_visit"]
_RULE = r"^[a-z][a-z0-9_]{0,63}$"
_WINDOW = re.compile(r"^(day|([1-9][0-9]{0,2})_days)$")
REQUIRED_SOURCES = ("quiet_hours", "frequency", "third_parties", "content", "recording", "stop")


class QuietHours(BaseModel):
    """No contact between ``start`` and ``end``, debtor's local time (they may span midnight).

    By default ``start`` is quiet and ``end`` is not (China, "22:00–08:00": 22:00:00 is
    blocked, 08:00:00 allowed). ``start_exclusive`` makes ``start`` itself allowed and every
    instant after it quiet (the US, "after 9 p.m.": 21:00:00.000000 allowed, 21:00:00.5
    blocked); ``end_inclusive`` makes ``end`` itself quiet. Compared to the microsecond.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: dt.time
    end: dt.time
    start_exclusive: bool = False
    end_inclusive: bool = False

    def contains(self, local: dt.time) -> bool:
        """Whether a local time falls in the quiet hours."""
        local = local.replace(tzinfo=None, fold=0)
        after = local > self.start if self.start_exclusive else local >= self.start
        before = local <= self.end if self.end_inclusive else local < self.end
        if self.start <= self.end:
            return after and before
        return after or before

    def describe(self) -> str:
        """The boundaries in words (the US profile's is in the module docstring)."""
        s, e = f"{self.start:%H:%M:%S}", f"{self.end:%H:%M:%S}"
        first = f"after {s}" if self.start_exclusive else f"from {s}"
        last = f"until {e} included" if self.end_inclusive else f"before {e}"
        at_s = "allowed" if self.start_exclusive else "quiet"
        at_e = "quiet" if self.end_inclusive else "allowed"
        return f"{first} {last}: {s} {at_s}, {e} {at_e}"


class Limit(BaseModel):
    """One frequency limit (see the module docstring for each field's meaning)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rule: str = Field(pattern=_RULE)
    channels: tuple[Channel, ...] = Field(min_length=1)
    party: Literal["debtor", "third_party", "any"] = "debtor"
    outcome: Literal["any", "connected", "unanswered", "wrong_party", "delivered", "visited", "failed"] = "any"  # fmt: skip
    per: Literal["debtor", "number", "debt"]
    window: str = Field(pattern=_WINDOW.pattern)
    max: int = Field(ge=0, le=10_000)
    source: str = Field(min_length=1, max_length=500)

    @property
    def days(self) -> int | None:
        """The rolling window in days, or None for the local calendar day."""
        m = _WINDOW.match(self.window)
        return int(m.group(2)) if m and m.group(2) else None

    def applies(self, channel: str, party: str) -> bool:
        """Whether an attempt on ``channel`` to ``party`` is counted and limited by this."""
        return channel in self.channels and self.party in ("any", party)


class ContactProfile(BaseModel):
    """The conduct rules of one jurisdiction."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    description: str
    time_zones: tuple[str, ...] = Field(min_length=1)
    phone_region: Literal["CN", "US"] = "CN"
    quiet_hours: QuietHours
    limits: tuple[Limit, ...] = ()
    third_parties: Literal["locate_only", "location_information_only"]
    stop_states: dict[str, str]  # state -> its source
    recording: dict[str, tuple[Literal["audio", "video"], ...]] = Field(default_factory=dict)
    retention_years: int
    sources: dict[str, str]

    @model_validator(mode="before")
    @classmethod
    def _schema_1(cls, data: Any) -> Any:
        """Old fields become limits; a list of stop states takes ``sources.stop``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        sources = data.get("sources") if isinstance(data.get("sources"), dict) else {}
        stops = data.get("stop_states")
        if isinstance(stops, list | tuple):
            data["stop_states"] = {str(s): str(sources.get("stop", "")) for s in stops}
        legacy = [
            ("connected_calls_per_debtor_per_day", "connected_calls_per_day", "connected", "debtor", "day"),
            ("unanswered_attempts_per_number_per_day", "unanswered_per_number_per_day", "unanswered", "number", "day"),
            ("attempts_per_debt_in_7_days", "attempts_in_7_days", "any", "debt", "7_days"),
            ("days_after_conversation", "after_conversation", "connected", "debt", None),
        ]  # fmt: skip
        limits = list(data.get("limits") or [])
        named = {x.get("rule") for x in limits if isinstance(x, dict)}
        for key, rule, outcome, per, window in legacy:
            if key not in data:
                continue
            value = data.pop(key)
            if value is None or rule in named:
                continue
            cap = value if window is not None else 1
            limits.append({"rule": rule, "channels": list(CALLS), "party": "debtor",
                           "outcome": outcome, "per": per, "max": cap,
                           "window": window or f"{value}_days",
                           "source": str(sources.get("frequency", "(verify)"))})  # fmt: skip
        if limits or "limits" in data:
            data["limits"] = limits
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ContactProfile:
        missing = [k for k in REQUIRED_SOURCES if not self.sources.get(k)]
        if missing:
            raise ValueError(f"sources: expected a source for each of {missing}")
        rules = [x.rule for x in self.limits]
        if len(set(rules)) != len(rules):
            raise ValueError(f"limits: rule names must be unique, got {rules}")
        bad = [s for s in self.stop_states if re.fullmatch(_RULE, s) is None]
        if bad:
            raise ValueError(f"stop_states: expected lower-case names, got {bad}")
        return self

    def limit(self, rule: str) -> Limit:
        """The limit named ``rule`` (an ``InvalidArgumentError`` naming the known ones)."""
        for x in self.limits:
            if x.rule == rule:
                return x
        raise InvalidArgumentError("rule", expected=f"one of {[x.rule for x in self.limits]}", got=rule)  # fmt: skip

    @property
    def lookback(self) -> dt.timedelta:
        """How much contact history the checks need: the longest window, plus a day."""
        days = [x.days or 1 for x in self.limits]
        return dt.timedelta(days=max([7, *days]) + 1)


class ContactRules(BaseModel):
    """Every profile and the banned-content phrases by kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1, 2]
    profiles: dict[str, ContactProfile]
    content: dict[str, tuple[str, ...]]

    @model_validator(mode="before")
    @classmethod
    def _phone_regions(cls, data: Any) -> Any:
        """A profile without ``phone_region`` takes its key's (``us`` → ``US``)."""
        if isinstance(data, dict) and isinstance(data.get("profiles"), dict):
            profiles = {}
            for key, p in data["profiles"].items():
                us = isinstance(p, dict) and "phone_region" not in p and str(key).upper() == "US"
                profiles[key] = {**p, "phone_region": "US"} if us else p
            data = {**data, "profiles": profiles}
        return data

    def profile(self, jurisdiction: str) -> ContactProfile:
        """The profile of a jurisdiction; an unknown one is an error naming the known ones."""
        found = self.profiles.get(jurisdiction)
        if found is None:
            raise InvalidArgumentError(
                "jurisdiction", expected=f"one of {sorted(self.profiles)}", got=jurisdiction
            )
        return found


@cache
def _shipped() -> ContactRules:
    text = resources.files("fengkong.collections").joinpath("data/contact_rules.yaml")
    return _parse(text.read_text("utf-8"), "contact_rules.yaml")


def _parse(text: str, file: str) -> ContactRules:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(file, "", f"not valid YAML: {exc}")]) from None
    try:
        return ContactRules.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            Problem(file, ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
        ) from None


def load_contact_rules(path: str | Path | None = None) -> ContactRules:
    """The shipped contact rules, or a lender's own file (same schema; every problem listed)."""
    if path is None:
        return _shipped()
    p = Path(path)
    return _parse(p.read_text(encoding="utf-8"), p.name)
