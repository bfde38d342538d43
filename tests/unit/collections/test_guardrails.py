"""Contact guardrails: boundary times in the debtor's zone, counts across lender and
agencies, the US 7-in-7 and post-conversation gap, third parties, stop states, recording,
banned content, and a debtor without a time zone (the most restrictive zone decides)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from fengkong.collections import (
    Attempt,
    CaseState,
    LoggedAttempt,
    check_attempt,
    check_template,
    load_contact_rules,
)
from fengkong.errors import ConfigError, InvalidArgumentError

RULES = load_contact_rules()
CN, US = RULES.profile("cn"), RULES.profile("us")
SH = ZoneInfo("Asia/Shanghai")
AUDIO = frozenset({"audio"})
OPEN = CaseState()


def call(local: dt.datetime, zone="Asia/Shanghai", **kw):
    at = local.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC) if local.tzinfo is None else local
    base = {"number": "13800138000", "recording": AUDIO, "debtor_tz": zone}
    return Attempt("C1", "D1", kw.pop("channel", "call"), at, **(base | kw))


def rules_broken(attempt, history=(), state=OPEN, profile=CN):
    return [
        b.rule
        for b in check_attempt(attempt, history=history, state=state, profile=profile).breaches
    ]


@pytest.mark.parametrize(
    ("hh", "mm", "blocked"),
    [(21, 59, False), (22, 0, True), (7, 59, True), (8, 0, False), (3, 0, True)],
)
def test_china_quiet_hours_at_the_boundaries(hh, mm, blocked):
    attempt = call(dt.datetime(2026, 3, 2, hh, mm))
    assert ("quiet_hours" in rules_broken(attempt)) is blocked


@pytest.mark.parametrize(
    ("local", "blocked"),
    [
        ("21:00:00", False),  # "after 9 p.m.": 9 p.m. itself is not after it
        ("21:00:00.000001", True),
        ("21:00:00.500000", True),  # the old 21:00:01 boundary let this through
        ("21:00:01", True),
        ("07:59:59.999999", True),
        ("08:00:00", False),
    ],
)
def test_us_quiet_hours_in_the_debtors_zone(local, blocked):
    t = dt.time.fromisoformat(local)
    attempt = call(dt.datetime.combine(dt.date(2026, 3, 2), t), zone="America/Los_Angeles")
    assert ("quiet_hours" in rules_broken(attempt, profile=US)) is blocked


def test_the_same_instant_differs_by_the_debtors_zone():
    at = dt.datetime(2026, 3, 3, 3, 30, tzinfo=dt.UTC)  # 22:30 New York, 19:30 Los Angeles
    ny = Attempt("C1", "D1", "call", at, debtor_tz="America/New_York", recording=AUDIO)
    la = Attempt("C1", "D1", "call", at, debtor_tz="America/Los_Angeles", recording=AUDIO)
    assert "quiet_hours" in rules_broken(ny, profile=US)
    assert "quiet_hours" not in rules_broken(la, profile=US)


def test_without_a_time_zone_the_most_restrictive_zone_decides():
    at = dt.datetime(2026, 3, 3, 3, 30, tzinfo=dt.UTC)  # fine in LA, quiet in New York
    unknown = Attempt("C1", "D1", "call", at, recording=AUDIO)
    assert "quiet_hours" in rules_broken(unknown, profile=US)
    typo = Attempt("C1", "D1", "call", at, debtor_tz="America/Nowhere", recording=AUDIO)
    assert {"debtor_time_zone", "quiet_hours"} <= set(rules_broken(typo, profile=US))


def logged(local, outcome, actor="lender", number="13800138000", case="C1", zone="Asia/Shanghai"):
    return LoggedAttempt(call(local, zone=zone, actor=actor, number=number) if case == "C1" else
                         Attempt(case, "D1", "call", local.replace(tzinfo=ZoneInfo(zone)),
                                 debtor_tz=zone, number=number, recording=AUDIO), outcome)  # fmt: skip


def test_connected_calls_count_across_lender_and_agencies_per_local_day():
    day = dt.datetime(2026, 3, 2)
    history = [
        logged(day.replace(hour=9), "connected"),
        logged(day.replace(hour=10), "connected", actor="agency-7"),
        logged(day.replace(hour=11), "connected", actor="agency-9", number="13900139000"),
    ]
    assert "connected_calls_per_day" in rules_broken(call(day.replace(hour=15)), history)
    assert "connected_calls_per_day" not in rules_broken(call(day.replace(hour=15)), history[:2])
    next_day = call(dt.datetime(2026, 3, 3, 9, 0))
    assert "connected_calls_per_day" not in rules_broken(next_day, history)
    blocked = [LoggedAttempt(h.attempt, "blocked") for h in history]
    assert "connected_calls_per_day" not in rules_broken(call(day.replace(hour=15)), blocked)


def test_unanswered_attempts_count_per_number():
    day = dt.datetime(2026, 3, 2)
    history = [logged(day.replace(hour=9, minute=m), "unanswered") for m in range(6)]
    assert "unanswered_per_number_per_day" in rules_broken(call(day.replace(hour=12)), history)
    other = call(day.replace(hour=12), number="13900139000")
    assert "unanswered_per_number_per_day" not in rules_broken(other, history)


def test_us_seven_in_seven_and_the_gap_after_a_conversation():
    zone = "America/Chicago"
    start = dt.datetime(2026, 3, 2, 10, 0)
    tries = [
        logged(start + dt.timedelta(days=k // 2, hours=k), "unanswered", zone=zone)
        for k in range(7)
    ]
    later = call(start + dt.timedelta(days=4), zone=zone)
    assert "attempts_in_7_days" in rules_broken(later, tries, profile=US)
    week_after = call(start + dt.timedelta(days=8, hours=7), zone=zone)
    assert "attempts_in_7_days" not in rules_broken(week_after, tries, profile=US)
    talked = [logged(start, "connected", zone=zone)]
    assert "after_conversation" in rules_broken(
        call(start + dt.timedelta(days=6), zone=zone), talked, profile=US
    )
    assert "after_conversation" not in rules_broken(
        call(start + dt.timedelta(days=7, hours=1), zone=zone), talked, profile=US
    )


def test_a_settled_or_disputed_case_receives_no_contact_of_any_kind():
    for channel in ("call", "sms", "email", "field_visit", "letter"):
        attempt = call(
            dt.datetime(2026, 3, 2, 10), channel=channel, recording=frozenset({"audio", "video"})
        )
        assert "stop:settled" in rules_broken(attempt, state=CaseState(status="settled"))
    held = CaseState(holds=frozenset({"legal_hold", "disputed"}))
    assert {"stop:legal_hold", "stop:disputed"} <= set(
        rules_broken(call(dt.datetime(2026, 3, 2, 10)), state=held)
    )
    cease = CaseState(holds=frozenset({"cease_request"}))
    assert "stop:cease_request" in rules_broken(
        call(dt.datetime(2026, 3, 2, 10), zone="America/Chicago"), state=cease, profile=US
    )


def test_third_parties_only_to_locate_an_unreachable_debtor():
    at = dt.datetime(2026, 3, 2, 10)
    collect = call(at, party="third_party", template="Please tell him to pay")
    assert "third_party_collection" in rules_broken(collect)
    locate = call(
        at, party="third_party", purpose="locate", template="Please ask Li Wei to call us"
    )
    assert "third_party_locate" in rules_broken(locate)
    # free text to a third party is refused even to locate: approved scripts only
    assert rules_broken(locate, state=CaseState(debtor_unreachable=True)) == ["third_party_script"]
    approved = call(
        at,
        party="third_party",
        purpose="locate",
        template_id="locate_en",
        template="Hello, this is Amy Chen calling from Fengkong Finance. I am trying to confirm or "
        "correct location information for Li Wei. Can you confirm the best address or telephone "
        "number to reach Li?",
    )
    assert rules_broken(approved, state=CaseState(debtor_unreachable=True)) == []
    telling = call(
        at, party="third_party", purpose="locate", template="Li Wei 逾期 3 个月, please tell him"
    )
    assert "content:disclosure" in rules_broken(telling, state=CaseState(debtor_unreachable=True))


def test_recording_is_required_and_field_visits_need_video():
    at = dt.datetime(2026, 3, 2, 10)
    assert "recording" in rules_broken(call(at, recording=frozenset()))
    visit = call(at, channel="field_visit", recording=AUDIO)
    assert "recording" in rules_broken(visit)
    assert (
        rules_broken(call(at, channel="field_visit", recording=frozenset({"audio", "video"}))) == []
    )
    assert (
        rules_broken(
            call(at, channel="sms", recording=frozenset(), template="Your instalment is due")
        )
        == []
    )


def test_banned_content_is_found_in_both_languages_and_every_breach_is_listed():
    assert [k for k, _ in check_template("不还钱后果自负, 法院传票已发出")] == [
        "threat",
        "impersonation",
    ]
    assert check_template("Your payment of 500 is due on 3 March") == []
    attempt = call(
        dt.datetime(2026, 3, 2, 23, 0),
        recording=frozenset(),
        template="You deadbeat, police are coming",
    )
    assert set(rules_broken(attempt)) == {
        "quiet_hours",
        "recording",
        "content:impersonation",
        "content:insult",
    }


def test_bad_attempts_and_rule_files_are_clear_errors(tmp_path):
    with pytest.raises(InvalidArgumentError, match="at: expected an aware datetime"):
        Attempt("C1", "D1", "call", dt.datetime(2026, 3, 2, 10))
    with pytest.raises(InvalidArgumentError, match="channel"):
        Attempt("C1", "D1", "pigeon", dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC))
    with pytest.raises(InvalidArgumentError, match="jurisdiction"):
        RULES.profile("xx")
    bad = tmp_path / "rules.yaml"
    bad.write_text("schema_version: 1\nprofiles:\n  cn:\n    description: x\ncontent: {}\n")
    with pytest.raises(ConfigError) as err:
        load_contact_rules(bad)
    assert any("quiet_hours" in p.path for p in err.value.problems)
