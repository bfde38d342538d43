"""Collection notices: the US validation notice and the Chinese 催收函, as HTML and PDF.

**Validation notice** (CFPB Regulation F, 12 CFR § 1006.34(c); model form B-1): the debt
collector's name and mailing address, the consumer's name and mailing address, the creditor on
the itemization date, the account number (masked), the itemization date, the amount on that
date, the interest, fees and payments or credits since, the current amount, the validation
period's end date, the dispute prompts, the original-creditor request prompt and the CFPB's
website.

- *Itemization date* (§ 1006.34(b)(3) allows five reference dates; fengkong picks one by a
  fixed rule): the **charge-off date** for a written-off loan, else the **last payment date**,
  else the **transaction date** (the day the loan was disbursed, for a loan never paid).
- *Amounts*: what the consumer owes on a date is the unpaid principal, the interest earned to
  that date and not paid, and the penalties and fees fallen due and not paid, less any credit
  held for them (a payoff without a prepayment fee); for a written-off loan, the amount written
  off less recoveries. Interest and fees since the itemization date are what the ledger charged
  in between (nothing after a charge-off); "paid or credited" is the rest, so that the amount
  on the itemization date + interest + fees − payments and credits = the current amount, to
  the cent.
- *Validation period*: the consumer is assumed to receive the notice 5 days after it is sent,
  not counting Saturdays, Sundays and US federal holidays (§ 1006.34(b)(5)); the period ends 30
  days after that receipt date. The holidays are a rule (5 U.S.C. 6103(a), observed on the
  Friday before a Saturday and the Monday after a Sunday), worked for any year.

**催收函** states, loan by loan, what the borrower owes *lawfully* — the legal statement's
(:func:`fengkong.servicing.legal_statement`) lawful, paid and owed figures for principal,
interest, penalty and fees, with the rule and its source — never the contract's figure where it
exceeds the lawful one; then how to pay, how to dispute, and the borrower's rights. A rendered
notice is checked for banned content (:func:`fengkong.collections.guardrails.check_template`)
and refused if anything is found.

Rendering: both notices are a sequence of :class:`Block` s, rendered to HTML by Jinja2 with
autoescape on (a name like ``<script>`` is text, never markup) and to PDF by fpdf2 with an
embedded TrueType font (a CJK font for Chinese: ``fonts-wqy-microhei`` from Debian).

>>> [str(day) for day, _ in us_holidays(2026)[:3]]
['2026-01-01', '2026-01-19', '2026-02-16']
>>> validation_period(dt.date(2026, 11, 25))  # Thanksgiving on the 26th is skipped
(datetime.date(2026, 12, 3), datetime.date(2027, 1, 2))
>>> mask_account("LN-2026-000123")
'**********0123'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import jinja2

from fengkong.collections.guardrails import check_template
from fengkong.errors import InvalidArgumentError
from fengkong.money import Money
from fengkong.servicing.ledger import LoanState
from fengkong.servicing.statement import LegalStatement

__all__ = [
    "CFPB_WEBSITE",
    "DEMO_SENDER",
    "Addressee",
    "Block",
    "CuishouLetter",
    "CuishouLoan",
    "Itemization",
    "NoticeContentError",
    "NoticeSender",
    "ValidationNotice",
    "amount_owed",
    "check_notice",
    "cjk_font",
    "cuishou_letter",
    "is_business_day",
    "itemization_date",
    "itemize",
    "mask_account",
    "render_html",
    "render_pdf",
    "us_holidays",
    "validation_notice",
    "validation_period",
]

CFPB_WEBSITE = "www.cfpb.gov/debt-collection"
ItemizationBasis = Literal["charge_off", "last_payment", "transaction"]
_BASIS_WORDS = {
    "charge_off": "the charge-off date",
    "last_payment": "the last payment date",
    "transaction": "the transaction date",
}
_MAX_FIELD = 200
_MAX_LINES = 6


class NoticeContentError(InvalidArgumentError):
    """A rendered notice contains banned content (``found``: ``(kind, phrase)`` pairs)."""

    def __init__(self, kind: str, found: Sequence[tuple[str, str]]) -> None:
        self.found = tuple(found)
        super().__init__(
            "notice",
            expected=f"a {kind} without banned content",
            got=", ".join(f"{k}: {p!r}" for k, p in self.found),
        )


def _text_field(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_FIELD:
        raise InvalidArgumentError(
            name, expected=f"a non-empty text of at most {_MAX_FIELD} characters", got=value
        )
    if any(c in value for c in "\r\n\x00"):
        raise InvalidArgumentError(name, expected="one line of text", got=value)
    return value


def _lines_field(name: str, value: Sequence[str]) -> tuple[str, ...]:
    lines = tuple(value)
    if not 1 <= len(lines) <= _MAX_LINES:
        raise InvalidArgumentError(name, expected=f"1 to {_MAX_LINES} lines", got=lines)
    for n, line in enumerate(lines):
        _text_field(f"{name}.{n}", line)
    return lines


@dataclass(frozen=True, slots=True)
class NoticeSender:
    """Who sends the notice (the debt collector: the lender itself when it collects its own
    debts), how to reach and pay them, the creditor on the itemization date, and the lender
    type whose caps judge the 催收函 (``licensed`` or ``private``)."""

    name: str
    address: tuple[str, ...]
    phone: str
    website: str
    creditor: str
    hours: str = "Monday to Friday, 9:00 to 18:00"
    payment: str = "Pay through the official app or to the account shown in it."
    payment_zh: str = "请通过官方 App 或其中公示的本公司对公账户还款，请勿向任何个人账户转账。"
    lender_type: str = "licensed"

    def __post_init__(self) -> None:
        for name in ("name", "phone", "website", "creditor", "hours", "payment", "payment_zh"):
            _text_field(f"sender.{name}", getattr(self, name))
        object.__setattr__(self, "address", _lines_field("sender.address", self.address))
        if self.lender_type not in ("licensed", "private"):
            raise InvalidArgumentError(
                "sender.lender_type", expected="licensed or private", got=self.lender_type
            )


@dataclass(frozen=True, slots=True)
class Addressee:
    """The consumer the notice is mailed to."""

    name: str
    address: tuple[str, ...]

    def __post_init__(self) -> None:
        _text_field("addressee.name", self.name)
        object.__setattr__(self, "address", _lines_field("addressee.address", self.address))


#: A placeholder sender for demos and tests; a deployment sets its own.
DEMO_SENDER = NoticeSender(
    name="Fengkong Demo Lending Co.",
    address=("100 Example Street", "Springfield, IL 62701"),
    phone="+1 800 555 0100",
    website="www.example.com/disputes",
    creditor="Fengkong Demo Lending Co.",
)


# --- dates ----------------------------------------------------------------------------------


def _nth(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th ``weekday`` (0 = Monday) of a month; ``n = -1``: the last."""
    if n < 0:
        last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
        return last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _observed(day: dt.date) -> dt.date:
    """Executive Order 11582: a Saturday holiday is kept on Friday, a Sunday one on Monday."""
    return day + dt.timedelta(days={5: -1, 6: 1}.get(day.weekday(), 0))


