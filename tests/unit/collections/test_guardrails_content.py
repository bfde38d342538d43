"""Content: banned phrases matched on normalised text (NFKC, width, case, digit-for-letter
swaps, spacing between CJK characters, spelled-out letters; whole words in English), third
parties get approved location-inquiry scripts only, and every template load path checks
content. Hostile text throughout: full-width, zero-width, empty, huge, non-ASCII."""

import datetime as dt
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fengkong.collections import Attempt, CaseState, check_attempt, check_template, load_strategy
from fengkong.collections.content import (
    MAX_TEXT,
    normalise_number,
    normalise_text,
    template_problems,
)
from fengkong.collections.rules import load_contact_rules
from fengkong.collections.strategy import load_templates
from fengkong.errors import ConfigError, InvalidArgumentError

RULES = load_contact_rules()
CN, US = RULES.profile("cn"), RULES.profile("us")
AT = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)  # 11:00 Shanghai
LOCATING = CaseState(debtor_unreachable=True)


def kinds(text, party="debtor"):
    return [k for k, _ in check_template(text, party=party)]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("p0lice will come", "impersonation"),
        ("ＰＯＬＩＣＥ", "impersonation"),
        ("Ｐ０ＬＩＣＥ", "impersonation"),
        ("警 察上门", "impersonation"),
        ("警-察", "impersonation"),
        ("警\u200b察", "impersonation"),
        ("po\u200blice", "impersonation"),
        ("P.O.L.I.C.E", "impersonation"),
        ("不还就打爆你的通讯录", "exposure"),
        ("再不还款就曝光你", "exposure"),
        ("we will k1ll you", "threat"),
        ("kill.", "threat"),
        ("KILL!", "threat"),
        ("K I L L", "threat"),
        ("they killed him", "threat"),
        ("you 1d10t", "insult"),
        ("$cum", "insult"),
        ("d3adb3at", "insult"),
        ("you will go to ja1l", "threat"),
        ("老 赖", "insult"),
        ("ａｒｒｅｓｔ　ｗａｒｒａｎｔ", "impersonation"),
        ("pay the membership-fee", "fees"),
    ],
)
def test_the_seen_misses_and_their_kind_are_caught(text, kind):
    assert kind in kinds(text)


@pytest.mark.parametrize(
    "text",
    ["a skilled team will help you", "Skillful agents", "the Kilimanjaro fund", "policeman's ball"[:0],
     "Your payment of 500 is due on 3 March", "您的分期款 500 已于 3月2日 到期", "",
     "the policy number is 12345", "impolite", "scumble", "killjoy"[:0]],
)  # fmt: skip
def test_words_are_not_substrings(text):
    assert kinds(text) == []


def test_disclosure_counts_only_towards_third_parties():
    for text in ("张三拖欠了我们的信用卡账单", "John Smith is behind on his loan payments",
                 "Li Wei 逾期 3 个月", "he 0wes us"):  # fmt: skip
        assert "disclosure" in kinds(text, party="third_party"), text
        assert "disclosure" not in kinds(text), text


def test_normal_form():
    assert normalise_text("ＰＯＬＩＣＥ") == normalise_text("p0lice") == normalise_text("Police")
    assert normalise_text("警 察") == "警察"
    assert normalise_text("") == ""


# --- third parties: approved scripts only ------------------------------------------------


def third(template="", template_id=None, channel="call", number="13900139000"):
    return Attempt("C1", "D1", channel, AT, debtor_tz="Asia/Shanghai", number=number,
                   party="third_party", purpose="locate", template=template,
                   template_id=template_id, recording=frozenset({"audio"}))  # fmt: skip


def rules_broken(attempt, state=LOCATING, profile=CN):
    return [
        b.rule for b in check_attempt(attempt, history=(), state=state, profile=profile).breaches
    ]


@pytest.mark.parametrize(
    ("text", "template_id"),
    [
        ("张三拖欠了我们的信用卡账单", None),
        ("John Smith is behind on his loan payments", None),
        ("Please ask Li Wei to call us", None),
        ("", None),
        ("Your instalment of 500 was due on 3 March.", "reminder"),  # a debtor's template
        ("We are trying to reach Li; please ask them to call 4001234567.", "locate"),
        ("", "no_such_template"),
    ],
)
def test_anything_but_an_approved_script_to_a_third_party_is_refused(text, template_id):
    assert "third_party_script" in rules_broken(third(text, template_id))


