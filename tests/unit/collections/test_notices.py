"""Collection notices: the Regulation F validation notice (every § 1006.34(c) field, the
itemization identity, the validation period over weekends and federal holidays) and the 催收函
(the lawful figures of the legal statement, never the contract's above the cap), escaped HTML,
PDF with real CJK glyphs, and the banned-content check."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengkong.collections import notices as notices_module
from fengkong.collections.notices import (
    CFPB_WEBSITE,
    DEMO_SENDER,
    Addressee,
    NoticeContentError,
    NoticeSender,
    amount_owed,
    check_notice,
    cjk_font,
    cuishou_letter,
    is_business_day,
    itemization_date,
    mask_account,
    money_text,
    notice_text,
    render_html,
    render_pdf,
    us_holidays,
    validation_notice,
    validation_period,
)
from fengkong.errors import InvalidArgumentError
from fengkong.money import Money
from fengkong.servicing import legal_statement
from fengkong.servicing.ledger import Recovery, Repayment, WriteOff, replay
from fengkong.servicing.products import load_products
from fengkong.servicing.schedule import LoanTerms, build_schedule

SENT = dt.date(2026, 11, 25)
HOSTILE = Addressee('<script>alert("x")</script> & Co', ("1 Main St <b>", "Springfield, IL"))
needs_cjk = pytest.mark.skipif(
    cjk_font() is None, reason="no CJK font (apt-get install fonts-wqy-microhei; .ci/run does)"
)


def _schedule(rate: str = "0.36"):
    product = load_products()["cash_loan"]
    terms = LoanTerms(product, Money.of("3000"), Decimal(rate), 3, dt.date(2026, 8, 1))
    return build_schedule(terms)


def _notice(events=(), *, on=SENT, addressee=HOSTILE, charged_off_on=None):
    s = _schedule()
    now = replay(s, list(events), as_of=on)
    day, basis = itemization_date(now, charged_off_on=charged_off_on)
    then = replay(s, list(events), as_of=day)
    return validation_notice(
        then, now, basis=basis, account="LN-2026-000123", sender=DEMO_SENDER,
        addressee=addressee, sent_on=on,
    )  # fmt: skip


# --- dates ----------------------------------------------------------------------------------


def test_federal_holidays_of_2026_on_their_observed_days():
    assert [d.isoformat() for d, _ in us_holidays(2026)] == [
        "2026-01-01", "2026-01-19", "2026-02-16", "2026-05-25", "2026-06-19",
        "2026-07-03",  # Independence Day falls on a Saturday: observed Friday
        "2026-09-07", "2026-10-12", "2026-11-11", "2026-11-26", "2026-12-25",
    ]  # fmt: skip


def test_observed_days_cross_the_year_and_juneteenth_starts_in_2021():
    # 1 January 2022 was a Saturday: observed on Friday 31 December 2021
    assert (dt.date(2021, 12, 31), "New Year's Day") in us_holidays(2021)
    assert all(d.year == 2022 for d, _ in us_holidays(2022))
    assert not any("Juneteenth" in name for _, name in us_holidays(2020))
    assert dt.date(2021, 6, 18) in {d for d, _ in us_holidays(2021)}  # 19 June 2021: a Saturday


@pytest.mark.parametrize(
    ("sent", "receipt", "end"),
    [
        (dt.date(2026, 11, 25), dt.date(2026, 12, 3), dt.date(2027, 1, 2)),  # Thanksgiving
        (dt.date(2026, 12, 23), dt.date(2026, 12, 31), dt.date(2027, 1, 30)),  # Christmas
        (dt.date(2021, 12, 27), dt.date(2022, 1, 4), dt.date(2022, 2, 3)),  # observed 31 Dec
        (dt.date(2026, 7, 2), dt.date(2026, 7, 10), dt.date(2026, 8, 9)),  # observed 3 July
        (dt.date(2026, 3, 6), dt.date(2026, 3, 13), dt.date(2026, 4, 12)),  # a plain Friday
        (dt.date(2026, 3, 7), dt.date(2026, 3, 13), dt.date(2026, 4, 12)),  # sent on a Saturday
    ],
)
def test_validation_period_skips_weekends_and_federal_holidays(sent, receipt, end):
    assert validation_period(sent) == (receipt, end)


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2090, 12, 31)))
def test_receipt_is_five_business_days_later_and_the_period_thirty_days(sent):
    receipt, end = validation_period(sent)
    between = [sent + dt.timedelta(days=n) for n in range(1, (receipt - sent).days + 1)]
    assert sum(map(is_business_day, between)) == 5 and is_business_day(receipt)
    assert 5 <= (receipt - sent).days <= 12 and end - receipt == dt.timedelta(days=30)


def test_mask_account_keeps_only_the_tail():
    assert mask_account("LN-2026-000123") == "**********0123"
    assert mask_account("L-D1") == "****D1" and mask_account("X") == "****"


# --- the validation notice ------------------------------------------------------------------


def test_every_regulation_f_field_is_in_the_notice():
    notice = _notice([Repayment(dt.date(2026, 9, 1), Money.of("500"), key="p1")])
    html = render_html(notice)
    it = notice.itemization
    required = [
        DEMO_SENDER.name, *DEMO_SENDER.address,  # debt collector's name and mailing address
        "&lt;script&gt;", "1 Main St &lt;b&gt;", "Springfield, IL",  # consumer's name, address
        f"a debt that you owe to {DEMO_SENDER.creditor}",  # creditor on the itemization date
        "account number **********0123",  # the account number, masked
        "As of September 1, 2026, you owed:", "(the last payment date)",  # itemization date
        money_text(it.owed_then),
        "You were charged this amount in interest:", money_text(it.interest),
        "You were charged this amount in fees:", money_text(it.fees),
        "You paid or were credited this amount toward the debt:", money_text(it.paid_or_credited),
        "Total amount of the debt now:", money_text(it.owed_now),
        "Call or write to us by January 2, 2027",  # the validation period end date
        "I want to dispute the debt because I think:", "This is not my debt.",
        "The amount is wrong.", "Other (please describe",
        "I want you to send me the name and address of the original creditor.",
        "Write to ask for the name and address of the original creditor",
        CFPB_WEBSITE, "is a debt collector",
    ]  # fmt: skip
    missing = [text for text in required if text not in html]
    assert not missing
    assert "LN-2026-000123" not in html and "000123" not in html
    assert notice.validation_end == dt.date(2027, 1, 2) and notice.receipt_on == dt.date(
        2026, 12, 3
    )


def test_itemization_from_the_last_payment_adds_up_to_the_cent():
    pay = Repayment(dt.date(2026, 9, 1), Money.of("500"), key="p1")
    notice = _notice([pay])
    it = notice.itemization
    assert (it.on, it.basis) == (dt.date(2026, 9, 1), "last_payment")
    assert it.owed_then.amount + it.interest.amount + it.fees.amount == (
        it.paid_or_credited.amount + it.owed_now.amount
    )
    assert it.paid_or_credited == Money.zero() and it.interest.amount > 0 and it.fees.amount > 0
    state = replay(_schedule(), [pay], as_of=SENT)
    assert it.owed_now == amount_owed(state)
    assert all(isinstance(m.amount, Decimal) for m in (it.owed_then, it.interest, it.owed_now))


def test_itemization_from_the_transaction_date_counts_later_payments():
    never_paid = _notice()
    assert never_paid.itemization.basis == "transaction"
    assert never_paid.itemization.on == dt.date(2026, 8, 1)
    assert never_paid.itemization.owed_then == Money.of("3000")


def test_itemization_from_the_charge_off_date_counts_recoveries_only():
    events = [WriteOff(dt.date(2026, 10, 20), key="wo"),
              Recovery(dt.date(2026, 11, 10), Money.of("300"), key="r1")]  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="charged_off_on"):
        _notice(events)
    it = _notice(events, charged_off_on=dt.date(2026, 10, 20)).itemization
    assert (it.on, it.basis) == (dt.date(2026, 10, 20), "charge_off")
    assert it.interest == it.fees == Money.zero()
    assert it.paid_or_credited == Money.of("300")
    assert it.owed_now == it.owed_then - Money.of("300")


def test_names_render_escaped_never_as_markup():
    html = render_html(_notice())
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html


def test_sender_and_addressee_fields_are_checked():
    with pytest.raises(InvalidArgumentError, match=r"addressee\.name"):
        Addressee("", ("x",))
    with pytest.raises(InvalidArgumentError, match=r"addressee\.address"):
        Addressee("A", ())
    with pytest.raises(InvalidArgumentError, match=r"sender\.name"):
        NoticeSender("two\nlines", ("x",), "1", "w", "c")
    with pytest.raises(InvalidArgumentError, match=r"sender\.lender_type"):
        NoticeSender("n", ("x",), "1", "w", "c", lender_type="bank")


# --- the 催收函 -----------------------------------------------------------------------------


def _letter(rate="0.36", name="张三"):
    events = [Repayment(dt.date(2026, 9, 1), Money.of("500"), key="p1")]
    state = replay(_schedule(rate), events, as_of=SENT)
    statement = legal_statement(state, jurisdiction="cn", lender_type="licensed")
    letter = cuishou_letter([("L-D1", state, statement)], sender=DEMO_SENDER,
                            addressee=Addressee(name, ("北京市朝阳区某路 1 号",)), sent_on=SENT)  # fmt: skip
    return letter, statement


def _yuan(m: Money) -> str:
    return f"{m.amount:,.2f} 元"


def test_the_letter_states_the_lawful_figures_line_by_line():
    letter, statement = _letter()
    total = statement.line("total")
    assert total.contract.amount > total.lawful.amount  # 36 % against a 24 % all-in cap
    rows = next(b for b in letter.blocks() if b.kind == "table").rows
    names = {
        "principal": "本金",
        "interest": "利息",
        "penalty": "罚息",
        "fees": "费用",
        "total": "合计",
    }
    for item, zh in names.items():
        line = statement.line(item)
        row = next(r for r in rows if r[0] == zh)
        assert row[1:4] == (_yuan(line.lawful), _yuan(line.paid), _yuan(line.owed))
        assert (row[4], row[5]) == (line.rule, line.source)
    assert letter.total_owed == total.owed
    text = notice_text(letter)
    assert f"依法应还合计：{_yuan(total.owed)}" in text
    penalty = statement.line("penalty")
    assert penalty.contract.amount > penalty.lawful.amount
    assert _yuan(penalty.contract) not in text and _yuan(total.contract) not in text
    assert _yuan(statement.contract_owed) not in text  # the contract's claim is never stated
    assert f"超出法定上限的 {_yuan(statement.contract_owed - total.owed)} 不予主张" in text


def test_the_letter_says_how_to_pay_dispute_and_the_rights():
    letter, _ = _letter()
    text = notice_text(letter)
    for part in (
        "还款方式",
        "如何提出异议",
        "您的权利",
        DEMO_SENDER.phone,
        "暂停",
        "第三方",
        "12378",
    ):
        assert part in text


def test_rendered_notices_pass_the_banned_content_check_and_banned_names_fail():
    letter, _ = _letter()
    check_notice(letter)
    check_notice(_notice())
    with pytest.raises(NoticeContentError, match="insult") as caught:
        check_notice(_letter(name="老赖")[0])
    assert ("insult", "老赖") in caught.value.found
    police = NoticeSender("Police Recovery Unit", ("x",), "1", "w", "c")
    with pytest.raises(NoticeContentError, match="impersonation"):
        check_notice(
            validation_notice(
                *(replay(_schedule(), [], as_of=d) for d in (dt.date(2026, 8, 1), SENT)),
                basis="transaction",
                account="L1",
                sender=police,
                addressee=HOSTILE,
                sent_on=SENT,
            )
        )


# --- PDF ------------------------------------------------------------------------------------


def _pdf_text(pdf: bytes) -> str:
    """The text of an fpdf2 PDF: each content stream's strings decoded through the font's
    ToUnicode map (enough for these notices; no PDF library needed)."""
    streams = []
    for m in re.finditer(rb"\d+ 0 obj\s*<<(.*?)>>\s*stream\r?\n", pdf, re.S):
        length = int(re.search(rb"/Length (\d+)", m.group(1)).group(1))
        data = pdf[m.end() : m.end() + length]
        streams.append(zlib.decompress(data) if b"FlateDecode" in m.group(1) else data)
    cmap: dict[int, str] = {}
    for s in streams:
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", s, re.S):
            for code, uni in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                cmap[int(code, 16)] = bytes.fromhex(uni.decode()).decode("utf-16-be")
    out = []
    for s in streams:
        for raw in re.findall(rb"\((.*?)(?<!\\)\)\s*Tj", s, re.S):
            data = re.sub(rb"\\([nrtbf()\\])", lambda m: {b"n": b"\n", b"r": b"\r", b"t": b"\t",
                          b"b": b"\b", b"f": b"\f"}.get(m.group(1), m.group(1)), raw)  # fmt: skip
            out.append("".join(cmap.get(int.from_bytes(data[i : i + 2]), "?")
                               for i in range(0, len(data) - 1, 2)))  # fmt: skip
    return "".join(out)


@needs_cjk
def test_the_letter_pdf_embeds_a_cjk_font_and_its_text_extracts():
    letter, statement = _letter()
    pdf = render_pdf(letter)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf == render_pdf(letter)  # deterministic
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 2
    assert re.search(rb"/BaseFont\s*/[A-Z]{6}\+WenQuanYi", pdf) and b"/FontFile2" in pdf
    text = _pdf_text(pdf).replace(" ", "")
    for part in ("催收函", "依法应还合计", "您的权利", _yuan(statement.line("total").owed)):
        assert part.replace(" ", "") in text


def test_the_validation_notice_pdf_has_every_prompt():
    pdf = render_pdf(_notice())
    assert pdf.startswith(b"%PDF-") and pdf == render_pdf(_notice())
    text = _pdf_text(pdf)
    for part in ("Validation notice", "This is not my debt.", "The amount is wrong.",
                 "original creditor", CFPB_WEBSITE, "January 2, 2027", '<script>alert("x")'):  # fmt: skip
        assert part in text


def test_without_a_cjk_font_english_falls_back_and_chinese_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(notices_module, "cjk_font", lambda: None)
    letter, _ = _letter()
    with pytest.raises(InvalidArgumentError, match="font: expected a CJK TrueType font"):
        render_pdf(letter)
    pdf = render_pdf(_notice())
    assert b"DejaVuSans" in pdf and "This is not my debt." in _pdf_text(pdf)
