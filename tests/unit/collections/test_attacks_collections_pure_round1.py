"""Attacks on issue 24's pure content and third-party checks (round 1).

Each test fails on the code as found: a banned phrase or a disclosure that reaches a debtor or a
third party past ``check_template`` / ``check_attempt``. Issue 24 part 5: "normalise (NFKC,
width, spacing, common digit-for-letter swaps) before matching ... third parties get only
approved location-inquiry scripts ... free text to a third party is refused"; DESIGN.md rule 17
(hostile input: non-ASCII, homoglyphs)."""

import datetime as dt

import pytest

from fengkong.collections.content import load_templates
from fengkong.collections.guardrails import Attempt, CaseState, check_attempt, check_template
from fengkong.collections.rules import load_contact_rules


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # a combining acute accent (U+0301) on the p: renders as "ṕolice", reads as police
        ("Pay today or the p\u0301olice will come", "impersonation"),
        # a variation selector (U+FE0F, category Mn, invisible) inside the word
        ("Pay today or the pol\ufe0fice will come", "impersonation"),
        # the combining grapheme joiner (U+034F, invisible) inside the word
        ("Pay today or the po\u034flice will come", "impersonation"),
        # Cyrillic р and о (homoglyphs of Latin p and o)
        ("Pay today or the \u0440\u043elice will come", "impersonation"),
    ],
)
def test_invisible_marks_and_homoglyphs_do_not_hide_a_banned_word(text, kind):
    # Expected: ("impersonation", "police") found — the text reads "police" on screen.
    # Got: [] — NFKC keeps combining marks/variation selectors (category Mn, not the Cf set
    # that is stripped) and does not fold Cyrillic homoglyphs, so the word splits or differs.
    # Rule: issue 24 part 5 (normalise before matching; `p0lice` was the reported bypass);
    # FDCPA 1692e(1)/(9), NIFA 2018: no impersonation of police.
    assert kind in {k for k, _ in check_template(text)}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("你就是个老賴", "insult"),  # 老赖 in traditional characters
        ("不还钱就打给你的通訊錄", "exposure"),  # 通讯录 in traditional characters
        ("法院傳票已经寄出", "impersonation"),  # 法院传票
    ],
)
def test_traditional_characters_do_not_hide_a_banned_phrase(text, kind):
    # Expected: the phrase found (老賴 = 老赖, 通訊錄 = 通讯录, 法院傳票 = 法院传票).
    # Got: [] — the matcher compares simplified phrases only; the traditional form of the same
    # word (as typed by any HK/TW-locale IME) passes. Rule: issue 24 part 5 (`通讯录` and
    # 老赖 were reported bypasses); NIFA convention (2018): no insult or contact-list exposure.
    assert kind in {k for k, _ in check_template(text)}


def test_a_policeman_is_police():
    # Expected: impersonation found in "A policeman will visit you today".
    # Got: [] — whole-word matching allows only the endings s/es/ed/d/ing/er, so the compound
    # "policeman"/"policemen" passes. Rule: issue 24 part 5; FDCPA 1692e(1).
    assert ("impersonation", "police") in check_template("A policeman will visit you today")


@pytest.mark.parametrize(
    ("template_id", "fills", "profile", "tz", "number", "hour"),
    [
        (
            "locate_en",
            {"agent_name": "Amy", "company": "Acme Recovery",
             "full_name": "John Smith who stopped paying us", "first_name": "John"},
            "us", "America/New_York", "4155552671", 18,
        ),
        (
            "locate_zh",
            {"company": "某某公司", "agent_name": "小王",
             "full_name": "张三他三个月没有还我们的钱了请转告他", "name": "张三"},
            "cn", "Asia/Shanghai", "13900139000", 2,
        ),
    ],
)  # fmt: skip
def test_a_placeholder_cannot_carry_free_text_to_a_third_party(
    template_id, fills, profile, tz, number, hour
):
    # Expected: blocked (third_party_script) — a name placeholder filled with a sentence that
    # tells the third party the debtor does not pay is free text, not the approved script.
    # Got: allowed — `_NAME_VALUE` accepts any 40 letters and spaces, and the disclosure list
    # has no "stopped paying" / "没有还...钱", so the sentence rides in on {full_name}.
    # Rule: issue 24 part 5 ("free text to a third party is refused"); FDCPA 1692b(2) /
    # Reg F 1006.10: never state that the consumer owes a debt to a third party.
    text = load_templates()[template_id]["text"]
    for k, v in fills.items():
        text = text.replace("{" + k + "}", v)
    rules = load_contact_rules()
    attempt = Attempt("C1", "D1", "call", dt.datetime(2026, 3, 2, hour, tzinfo=dt.UTC),
                      debtor_tz=tz, number=number, party="third_party", purpose="locate",
                      template=text, template_id=template_id, recording=frozenset({"audio"}))  # fmt: skip
    verdict = check_attempt(attempt, history=(), state=CaseState(debtor_unreachable=True),
                            profile=rules.profile(profile), rules=rules)  # fmt: skip
    assert not verdict.allowed, text