def test_an_approved_script_filled_with_names_and_numbers_passes():
    zh = "您好，我是凤控金融的王芳。我们想核实张三的联系方式，请问您能否确认或更正可以联系到张三的地址或电话？"
    assert rules_broken(third(zh, "locate_zh")) == []
    assert rules_broken(third("", "locate_zh")) == []  # the script as approved
    sms = ("This is Amy from Fengkong Finance. We are trying to confirm or correct location "
           "information for Li Wei. If you can help, please call +86 400-123-4567.")  # fmt: skip
    assert rules_broken(third(sms, "locate_sms_en", channel="sms")) == []
    us = third(sms, "locate_sms_en", channel="sms", number="+1 415 555 2671")
    assert rules_broken(us, profile=US) == []


@pytest.mark.parametrize(
    ("text", "template_id", "channel"),
    [
        # a sentence smuggled into a placeholder
        ("This is Amy from Fengkong Finance. We are trying to confirm or correct location "
         "information for Li Wei, who owes us 5000 yuan. If you can help, please call 4001234567.",
         "locate_sms_en", "sms"),
        # the script edited
        ("This is Amy from Fengkong Finance. Tell Li Wei to pay. If you can help, please call 4001234567.",
         "locate_sms_en", "sms"),
        # the right script on the wrong channel
        ("", "locate_en", "sms"),
        # a name that is a disclosure
        ("您好，我是凤控金融的王芳。我们想核实欠款人张三的联系方式，请问您能否确认或更正可以联系到张三的地址或电话？",
         "locate_zh", "call"),
    ],
)  # fmt: skip
def test_an_approved_script_altered_or_misused_is_refused(text, template_id, channel):
    assert set(rules_broken(third(text, template_id, channel))) & {
        "third_party_script",
        "content:disclosure",
    }


def test_the_approved_scripts_exist_in_both_languages_and_are_location_inquiries():
    approved = {k: t for k, t in load_templates().items() if t["third_party"]}
    assert {"locate_en", "locate_zh", "locate_sms_en", "locate_sms_zh"} <= set(approved)
    for name, t in approved.items():
        assert check_template(t["text"], party="third_party") == [], name
        assert "location" in t["text"] or "联系方式" in t["text"], name
    assert not load_templates()["reminder"]["third_party"]


# --- every template load path checks content ---------------------------------------------


def test_load_strategy_checks_templates_passed_as_a_mapping():
    bad = dict(load_templates())
    bad["firm"] = {"channel": "sms", "text": "The police are coming for you, 老赖"}
    with pytest.raises(ConfigError) as err:
        load_strategy(templates=bad)
    messages = [f"{p.path}: {p.message}" for p in err.value.problems]
    assert any("templates.firm.text" in m and "impersonation" in m for m in messages)
    assert any("insult" in m for m in messages)
    assert load_strategy(templates=load_templates()).templates["firm"]["channel"] == "sms"


@pytest.mark.parametrize(
    ("templates", "path"),
    [
        ({"firm": "just text"}, "templates.firm"),
        ({"firm": {"channel": "pigeon", "text": "hi"}}, "templates.firm.channel"),
        ({"firm": {"channel": "sms", "text": ""}}, "templates.firm.text"),
        ({"firm": {"channel": "sms", "text": "x" * 5000}}, "templates.firm.text"),
        ({"firm": {"channel": "sms", "text": 12}}, "templates.firm.text"),
        ({"bad name!": {"channel": "sms", "text": "hi"}}, "templates.bad name!"),
        ({"loc": {"channel": "call", "text": "Hi {first_name}, re {amount}", "third_party": True}},
         "templates.loc.text"),
        ({"loc": {"channel": "call", "text": "Li owes us", "third_party": True}}, "templates.loc.text"),
        ({"loc": {"channel": "call", "text": "hi", "third_party": "yes"}}, "templates.loc.third_party"),
    ],
)  # fmt: skip
def test_a_bad_template_is_a_problem_naming_it(templates, path):
    problems = template_problems(templates, file="<templates>")
    assert any(p.path == path for p in problems), problems
    with pytest.raises(ConfigError):
        load_strategy(templates=templates)


