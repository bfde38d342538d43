"""Contact-rule profiles (quiet hours, frequency caps, third parties, stop states, recording,
banned content) as data with their sources: ``collections/data/contact_rules.yaml``.

>>> p = load_contact_rules().profile("cn")
>>> p.quiet_hours.start, p.connected_calls_per_debtor_per_day, p.sources["quiet_hours"][:4]
(datetime.time(22, 0), 3, 'NIFA')
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fengkong.errors import ConfigError, InvalidArgumentError, Problem

__all__ = ["ContactProfile", "ContactRules", "QuietHours", "load_contact_rules"]


class QuietHours(BaseModel):
    """No contact from ``start`` (included) until ``end`` (excluded), debtor's local time."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: dt.time
    end: dt.time

    def contains(self, local: dt.time) -> bool:
        """Whether a local time falls in the quiet hours (they may span midnight)."""
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class ContactProfile(BaseModel):
    """The conduct rules of one jurisdiction (``None`` switches a rule off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    description: str
    time_zones: tuple[str, ...] = Field(min_length=1)
    quiet_hours: QuietHours
    connected_calls_per_debtor_per_day: int | None = None
    unanswered_attempts_per_number_per_day: int | None = None
    attempts_per_debt_in_7_days: int | None = None
    days_after_conversation: int | None = None
    third_parties: Literal["locate_only", "location_information_only"]
    stop_states: tuple[str, ...]
    recording: dict[str, tuple[Literal["audio", "video"], ...]] = Field(default_factory=dict)
    retention_years: int
    sources: dict[str, str]


class ContactRules(BaseModel):
    """Every profile and the banned-content phrases by kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1]
    profiles: dict[str, ContactProfile]
    content: dict[str, tuple[str, ...]]

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
        return ContactRules.model_validate(yaml.safe_load(text))
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
