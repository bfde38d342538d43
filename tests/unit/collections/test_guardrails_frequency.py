"""Frequency limits as profile data (by channel, party, outcome, per debtor / number / debt,
window), every limit of every shipped profile driven at its boundary; the seen bypasses (the
51st SMS, the 6th visit, the 21st third-party call, pending calls, a formatted number, an
agency's own case id for the same loan, 21:00:00.5); stop states; old rule files."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from fengkong.collections import Attempt, CaseState, LoggedAttempt, check_attempt
from fengkong.collections.rules import load_contact_rules
from fengkong.errors import ConfigError, InvalidArgumentError

RULES = load_contact_rules()
CN, US = RULES.profile("cn"), RULES.profile("us")
AV = frozenset({"audio", "video"})
OPEN = CaseState()
LOCATING = CaseState(debtor_unreachable=True)
NOON = dt.datetime(2026, 3, 11, 12, 0)  # a Wednesday
ZONE = {"cn": "Asia/Shanghai", "us": "America/Chicago"}
NUMBER = {"cn": "13800138000", "us": "3125550143"}
FORMATS = {
    "cn": ["+86 138-0013-8000", "13800138000", "008613800138000", "１３８００１３８０００",
           "(+86) 138.0013.8000", "8613800138000"],
    "us": ["(312) 555-0143", "+1 312 555 0143", "13125550143", "011 1 312-555-0143", "312.555.0143"],
}  # fmt: skip
LOCATE = {"call": "locate_en", "sms": "locate_sms_en"}


def contact(where, local, *, channel="call", case="C1", debtor="D1", number=None, party="debtor",
            debts=(), template_id=None):  # fmt: skip
    zone = ZONE[where]
    at = local if local.tzinfo else local.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
    purpose = "locate" if party == "third_party" else "collect"
    if party == "third_party" and template_id is None:
        template_id = LOCATE.get(channel)
    return Attempt(case, debtor, channel, at, debtor_tz=zone,
                   number=number if number is not None else NUMBER[where], party=party,
                   purpose=purpose, recording=AV, debts=frozenset(debts), template_id=template_id)  # fmt: skip


def broken(where, attempt, history=(), state=OPEN):
    profile = CN if where == "cn" else US
    verdict = check_attempt(attempt, history=history, state=state, profile=profile)
    return [b.rule for b in verdict.breaches]


# --- every shipped limit at its boundary ------------------------------------------------

LIMITS = [(w, x) for w, p in (("cn", CN), ("us", US)) for x in p.limits]


def _earlier(where, limit, k, *, outside=False, other_key=False, outcome=None):
    """``k`` earlier attempts the limit counts (or, with the flags, ones it must not)."""
    party = "debtor" if limit.party in ("debtor", "any") else "third_party"
    days = limit.days
    out = []
    channels = itertools.cycle(limit.channels)
    formats = itertools.cycle(FORMATS[where])
    outcomes = itertools.cycle(["pending", "failed", "delivered", "connected", "unanswered"])
    for i in range(k):
        if days is None:
            local = NOON - dt.timedelta(minutes=i + 1)
            local = local.replace(hour=0, minute=0) - dt.timedelta(minutes=1) if outside else local
        else:  # N x 24 hours of absolute time (the US window spans the switch to DST)
            now = NOON.replace(tzinfo=ZoneInfo(ZONE[where])).astimezone(dt.UTC)
            at = now - dt.timedelta(days=days) * (i + 1) / (k + 2)
            local = now - dt.timedelta(days=days, seconds=i) if outside else at
        channel = next(channels)
        number = next(formats)
        kw = {"debtor": "D1", "case": "C1", "debts": {"L1"}}
        if other_key:
            kw = {"debtor": "D2", "case": "C9", "debts": {"L9"}} if limit.per != "number" else kw
            number = "13900139000" if where == "cn" else "(415) 555-2671"
        if party == "third_party" and channel not in LOCATE:
            channel = "call" if "call" in limit.channels else channel
        a = contact(where, local, channel=channel, number=number, party=party, **kw)
        result = outcome or (limit.outcome if limit.outcome != "any" else next(outcomes))
        out.append(LoggedAttempt(a, result))
    return out


def _now(where, limit):
    party = "debtor" if limit.party in ("debtor", "any") else "third_party"
    channel = limit.channels[0]
    if party == "third_party" and channel not in LOCATE:
        channel = "call"
    return contact(where, NOON, channel=channel, party=party, debts={"L1", "L2"})


@pytest.mark.parametrize(("where", "limit"), LIMITS, ids=[f"{w}-{x.rule}" for w, x in LIMITS])
def test_every_limit_blocks_exactly_at_its_maximum(where, limit):
    now = _now(where, limit)
    state = LOCATING if now.party == "third_party" else OPEN
    if limit.max > 0:
        assert limit.rule not in broken(where, now, _earlier(where, limit, limit.max - 1), state)
    assert limit.rule in broken(where, now, _earlier(where, limit, limit.max), state)
    # what the limit must not count: outside the window, blocked, another key, another outcome
    n = max(limit.max, 1)
    assert limit.rule not in broken(where, now, _earlier(where, limit, n, outside=True), state)
    blocked = _earlier(where, limit, n, outcome="blocked")
    assert limit.rule not in broken(where, now, blocked, state)
    assert limit.rule not in broken(where, now, _earlier(where, limit, n, other_key=True), state)
    if limit.outcome != "any":
        other = _earlier(where, limit, n, outcome="wrong_party")
        assert limit.rule not in broken(where, now, other, state)
    later = [LoggedAttempt(h.attempt.__class__(**{**_fields(h.attempt), "at": now.at +
              dt.timedelta(seconds=1)}), h.outcome) for h in _earlier(where, limit, n)]  # fmt: skip
    assert limit.rule not in broken(where, now, later, state)  # the future is not history


def _fields(a):
    return {f: getattr(a, f) for f in a.__dataclass_fields__}


def test_the_shipped_profiles_limit_every_channel_and_party_with_sources():
    for profile in (CN, US):
        kinds = {(c, x.party) for x in profile.limits for c in x.channels}
        assert {("call", "debtor"), ("sms", "debtor"), ("field_visit", "debtor")} <= kinds
        assert any(party == "third_party" for _, party in kinds)
        assert all(x.source for x in profile.limits)
    assert CN.limit("connected_calls_per_day").max == 3
    assert "1006.14(b)(2)" in US.limit("attempts_in_7_days").source
    assert US.limit("attempts_in_7_days").per == "debt"
    assert CN.lookback >= dt.timedelta(days=31) and US.lookback >= dt.timedelta(days=366)


# --- the seen bypasses --------------------------------------------------------------------


def test_the_51st_sms_the_6th_visit_and_the_21st_third_party_call_are_blocked():
    sms = [LoggedAttempt(contact("cn", NOON - dt.timedelta(minutes=m + 1), channel="sms"),
                         "delivered") for m in range(50)]  # fmt: skip
    assert {"sms_per_day", "sms_per_7_days"} <= set(
        broken("cn", contact("cn", NOON, channel="sms"), sms)
    )
    weekly = [LoggedAttempt(contact("cn", NOON - dt.timedelta(days=7 * w), channel="field_visit"),
                            "visited") for w in range(1, 6)]  # fmt: skip
    assert "visits_per_30_days" in broken("cn", contact("cn", NOON, channel="field_visit"), weekly)
    assert "visits_per_30_days" not in broken(
        "cn", contact("cn", NOON, channel="field_visit"), weekly[:3]
    )
    calls = [
        LoggedAttempt(contact("cn", NOON - dt.timedelta(hours=8 * k + 1), party="third_party",
                              number=f"1390013{k:04d}"), "connected")
        for k in range(20)
    ]  # fmt: skip
    third = contact("cn", NOON, party="third_party", number="13700137000")
    assert "third_party_per_7_days" in broken("cn", third, calls, LOCATING)
    us_third = [LoggedAttempt(contact("us", NOON - dt.timedelta(days=100), party="third_party",
                                      number="+1 415 555 2671"), "connected")]  # fmt: skip
    again = contact("us", NOON, party="third_party", number="4155552671")
    assert "third_party_number_once" in broken("us", again, us_third, LOCATING)


def test_pending_calls_count_as_attempts_and_as_possibly_connected():
    pending = [LoggedAttempt(contact("cn", NOON.replace(hour=9 + k)), "pending") for k in range(3)]
    assert "connected_calls_per_day" in broken("cn", contact("cn", NOON.replace(hour=15)), pending)
    tries = [LoggedAttempt(contact("us", NOON - dt.timedelta(hours=20 * k + 1)), "pending")
             for k in range(7)]  # fmt: skip
    assert "attempts_in_7_days" in broken("us", contact("us", NOON), tries)
    assert "attempts_in_7_days" not in broken("us", contact("us", NOON), tries[:6])


@pytest.mark.parametrize("where", ["cn", "us"])
def test_formatted_numbers_are_one_number(where):
    limit = CN.limit("unanswered_per_number_per_day") if where == "cn" else None
    if limit is None:  # the US has no per-number call limit: check the third-party one
        first = [LoggedAttempt(contact("us", NOON - dt.timedelta(days=3), party="third_party",
                                       number=FORMATS["us"][0]), "unanswered")]  # fmt: skip
        for raw in FORMATS["us"]:
            now = contact("us", NOON, party="third_party", number=raw)
            assert "third_party_number_once" in broken("us", now, first, LOCATING), raw
        return
    for raw in FORMATS["cn"]:
        history = [
            LoggedAttempt(contact("cn", NOON.replace(hour=9, minute=m), number=f), "unanswered")
            for m, f in enumerate(itertools.islice(itertools.cycle(FORMATS["cn"]), limit.max))
        ]
        assert "unanswered_per_number_per_day" in broken(
            "cn", contact("cn", NOON, number=raw), history
        )


@pytest.mark.parametrize(
    "raw", ["", "   ", "12345", "abc", "+", "+86", "9223372036854775807", "-9223372036854775808",
            "1" * 10_000, "２２２", "138 0013 8000 ext 12", "\u0661\u0663\u0668", "13800138000\x00",
            "+86 123 4567 8901", "0086"],
)  # fmt: skip
def test_an_invalid_number_is_a_breach_not_an_exception(raw):
    rules = broken("cn", contact("cn", NOON, number=raw))
    assert "number" in rules


def test_reg_f_seven_in_seven_is_per_debt_across_case_ids_and_agencies():
    lender = [LoggedAttempt(contact("us", NOON - dt.timedelta(hours=10 * k + 1), case="C1",
                                    debts={"L1"}), "unanswered") for k in range(4)]  # fmt: skip
    agency = [LoggedAttempt(contact("us", NOON - dt.timedelta(hours=10 * k + 5), case="AG-77-1",
                                    debts={"L1"}), "pending") for k in range(3)]  # fmt: skip
    eighth = contact("us", NOON, case="AG-77-1", debts={"L1"})
    assert "attempts_in_7_days" in broken("us", eighth, lender + agency)
    other_debt = contact("us", NOON, case="C2", debts={"L2"})
    assert "attempts_in_7_days" not in broken("us", other_debt, lender + agency)
    no_debts = contact("us", NOON, case="C1")  # falls back to the case id: 4 of them
    assert "attempts_in_7_days" not in broken("us", no_debts, lender + agency)
    talked = [LoggedAttempt(contact("us", NOON - dt.timedelta(days=2), case="AG-9",
                                    debts={"L1", "L3"}), "connected")]  # fmt: skip
    assert "after_conversation" in broken(
        "us", contact("us", NOON, case="C1", debts={"L1"}), talked
    )
    assert "after_conversation" not in broken(
        "us", contact("us", NOON, case="C1", debts={"L2"}), talked
    )


@pytest.mark.parametrize(
    ("where", "local", "quiet"),
    [
        ("cn", "21:59:59.999999", False),
        ("cn", "22:00:00", True),
        ("cn", "07:59:59.999999", True),
        ("cn", "08:00:00", False),
        ("us", "20:59:59.999999", False),
        ("us", "21:00:00", False),
        ("us", "21:00:00.000001", True),
        ("us", "21:00:00.500000", True),
        ("us", "00:00:00", True),
        ("us", "07:59:59.999999", True),
        ("us", "08:00:00", False),
    ],
)
def test_quiet_hour_boundaries_exactly_as_the_rule_reads(where, local, quiet):
    t = dt.time.fromisoformat(local)
    attempt = contact(where, dt.datetime.combine(NOON.date(), t))
    assert ("quiet_hours" in broken(where, attempt)) is quiet


def test_quiet_hours_state_their_boundaries():
    assert (
        CN.quiet_hours.describe()
        == "from 22:00:00 before 08:00:00: 22:00:00 quiet, 08:00:00 allowed"
    )
    assert not CN.quiet_hours.start_exclusive and US.quiet_hours.start_exclusive
    assert US.quiet_hours.start == dt.time(21, 0)  # no 21:00:01 stand-in


# --- stop states --------------------------------------------------------------------------

STOPS = ["settled", "settled_in_full", "disputed", "paused_hardship", "deceased", "legal_hold",
         "cease_request", "bankruptcy", "represented", "written_off_sold"]  # fmt: skip


@pytest.mark.parametrize(("where", "stop"), [(w, s) for w in ("cn", "us") for s in STOPS])
def test_every_stop_state_blocks_every_channel(where, stop):
    profile = CN if where == "cn" else US
    assert profile.stop_states[stop]  # each with its source
    for channel in ("call", "sms", "email", "letter", "field_visit", "robocall"):
        for state in (CaseState(status=stop), CaseState(holds=frozenset({stop}))):
            assert f"stop:{stop}" in broken(
                where, contact(where, NOON, channel=channel), state=state
            )


def test_us_stop_sources_and_the_attorney_of_a_represented_debtor():
    assert "1692c(c)" in US.stop_states["cease_request"]
    assert "1692c(a)(2)" in US.stop_states["represented"]
    assert "362" in US.stop_states["bankruptcy"]
    lawyer = Attempt("C1", "D1", "call", contact("us", NOON).at, debtor_tz="America/Chicago",
                     number="+1 312 555 0199", party="attorney", recording=AV)  # fmt: skip
    represented = CaseState(holds=frozenset({"represented"}))
    assert broken("us", lawyer, state=represented) == []
    assert "stop:represented" in broken("us", contact("us", NOON), state=represented)
    assert broken("us", lawyer) == ["attorney"]
    settled = CaseState(status="settled", holds=frozenset({"represented"}))
    assert "stop:settled" in broken("us", lawyer, state=settled)


# --- rule files ---------------------------------------------------------------------------

SCHEMA_1 = """schema_version: 1
profiles:
  us:
    description: old
    time_zones: [America/Chicago]
    quiet_hours: {start: "21:00:01", end: "08:00"}
    connected_calls_per_debtor_per_day: null
    unanswered_attempts_per_number_per_day: 5
    attempts_per_debt_in_7_days: 7
    days_after_conversation: 7
    third_parties: location_information_only
    stop_states: [settled, cease_request]
    recording: {call: [audio]}
    retention_years: 3
    sources: {quiet_hours: q, frequency: Reg F, third_parties: t, content: c, recording: r, stop: s}