def test_a_template_file_with_banned_content_in_disguise_is_refused(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("schema_version: 1\ntemplates:\n  scary:\n    channel: sms\n"
                    "    text: 再不还，警 察上门，打爆通讯录\n", encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError) as err:
        load_templates(path)
    assert {p.message.split(" ")[2] for p in err.value.problems} >= {
        "(impersonation):",
        "(exposure):",
    }


# --- hostile input -----------------------------------------------------------------------


def test_huge_texts_are_refused_quickly_and_never_crash():
    huge = "警" * (MAX_TEXT + 1)
    start = time.perf_counter()
    assert kinds(huge) == ["length"]
    assert "content:length" in rules_broken(third(huge, "locate_en"))
    assert kinds("a " * (MAX_TEXT // 2 - 1)) == []
    assert time.perf_counter() - start < 2.0


def test_numbers_normalise_to_e164():
    assert normalise_number("+86 138-0013-8000") == "+8613800138000"
    assert normalise_number("010-6552 9988") == "+861065529988"
    assert normalise_number("(0755) 8888 6666") == "+8675588886666"
    assert normalise_number("4001234567") == "+864001234567"
    assert normalise_number("+1 (415) 555-2671") == "+14155552671"
    assert normalise_number("011 44 20 7946 0958", region="US") == "+442079460958"
    assert normalise_number("1-415-555-2671", region="US") == "+14155552671"
    for bad in ("", "12345", "+1 015 555 2671", "555-2671", "1" * 100):
        with pytest.raises(InvalidArgumentError, match="number"):
            normalise_number(bad, region="US")
    with pytest.raises(InvalidArgumentError, match="region"):
        normalise_number("13800138000", region="XX")  # type: ignore[arg-type]


SEPARATORS = st.sampled_from([" ", "-", ".", "", "\u3000", "－", "(", ")"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    second=st.integers(3, 9),
    rest=st.text("0123456789", min_size=9, max_size=9),
    prefix=st.sampled_from(["", "+86", "0086", "86", "＋８６"]),
    seps=st.lists(SEPARATORS, min_size=12, max_size=12),
    wide=st.booleans(),
)
def test_any_formatting_of_a_chinese_mobile_is_one_number(second, rest, prefix, seps, wide):
    digits = f"1{second}{rest}"
    text = prefix + "".join(d + s for d, s in zip(digits, seps, strict=False))
    if wide:
        text = text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert normalise_number(text) == f"+86{digits}"


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_any_text_as_a_number_is_e164_or_a_breach(raw):
    attempt = Attempt("C1", "D1", "sms", AT, debtor_tz="Asia/Shanghai", number=raw)
    rules = rules_broken(attempt, state=CaseState(), profile=CN)
    try:
        found = normalise_number(raw)
    except InvalidArgumentError:
        assert "number" in rules
    else:
        assert found.startswith("+") and found[1:].isdigit() and 8 <= len(found) <= 16
        assert "number" not in rules


PHRASES = [(k, p) for k, ps in RULES.content.items() for p in ps if k != "disclosure"]


def _disguise(phrase, how):
    if how == "upper":
        return phrase.upper()
    if how == "wide":
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in phrase)
    if how == "zero_width":
        return "\u200b".join(phrase)
    if how == "spaced_cjk" and all("\u4e00" <= c <= "\u9fff" for c in phrase):
        return " ".join(phrase)
    if how == "leet":
        return phrase.translate(str.maketrans({"o": "0", "e": "3", "a": "4", "s": "5", "i": "1"}))
    return phrase


@settings(max_examples=400)
@given(
    item=st.sampled_from(PHRASES),
    how=st.sampled_from(["upper", "wide", "zero_width", "spaced_cjk", "leet", "plain"]),
    before=st.sampled_from(["", "Note: ", "请注意，", "OK. "]),
    after=st.sampled_from(["", ".", "!", " today", "，马上"]),
)
def test_a_banned_phrase_in_disguise_is_still_found(item, how, before, after):
    kind, phrase = item
    assert (kind, phrase) in check_template(before + _disguise(phrase, how) + after)


@settings(max_examples=200)
@given(
    item=st.sampled_from([(k, p) for k, p in PHRASES if p.isascii()]),
    glue=st.sampled_from(["x", "qz", "un"]),
)
def test_a_latin_phrase_inside_a_longer_word_is_not_found(item, glue):
    kind, phrase = item
    word = glue + phrase.replace(" ", "") + "zq"
    assume(" " not in phrase)
    assert (kind, phrase) not in check_template(word)


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_any_text_is_checked_without_error(text):
    found = check_template(text, party="third_party")
    assert all(isinstance(k, str) and isinstance(p, str) for k, p in found)
    verdict = check_attempt(third(text, "locate_en"), history=(), state=LOCATING, profile=CN)
    assert verdict.allowed is (not verdict.breaches)


def test_the_check_is_fast_on_the_usual_path():
    attempt = Attempt("C1", "D1", "sms", AT, debtor_tz="Asia/Shanghai", number="13800138000",
                      template="您的分期款 500 已于 3月2日 到期，请通过 App 还款。")  # fmt: skip
    check_attempt(attempt, history=(), state=CaseState(), profile=CN)
    start = time.perf_counter()
    for _ in range(2_000):
        check_attempt(attempt, history=(), state=CaseState(), profile=CN)
    per_check = (time.perf_counter() - start) / 2_000
    assert per_check < 0.002, f"{per_check * 1e6:.0f} µs per check"


def test_every_format_character_is_removed_before_matching():
    import sys  # noqa: PLC0415
    import unicodedata  # noqa: PLC0415

    invisible = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    for c in invisible:
        assert normalise_text(f"po{c}lice") == normalise_text("police"), hex(ord(c))


def test_a_callers_templates_are_checked_before_any_is_approved():
    mine = {
        "tell": {"channel": "call", "text": "{first_name} owes us money", "third_party": True},
        "ask": {"channel": "call", "text": "Hello, can you help us reach {first_name}?",
                "third_party": True},
    }  # fmt: skip
    for template_id, allowed in (("tell", False), ("ask", True)):
        attempt = third("", template_id)
        verdict = check_attempt(attempt, history=(), state=LOCATING, profile=CN, templates=mine)
        assert verdict.allowed is allowed, verdict
    raw = third("Hello, can you help us reach {first_name}?", "ask")  # as stored, unrendered
    assert check_attempt(raw, history=(), state=LOCATING, profile=CN, templates=mine).allowed


# --- invisible marks, look-alike letters, traditional characters ------------------------


def test_every_invisible_mark_is_removed_before_matching():
    import sys  # noqa: PLC0415
    import unicodedata  # noqa: PLC0415

    kana_marks = {"\u3099", "\u309a"}  # part of the kana they follow: kept
    marks = [chr(c) for c in range(sys.maxunicode + 1)
             if unicodedata.category(chr(c)) in ("Mn", "Me") and chr(c) not in kana_marks]  # fmt: skip
    ignorable = ["\u034f", "\u115f", "\u3164", "\ufe0f", "\uffa0", "\U000e0100", "\U000e0fff"]
    assert len(marks) > 1_500
    for c in marks + ignorable:
        assert normalise_text(f"p{c}o{c}lice") == normalise_text("police"), hex(ord(c))
    assert kinds("Pay today or the p\u0301o\u0308lice\ufe0f will come") == ["impersonation"]


def test_kana_and_hangul_come_through_as_they_were():
    for text in ("がっこう", "パスポート", "한국어 사용자", "ガッコウ"):
        assert normalise_text(text) == text.replace(" ", "")
    assert normalise_text("ｶﾞｯｺｳ") == "ガッコウ"


CYRILLIC = str.maketrans("aceopxyisjABCEHKMOPTXY", "асеорхуіѕјАВСЕНКМОРТХУ")
GREEK = str.maketrans("aopiktxABEHIKMNOPTXYZ", "αορικτχΑΒΕΗΙΚΜΝΟΡΤΧΥΖ")


@settings(max_examples=300)
@given(
    item=st.sampled_from([(k, p) for k, p in PHRASES if p.isascii()]),
    table=st.sampled_from([CYRILLIC, GREEK]),
    upper=st.booleans(),
    mask=st.integers(1, 2**20),
)
def test_look_alike_letters_do_not_hide_a_latin_phrase(item, table, upper, mask):
    kind, phrase = item
    text = phrase.upper() if upper else phrase
    swapped = "".join(c.translate(table) if mask >> i & 1 else c for i, c in enumerate(text))
    assert (kind, phrase) in check_template(f"Note: {swapped} today")


def test_every_character_of_the_chinese_phrases_has_its_traditional_form_folded():
    from fengkong.collections.content import SAME_IN_BOTH, TRADITIONAL  # noqa: PLC0415

    han = {c for _, ps in RULES.content.items() for p in ps for c in p if "\u4e00" <= c <= "\u9fff"}
    assert han - set(TRADITIONAL) - SAME_IN_BOTH == set(), (
        "add these to TRADITIONAL or SAME_IN_BOTH"
    )
    assert not set(TRADITIONAL) & SAME_IN_BOTH
    for kind, phrases in RULES.content.items():
        for phrase in phrases:
            for i in range(2):  # first and last variant of each character
                trad = "".join(TRADITIONAL.get(c, c)[-i] for c in phrase)
                found = check_template(f"请注意{trad}。", party="third_party")
                assert (kind, phrase) in found, trad


@pytest.mark.parametrize(
    ("text", "kind"),
    [("你就是个老賴", "insult"), ("不还钱就打给你的通訊錄", "exposure"), ("法院傳票已经寄出", "impersonation"),
     ("騙子", "insult"), ("廢物", "insult"), ("逮捕", "impersonation"), ("檢察院", "impersonation"),
     ("員警上門", "impersonation"), ("警察", "impersonation"), ("後果自負", "threat"),
     ("注意家人安全", "threat"), ("曝光你", "exposure"), ("他欠錢", "disclosure"),
     ("逾期三個月", "disclosure"), ("帳單", "disclosure")],
)  # fmt: skip
def test_traditional_characters_do_not_hide_a_chinese_phrase(text, kind):
    assert kind in kinds(text, party="third_party")


@pytest.mark.parametrize(
    "text", ["A policeman will visit", "two policemen", "a policewoman", "the cops are coming",
             "a cop", "C0PS", "the police-man"],
)  # fmt: skip
def test_police_officers_by_any_name_are_impersonation(text):
    assert "impersonation" in kinds(text)


@pytest.mark.parametrize(
    "text", ["we are coping with it", "he coped well", "copper wire", "copy this", "a policy"]
)
def test_a_short_phrase_takes_only_a_plural(text):
    assert kinds(text) == []


# --- third parties: a placeholder holds a name or a number, never free text ---------------


def locate_en(full_name="Li Wei", first_name="Li", agent="Amy", company="Fengkong Finance"):
    return (f"Hello, this is {agent} calling from {company}. I am trying to confirm or correct "
            f"location information for {full_name}. Can you confirm the best address or "
            f"telephone number to reach {first_name}?")  # fmt: skip


def locate_zh(full_name="张三", name="张三", agent="王芳", company="凤控金融"):
    return (f"您好，我是{company}的{agent}。我们想核实{full_name}的联系方式，"
            f"请问您能否确认或更正可以联系到{name}的地址或电话？")  # fmt: skip


@pytest.mark.parametrize(
    "name",
    ["Li Wei", "John Smith", "Maria de la Cruz", "Ludwig van Beethoven", "Seán O'Brien",
     "Jean-Luc Picard", "José García", "Nguyễn Văn An", "He Jian", "Will Smith", "J. R. Tolkien",
     "Mohammed bin Salman", "Abdullah al-Hashimi", "Chia Her", "SMITH", "Jose\u0301 Garci\u0301a"],
)  # fmt: skip
def test_a_latin_personal_name_fills_a_script(name):
    assert rules_broken(third(locate_en(full_name=name), "locate_en")) == []


@pytest.mark.parametrize(
    "name", ["张三", "王芳", "欧阳娜娜", "钱学森", "阿卜杜拉·买买提", "爱新觉罗·溥仪"]
)
def test_a_chinese_personal_name_fills_a_script(name):
    assert rules_broken(third(locate_zh(full_name=name), "locate_zh")) == []


@pytest.mark.parametrize(
    "name",
    ["John Smith who stopped paying us", "John Smith Who Stopped Paying", "Li Wei Defaulted",
     "Li Wei Debtor", "Li Is Late", "Tell Li", "john smith", "Li Wei, who owes", "Deadbeat Li",
     "the Police", "Jоhn Smith", "Ｊｏｈｎ", "John\u200bSmith", "Li\ufe0f Wei",
     "Supercalifragilisticexpialidocious", "A B C D E"],
)  # fmt: skip
def test_a_sentence_in_a_latin_name_placeholder_is_refused(name):
    assert "third_party_script" in rules_broken(third(locate_en(full_name=name), "locate_en"))


@pytest.mark.parametrize(
    "name",
    ["张三他三个月没有还我们的钱了请转告他", "张三欠钱", "张三没还", "张", "张三李四王五赵六",
     "张三·他没有还钱", "老赖张三", "张三的"],
)  # fmt: skip
def test_a_sentence_in_a_chinese_name_placeholder_is_refused(name):
    assert "third_party_script" in rules_broken(third(locate_zh(full_name=name), "locate_zh"))


@pytest.mark.parametrize(
    ("fills", "ok"),
    [({"company": "Acme Recovery"}, True), ({"company": "Bank of America"}, True),
     ({"company": "Smith & Sons Ltd."}, True),
     ({"company": "Acme calling because John stopped paying"}, False),
     ({"company": "Acme Who Says He Owes"}, False)],
)  # fmt: skip
def test_a_company_placeholder_holds_a_company_name(fills, ok):
    broken = rules_broken(third(locate_en(**fills), "locate_en"))
    assert ("third_party_script" not in broken) is ok, broken


@pytest.mark.parametrize(
    ("hotline", "ok"),
    [("+86 400-123-4567", True), ("4001234567", True), ("(0755) 8888 6666", True),
     ("400 now", False), ("12", False), ("4001234567 re your loan", False), ("(400", False)],
)  # fmt: skip
def test_a_number_placeholder_holds_a_phone_number(hotline, ok):
    text = ("This is Amy from Fengkong Finance. We are trying to confirm or correct location "
            f"information for Li Wei. If you can help, please call {hotline}.")  # fmt: skip
    broken = rules_broken(third(text, "locate_sms_en", channel="sms"))
    assert ("third_party_script" not in broken) is ok, broken


LETTERS = "abcdefghijklmnopqrstuvwxyzéüñçøłă"
NAME_WORD = st.builds(lambda first, rest: first.upper() + rest,
                      st.sampled_from(LETTERS), st.text(LETTERS, min_size=1, max_size=11))  # fmt: skip
SENTENCE = ["who owes us", "stopped paying", "Has Not Paid", "Is Overdue", "Owes Money",
            "他没还钱", "Defaulted", "Refuses To Pay"]  # fmt: skip


@settings(max_examples=300)
@given(words=st.lists(NAME_WORD, min_size=1, max_size=3), tail=st.sampled_from(SENTENCE))
def test_a_name_passes_and_the_same_name_with_a_sentence_does_not(words, tail):
    from fengkong.collections.content import fill_problem  # noqa: PLC0415

    name = " ".join(words)
    # a drawn name that happens to be a banned word or a sentence word is refused: rare
    assume(fill_problem("person", name) is None)
    assert rules_broken(third(locate_en(full_name=name, first_name=words[0]), "locate_en")) == []
    bad = locate_en(full_name=f"{name} {tail}", first_name=words[0])
    assert "third_party_script" in rules_broken(third(bad, "locate_en"))


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_any_text_as_a_name_is_a_name_or_refused(fill):
    from fengkong.collections.content import fill_problem  # noqa: PLC0415

    verdict = check_attempt(third(locate_en(full_name=fill), "locate_en"), history=(),
                            state=LOCATING, profile=CN)  # fmt: skip
    if fill_problem("person", unicodedata_nfc(fill)) is not None:
        assert not verdict.allowed


def unicodedata_nfc(text):
    import unicodedata  # noqa: PLC0415

    return unicodedata.normalize("NFC", text)