def _holidays_of(year: int) -> list[tuple[dt.date, str]]:
    """The legal public holidays of 5 U.S.C. 6103(a) for ``year``, on their observed days."""
    fixed = [(1, 1, "New Year's Day"), (7, 4, "Independence Day"), (11, 11, "Veterans Day"),
             (12, 25, "Christmas Day")]  # fmt: skip
    if year >= 2021:  # Juneteenth National Independence Day Act, 17 June 2021
        fixed.append((6, 19, "Juneteenth National Independence Day"))
    days = [(_observed(dt.date(year, m, d)), name) for m, d, name in fixed]
    days += [
        (_nth(year, 1, 0, 3), "Birthday of Martin Luther King, Jr."),
        (_nth(year, 2, 0, 3), "Washington's Birthday"),
        (_nth(year, 5, 0, -1), "Memorial Day"),
        (_nth(year, 9, 0, 1), "Labor Day"),
        (_nth(year, 10, 0, 2), "Columbus Day"),
        (_nth(year, 11, 3, 4), "Thanksgiving Day"),
    ]
    return days


@lru_cache(maxsize=64)
def us_holidays(year: int) -> tuple[tuple[dt.date, str], ...]:
    """US federal holidays observed in ``year`` (a next year's New Year's Day on a Saturday
    is observed on 31 December of ``year``), sorted by date."""
    if not 1900 <= year <= 9998:
        raise InvalidArgumentError("year", expected="a year from 1900 to 9998", got=year)
    both = _holidays_of(year) + _holidays_of(year + 1) + _holidays_of(year - 1)
    return tuple(sorted({(d, n) for d, n in both if d.year == year}))