content: {threat: [kill]}
"""


def test_a_schema_1_file_still_loads_as_limits(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text(SCHEMA_1)
    old = load_contact_rules(path).profile("us")
    assert [x.rule for x in old.limits] == [
        "unanswered_per_number_per_day", "attempts_in_7_days", "after_conversation"
    ]  # fmt: skip
    assert old.limit("after_conversation").window == "7_days" and old.phone_region == "US"
    assert old.stop_states == {"settled": "s", "cease_request": "s"}
    tries = [LoggedAttempt(contact("us", NOON - dt.timedelta(hours=k + 1)), "unanswered")
             for k in range(7)]  # fmt: skip
    verdict = check_attempt(contact("us", NOON), history=tries, state=OPEN, profile=old)
    assert {"attempts_in_7_days", "unanswered_per_number_per_day"} <= {
        b.rule for b in verdict.breaches
    }


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ("window: fortnight", "limits.0.window"),
        ("max: -1", "limits.0.max"),
        ("channels: [pigeon]", "limits.0.channels.0"),
        ("per: household", "limits.0.per"),
        ("source: ''", "limits.0.source"),
    ],
)
def test_a_bad_limit_is_a_clear_error_naming_the_field(tmp_path, change, where):
    row = {"rule": "x", "channels": "[sms]", "per": "debtor", "window": "day", "max": "1",
           "source": "s"}  # fmt: skip
    key = change.split(":")[0]
    row[key] = change.split(": ", 1)[1]
    text = SCHEMA_1.replace("    third_parties:", "    limits:\n      - {" + ", ".join(
        f"{k}: {v}" for k, v in row.items()) + "}\n    third_parties:")  # fmt: skip
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_contact_rules(path)
    assert any(where in p.path for p in err.value.problems), err.value


def test_missing_sources_and_duplicate_limits_are_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(SCHEMA_1.replace(", stop: s}", "}"))
    with pytest.raises(ConfigError, match="stop"):
        load_contact_rules(path)
    path.write_text(SCHEMA_1.replace("    third_parties:", "    limits:\n"
        "      - {rule: attempts_in_7_days, channels: [call], per: debt, window: 7_days, max: 3, source: s}\n"
        "      - {rule: attempts_in_7_days, channels: [sms], per: debt, window: 7_days, max: 3, source: s}\n"
        "    third_parties:"))  # fmt: skip
    with pytest.raises(ConfigError, match="unique"):
        load_contact_rules(path)
    path.write_text("profiles: [")
    with pytest.raises(ConfigError, match="YAML"):
        load_contact_rules(path)


def test_attempt_fields_are_checked_and_debts_become_a_frozenset():
    at = contact("cn", NOON).at
    assert Attempt("C1", "D1", "call", at, debts=["L1", "L1"]).debts == frozenset({"L1"})
    for bad in ("L1", [""], ["x" * 65], [7]):
        with pytest.raises(InvalidArgumentError, match="debts"):
            Attempt("C1", "D1", "call", at, debts=bad)
    for bad in ("", "a b", "x" * 65, "模板"):
        with pytest.raises(InvalidArgumentError, match="template_id"):
            Attempt("C1", "D1", "call", at, template_id=bad)
    with pytest.raises(InvalidArgumentError, match="party"):
        Attempt("C1", "D1", "call", at, party="neighbour")