def is_business_day(day: dt.date) -> bool:
    """Neither a Saturday, a Sunday nor a US federal holiday (as observed)."""
    return day.weekday() < 5 and all(day != d for d, _ in us_holidays(day.year))


def validation_period(sent_on: dt.date, *, receipt_days: int = 5) -> tuple[dt.date, dt.date]:
    """``(assumed receipt, validation period end)`` of a notice sent on ``sent_on``: receipt
    ``receipt_days`` business days later (12 CFR 1006.34(b)(5)), the end 30 days after it."""
    day, left = sent_on, receipt_days
    while left:
        day += dt.timedelta(days=1)
        left -= is_business_day(day)
    return day, day + dt.timedelta(days=30)


def mask_account(account: str) -> str:
    """The account number with all but its last 4 characters masked (the last 2 when it has
    fewer than 8), at least four ``*``."""
    keep = 4 if len(account) >= 8 else min(2, len(account) // 2)
    return "*" * max(len(account) - keep, 4) + account[len(account) - keep :]


# --- amounts --------------------------------------------------------------------------------


def _due(state: LoanState, component: str, *, paid: bool = False) -> int:
    return sum((i.paid if paid else i.due)[component] for i in state.instalments)


def amount_owed(state: LoanState) -> Money:
    """What the consumer owes at ``state.as_of`` (see the module docstring)."""
    currency = state.terms.principal.currency
    if state.status == "settled":
        return Money.zero(currency)
    if state.status == "written_off":
        return state.written_off - state.recovered
    principal = _due(state, "principal") - _due(state, "principal", paid=True)
    interest = max(state.accrued_interest.minor - _due(state, "interest", paid=True), 0)
    charges = sum(_due(state, c) - _due(state, c, paid=True) for c in ("penalty", "fee"))
    return Money.from_minor(max(principal + interest + charges - state.credit_fen, 0), currency)


def itemization_date(
    state: LoanState, *, charged_off_on: dt.date | None = None
) -> tuple[dt.date, ItemizationBasis]:
    """The itemization date and which reference date it is: the charge-off date of a
    written-off loan, else the last payment date, else the transaction (disbursement) date."""
    if state.status == "written_off":
        if charged_off_on is None:
            raise InvalidArgumentError(
                "charged_off_on", expected="the charge-off date of a written-off loan", got=None
            )
        return charged_off_on, "charge_off"
    paid = [on for on, _, _ in state.payments if on <= state.as_of]
    if paid:
        return max(paid), "last_payment"
    return state.terms.disbursed_on, "transaction"


@dataclass(frozen=True, slots=True)
class Itemization:
    """The debt on the itemization date and what changed since (12 CFR 1006.34(c)(2)(vi)-(viii)):
    ``owed_then + interest + fees - paid_or_credited == owed_now``."""

    on: dt.date
    basis: ItemizationBasis
    owed_then: Money
    interest: Money
    fees: Money
    paid_or_credited: Money
    owed_now: Money


def itemize(then: LoanState, now: LoanState, *, basis: ItemizationBasis) -> Itemization:
    """Itemize the debt between the states on the itemization date and today."""
    if then.as_of > now.as_of:
        raise InvalidArgumentError(
            "then", expected=f"a state on or before {now.as_of}", got=then.as_of
        )
    currency = now.terms.principal.currency
    owed_then, owed_now = amount_owed(then).minor, amount_owed(now).minor
    interest = fees = 0
    if then.status != "written_off":  # nothing accrues after a charge-off
        interest = max(now.accrued_interest.minor - then.accrued_interest.minor, 0)
        fees = max(sum(_due(now, c) - _due(then, c) for c in ("penalty", "fee")), 0)
    paid = owed_then + interest + fees - owed_now
    if paid < 0:  # charges the ledger added by other means (a capitalising re-age)
        fees, paid = fees - paid, 0
    m = Money.from_minor
    return Itemization(
        then.as_of,
        basis,
        m(owed_then, currency),
        m(interest, currency),
        m(fees, currency),
        m(paid, currency),
        m(owed_now, currency),
    )


# --- documents ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of a notice: ``title``, ``heading``, ``para``, ``lines`` (an address),
    ``table`` (``header`` and ``rows``), ``check`` (a tick box) or ``small``."""

    kind: Literal["title", "heading", "para", "lines", "table", "check", "small"]
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()
    header: tuple[str, ...] = ()


class Document(Protocol):
    """A notice: its language, title, sending date and blocks."""

    @property
    def lang(self) -> str: ...
    @property
    def sent_on(self) -> dt.date: ...
    @property
    def title(self) -> str: ...
    def blocks(self) -> tuple[Block, ...]: ...


def money_text(amount: Money) -> str:
    """``$1,234.56`` in US dollars, ``CNY 1,234.56`` otherwise (exact Decimal formatting)."""
    sign = "-" if amount.amount < 0 else ""
    if amount.currency == "USD":
        return f"{sign}${abs(amount.amount):,.2f}"
    return f"{sign}{amount.currency} {abs(amount.amount):,.2f}"


def _end(sentence: str) -> str:
    """``sentence`` ending in one full stop (``Co.`` is not followed by another)."""
    return sentence if sentence.endswith(".") else sentence + "."


def _us_date(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


@dataclass(frozen=True, slots=True)
class ValidationNotice:
    """The Regulation F validation notice of one debt (12 CFR 1006.34(c))."""

    sender: NoticeSender
    addressee: Addressee
    account: str
    sent_on: dt.date
    itemization: Itemization
    receipt_on: dt.date
    validation_end: dt.date
    lang: str = "en"
    title: str = "Validation notice"

    def blocks(self) -> tuple[Block, ...]:
        return self._header() + self._amounts() + self._rights() + self._form()

    def _header(self) -> tuple[Block, ...]:
        s = self.sender
        return (
            Block("lines", rows=((s.name,), *((a,) for a in s.address))),
            Block("small", f"{s.phone} · {s.hours} · {s.website}"),
            Block("para", f"Date: {_us_date(self.sent_on)}"),
            Block("lines", rows=((self.addressee.name,), *((a,) for a in self.addressee.address))),
            Block("para", f"Reference: account {self.account}"),
            Block("title", self.title),
            Block(
                "para",
                f"{s.name} is a debt collector. We are trying to collect a debt that you owe "
                f"to {_end(s.creditor)} We will use any information you give us to help collect the "
                "debt.",
            ),
        )

    def _amounts(self) -> tuple[Block, ...]:
        it, s = self.itemization, self.sender
        on = _us_date(it.on)
        return (
            Block("heading", "Our information shows:"),
            Block(
                "para",
                f"You had an account from {s.creditor} with account number {self.account}. "
                f"On {on} ({_BASIS_WORDS[it.basis]}) the creditor was {_end(s.creditor)}",
            ),
            Block(
                "table",
                header=("", "Amount"),
                rows=(
                    (f"As of {on}, you owed:", money_text(it.owed_then)),
                    (f"Between {on} and today:", ""),
                    ("You were charged this amount in interest:", "+ " + money_text(it.interest)),
                    ("You were charged this amount in fees:", "+ " + money_text(it.fees)),
                    (
                        "You paid or were credited this amount toward the debt:",
                        "- " + money_text(it.paid_or_credited),
                    ),
                    ("Total amount of the debt now:", money_text(it.owed_now)),
                ),
            ),
        )

    def _rights(self) -> tuple[Block, ...]:
        end, s = _us_date(self.validation_end), self.sender
        return (
            Block("heading", "How can you dispute the debt?"),
            Block(
                "para",
                f"Call or write to us by {end} to dispute all or part of the debt. If you do "
                "not, we will assume that our information is correct.",
            ),
            Block(
                "para",
                f"If you write to us by {end}, we must stop collection on any amount you "
                "dispute until we send you information that shows you owe the debt. You may use "
                "the form below or write to us without the form. You may also include "
                f"supporting documents. We accept disputes electronically at {s.website}.",
            ),
            Block("heading", "What else can you do?"),
            Block(
                "para",
                "Write to ask for the name and address of the original creditor, if different "
                f"from the current creditor. If you write by {end}, we must stop collection "
                "until we send you that information. You may use the form below or write to us "
                "without the form.",
            ),
            Block(
                "para",
                f"Go to {CFPB_WEBSITE} to learn more about your rights under federal law. "
                "For instance, you have the right to stop or limit how we contact you.",
            ),
            Block("para", f"Contact us about your payment options: {s.phone}. {s.payment}"),
        )

    def _form(self) -> tuple[Block, ...]:
        s = self.sender
        return (
            Block("heading", "How do you want to respond?"),
            Block("small", f"Mail this form to: {s.name}, {', '.join(s.address)}"),
            Block("small", f"{self.addressee.name}, {', '.join(self.addressee.address)}"),
            Block("para", "Check all that apply:"),
            Block("para", "I want to dispute the debt because I think:"),
            Block("check", "This is not my debt."),
            Block("check", "The amount is wrong."),
            Block("check", "Other (please describe on reverse or attach additional information)."),
            Block("check", "I want you to send me the name and address of the original creditor."),
            Block("check", "I enclosed this amount: ____________"),
            Block(
                "small",
                f"Reference: account {self.account}. Validation period ends "
                f"{_us_date(self.validation_end)}. "
                f"Notice sent {self.sent_on.isoformat()}, assumed received "
                f"{self.receipt_on.isoformat()} (12 CFR 1006.34(b)(5)).",
            ),
        )


def validation_notice(
    then: LoanState,
    now: LoanState,
    *,
    basis: ItemizationBasis,
    account: str,
    sender: NoticeSender,
    addressee: Addressee,
    sent_on: dt.date,
) -> ValidationNotice:
    """The validation notice of one loan sent on ``sent_on``; ``then`` is its state on the
    itemization date (:func:`itemization_date`), ``now`` its state on ``sent_on``."""
    if now.as_of != sent_on:
        raise InvalidArgumentError("now", expected=f"the state on {sent_on}", got=now.as_of)
    receipt, end = validation_period(sent_on)
    return ValidationNotice(
        sender,
        addressee,
        mask_account(account),
        sent_on,
        itemize(then, now, basis=basis),
        receipt,
        end,
    )


# --- 催收函 ---------------------------------------------------------------------------------

_ITEMS_ZH = {"principal": "本金", "interest": "利息", "penalty": "罚息", "fees": "费用",
             "total": "合计"}  # fmt: skip


def _yuan(amount: Money) -> str:
    return f"{amount.amount:,.2f} 元" if amount.currency == "CNY" else money_text(amount)


def _zh_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True, slots=True)
class CuishouLoan:
    """One loan of the letter: its masked number, days past due and legal statement."""

    account: str
    dpd: int
    statement: LegalStatement


@dataclass(frozen=True, slots=True)
class CuishouLetter:
    """A 催收函 stating the lawful amount owed, loan by loan."""

    sender: NoticeSender
    addressee: Addressee
    sent_on: dt.date
    loans: tuple[CuishouLoan, ...]
    lang: str = "zh-CN"
    title: str = "催收函"
    dispute_days: int = field(default=30)

    @property
    def total_owed(self) -> Money:
        """What is owed lawfully, every loan together."""
        owed = [loan.statement.line("total").owed for loan in self.loans]
        return sum(owed[1:], owed[0])

    def blocks(self) -> tuple[Block, ...]:
        s, a = self.sender, self.addressee
        out = [
            Block("title", self.title),
            Block("lines", rows=((f"致：{a.name}",), *((line,) for line in a.address))),
            Block("para", f"日期：{_zh_date(self.sent_on)}"),
            Block(
                "para",
                f"您好！您在{s.creditor}的借款已逾期。截至{_zh_date(self.sent_on)}，依照法律规定，"
                "您依法应还的金额逐项列明如下。超过法定利率上限的利息、罚息和费用不受法律保护，"
                "未计入下列金额。",
            ),
        ]
        for loan in self.loans:
            out += self._loan(loan)
        out.append(Block("heading", f"依法应还合计：{_yuan(self.total_owed)}"))
        return (*out, *self._how(), *self._rights())

    def _loan(self, loan: CuishouLoan) -> list[Block]:
        st = loan.statement
        rows = tuple(
            (
                _ITEMS_ZH[item],
                _yuan(line.lawful),
                _yuan(line.paid),
                _yuan(line.owed),
                line.rule,
                line.source,
            )
            for item in ("principal", "interest", "penalty", "fees", "total")
            for line in (st.line(item),)
        )
        total = st.line("total")
        out = [
            Block("heading", f"借款合同编号 {loan.account}（逾期 {loan.dpd} 天）"),
            Block(
                "table",
                header=("项目", "依法应计", "已还", "尚欠", "规则", "依据"),
                rows=rows,
            ),
            Block(
                "para", f"本笔依法应还：{_yuan(total.owed)}（适用规则：{st.rule_set}；{st.source}）"
            ),
        ]
        excess = st.contract_owed - total.owed
        if excess.amount > 0:
            out.append(
                Block("para", f"按合同计算超出法定上限的 {_yuan(excess)} 不予主张，您无需支付。")
            )
        if total.refundable.amount > 0:
            out.append(Block("para", f"您已多付 {_yuan(total.refundable)}，可申请退还或抵扣本金。"))
        out += [Block("small", note) for note in st.notes]
        return out

    def _how(self) -> list[Block]:
        s = self.sender
        return [
            Block("heading", "还款方式"),
            Block("para", f"{s.payment_zh}客服电话：{s.phone}（{s.hours}）。"),
            Block("heading", "如何提出异议"),
            Block(
                "para",
                f"如您对本函所列金额或借款归属有异议，请于收到本函之日起 {self.dispute_days} 日内"
                f"致电 {s.phone}、登录 {s.website}，或书面寄至：{'，'.join(s.address)}，"
                "说明理由并附上相关材料。核实期间，我们暂停对有异议部分的催收，并书面答复核实结果。",
            ),
        ]

    def _rights(self) -> list[Block]:
        return [
            Block("heading", "您的权利"),
            Block("para", "一、您有权要求我们提供借款合同、还款记录以及本函各项金额的计算明细。"),
            Block(
                "para",
                "二、超过法定上限的利息、罚息及其他费用不受法律保护，您无需支付；"
                "已多付的部分可要求退还或抵扣本金（《民法典》第六百八十条）。",
            ),
            Block(
                "para",
                "三、实际到手的借款金额为本金，预先扣除的利息或费用不计入本金（《民法典》第六百七十条）。",
            ),
            Block("para", "四、如遇经济困难，您可以申请协商还款方案，例如延期或分期还款。"),
            Block(
                "para",
                "五、我们只与您本人联系，不会向您的家人、朋友、同事或其他第三方透露您的借款信息。",
            ),
            Block(
                "para",
                "六、如您认为我们的催收行为不当，可向本公司投诉，也可向金融消费者权益保护部门"
                "投诉（国家金融监督管理总局消费者投诉热线 12378）。",
            ),
            Block(
                "small",
                f"本函由{self.sender.name}发出。依据：中国互联网金融协会《互联网金融逾期债务催收自律公约（试行）》（2018）。",
            ),
        ]


def cuishou_letter(
    loans: Sequence[tuple[str, LoanState, LegalStatement]],
    *,
    sender: NoticeSender,
    addressee: Addressee,
    sent_on: dt.date,
) -> CuishouLetter:
    """A 催收函 for ``(account, state, legal statement)`` per loan, as of ``sent_on``."""
    if not loans:
        raise InvalidArgumentError("loans", expected="at least one loan", got=[])
    for account, state, statement in loans:
        if statement.as_of != sent_on or state.as_of != sent_on:
            raise InvalidArgumentError(
                "loans", expected=f"states and statements as of {sent_on}", got=account
            )
    return CuishouLetter(
        sender,
        addressee,
        sent_on,
        tuple(CuishouLoan(mask_account(a), state.dpd, st) for a, state, st in loans),
    )


# --- rendering ------------------------------------------------------------------------------


def notice_text(doc: Document) -> str:
    """The notice's text, one block a line (what the content check reads)."""
    parts = []
    for b in doc.blocks():
        parts += [b.text, " ".join(b.header), *(" ".join(r) for r in b.rows)]
    return "\n".join(p for p in parts if p.strip())


def check_notice(doc: Document) -> None:
    """Raise :class:`NoticeContentError` when the notice holds banned content (debtor party)."""
    found = check_template(notice_text(doc), party="debtor")
    if found:
        raise NoticeContentError(doc.title, found)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates_notices"),
        autoescape=True,  # house rule 15: every name is text, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(doc: Document) -> str:
    """The notice as a standalone HTML page (Jinja2, autoescape on)."""
    template = _environment().get_template("notice.html")
    return str(template.render(lang=doc.lang, title=doc.title, blocks=doc.blocks()))


#: Where Debian's packages put CJK TrueType fonts (fonts-wqy-microhei first).
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


def cjk_font(paths: Sequence[str] = CJK_FONTS) -> Path | None:
    """The first CJK TrueType font found, or None."""
    return next((Path(p) for p in paths if Path(p).is_file()), None)


def _latin_font() -> Path:
    import matplotlib  # noqa: PLC0415  (ships DejaVu Sans)

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def _pdf_table(pdf: Any, block: Block, width: float) -> None:
    from fpdf.fonts import FontFace  # noqa: PLC0415

    wide = len(block.header) > 3
    pdf.set_font_size(7.5 if wide else 10)
    widths = (10, 17, 15, 17, 18, 23) if wide else (75, 25)
    with pdf.table(
        col_widths=widths[: len(block.header)],
        width=width,
        text_align="LEFT",
        line_height=pdf.font_size * 1.5,
        first_row_as_headings=any(block.header),
        headings_style=FontFace(emphasis="", fill_color=(238, 238, 238)),
    ) as table:
        for row in ((block.header,) if any(block.header) else ()) + block.rows:
            cells = table.row()
            for cell in row:
                cells.cell(cell)
    pdf.set_font_size(10)
    pdf.ln(2)


def _write_pdf(doc: Document, *, font: Path, on: dt.date) -> bytes:
    """Lay the blocks out on A4 pages with fpdf2."""
    from fpdf import FPDF  # noqa: PLC0415  (only when a PDF is asked for)

    pdf = FPDF(format="A4")
    pdf.set_creation_date(dt.datetime(on.year, on.month, on.day, tzinfo=dt.UTC))
    pdf.set_title(doc.title)
    pdf.set_lang(doc.lang)
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("notice", "", str(font))
    pdf.add_page()
    pdf.set_font("notice", size=10)
    width = pdf.epw
    sizes = {"title": 16.0, "heading": 12.0, "small": 8.0}
    for block in doc.blocks():
        if block.kind == "table":
            _pdf_table(pdf, block, width)
            continue
        texts = [r[0] for r in block.rows] if block.kind == "lines" else [block.text]
        if block.kind == "check":
            texts = [f"\u25a1 {block.text}"]
        pdf.set_font_size(sizes.get(block.kind, 10.0))
        if block.kind in ("title", "heading"):
            pdf.ln(2)
        for text in texts:
            pdf.multi_cell(
                width, pdf.font_size * 1.45, text, align="L", new_x="LMARGIN", new_y="NEXT"
            )
        pdf.ln(1.5)
        pdf.set_font_size(10)
    return bytes(pdf.output())


def render_pdf(doc: Document, *, font: Path | str | None = None) -> bytes:
    """The notice as a PDF (A4, fpdf2, the font embedded as a subset; deterministic for a
    notice: the creation date is the sending date).

    ``font`` defaults to a CJK font (:func:`cjk_font`); an English notice falls back to DejaVu
    Sans when none is installed, a Chinese one needs it (``apt-get install fonts-wqy-microhei``).
    """
    chosen = Path(font) if font is not None else cjk_font()
    if chosen is None:
        if doc.lang.startswith("zh"):
            raise InvalidArgumentError(
                "font",
                expected="a CJK TrueType font (apt-get install fonts-wqy-microhei)",
                got=None,
            )
        chosen = _latin_font()
    return _write_pdf(doc, font=chosen, on=doc.sent_on)
