"""The borrower's question, answered: what is owed under the contract, and what the law enforces.

``legal_statement(state, jurisdiction=..., lender_type=..., filed_on=...)`` sets the contract's
figures to date beside the lawful ones, line by line (principal, interest, penalty, fees, the
charges together and the total), each with what was paid, what is owed, what is refundable and
the rule and source behind it.

How the lawful amount is worked (docs/servicing.md, "The legal statement"):

- The principal is what the borrower actually received: an amount deducted upfront (砍头息)
  was never lent (Civil Code art. 670). It is counted once: neither principal nor a payment.
- Charges (interest, penalty interest and fees together) are lawful up to the all-in cap,
  accrued day by day (actual/365, the day of disbursement counted, the statement day not) on
  the principal actually outstanding — through maturity and after it, to the statement date.
- Each payment goes first to the charges accrued by its date and then to principal (Civil Code
  art. 561); what is left after the whole principal is refundable.
- Periods: the rule set in force when the contract was formed, until a later rule set of the
  same jurisdiction and lender type reaches earlier contracts (``transition`` in the rule data):
  a private loan formed before 2020-08-20 is judged by the 2015 rule for its days to 2020-08-19
  and by 4 × the one-year LPR at the filing date from 2020-08-20 (SPC private lending
  provisions, art. 31 as revised 2020). ``filed_on`` defaults to the statement date.
- Under the 2015 rule charges up to 24 % a year are enforceable; between 24 % and 36 % they are
  not enforced if unpaid but kept if paid; above 36 % paid amounts are refunded (credited to
  principal first). Lawful charges never exceed what the contract itself charged to date.

>>> import datetime as dt
>>> from decimal import Decimal
>>> from fengkong.money import Money, mul_div_round_half_even
>>> from fengkong.servicing.ledger import replay
>>> from fengkong.servicing.products import load_products
>>> from fengkong.servicing.schedule import LoanTerms, build_schedule
>>> product = load_products()["cash_loan"].model_copy(update={"upfront_fee_rate": Decimal("0.1"), "upfront_fee_deducted": True})
>>> s = build_schedule(LoanTerms(product, Money.of("10000"), Decimal("0.36"), 12, dt.date(2019, 1, 1)))
>>> st = legal_statement(replay(s, [], as_of=dt.date(2019, 4, 15)), jurisdiction="cn", lender_type="private")
>>> [(line.item, str(line.contract.amount), str(line.lawful.amount)) for line in st.lines][:2]
[('principal', '10000.00', '9000.00'), ('interest', '945.45', '615.45')]
>>> str(st.line("total").owed.amount)  # 9,000 x 24 % x 104 / 365 = 615.45 of charges
'9615.45'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.money import Money, mul_div_round_half_even
from fengkong.servicing.caps import CapRule, RuleSet, _caps, lpr_on, rule_set_for
from fengkong.servicing.ledger import LoanState, penalty_per_day

__all__ = [
    "LawfulPeriod",
    "LegalStatement",
    "StatementLine",
    "batch_inputs",
    "lawful_periods",
    "legal_statement",
    "legal_statements",
]

_PPM = 1_000_000
_YEAR = 365
_DEDUCTION_SOURCE = "Civil Code art. 670"
_ORDER_SOURCE = "Civil Code art. 561 (expenses, then interest, then principal)"


@dataclass(frozen=True, slots=True)
class LawfulPeriod:
    """Days ``[start, end)`` (``end`` None: open) judged under ``rule_set``: charges up to
    ``enforceable`` a year are owed; paid charges up to ``kept`` a year are not refunded."""

    start: dt.date
    end: dt.date | None
    rule_set: str
    rules: tuple[str, ...]
    enforceable: Decimal
    kept: Decimal
    source: str

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One line: what the contract says, what is lawful, what was paid (lawfully applied),
    what is owed, what is refundable, and the rule and source."""

    item: str
    contract: Money
    lawful: Money
    paid: Money
    owed: Money
    refundable: Money
    rule: str
    source: str

    @property
    def difference(self) -> Money:
        """What the contract claims beyond the lawful amount."""
        return self.contract - self.lawful


@dataclass(frozen=True, slots=True)
class LegalStatement:
    """The statement as of ``as_of`` (a suit filed on ``filed_on``): the contract's rule set,
    its all-in ``cap`` on the contract date, the periods, the lines and plain-word notes."""

    as_of: dt.date
    filed_on: dt.date
    rule_set: str
    source: str
    cap: Decimal
    periods: tuple[LawfulPeriod, ...]
    lines: tuple[StatementLine, ...]
    contract_owed: Money
    notes: tuple[str, ...]

    def line(self, item: str) -> StatementLine:
        return next(line for line in self.lines if line.item == item)


def _rates(rule_set: RuleSet, lpr_day: dt.date) -> tuple[Decimal, Decimal, tuple[str, ...]]:
    """(enforceable, kept, rule ids) of a rule set's all-in caps with the LPR of ``lpr_day``."""
    caps: list[tuple[Decimal, CapRule]] = []
    for r in rule_set.rules:
        limit = r.limit if r.lpr_multiple is None else r.lpr_multiple * lpr_on(lpr_day)
        if r.kind == "all_in_apr" and limit is not None:
            caps.append((limit, r))
    if not caps:
        raise InvalidArgumentError(
            "jurisdiction/lender_type",
            expected="a rule set with an all-in rate cap (cn private or licensed)",
            got=rule_set.id,
        )
    enforceable = min(limit for limit, _ in caps)
    void = [limit for limit, r in caps if r.severity == "void"]
    kept = max(void) if void else enforceable
    return enforceable, max(kept, enforceable), tuple(r.id for _, r in caps)


def lawful_periods(
    jurisdiction: str,
    lender_type: str,
    contract_date: dt.date,
    *,
    as_of: dt.date,
    filed_on: dt.date | None = None,
) -> tuple[LawfulPeriod, ...]:
    """The periods of a contract's life to ``as_of`` and the caps that judge each.

    >>> [(p.rule_set, str(p.enforceable), str(p.kept)) for p in lawful_periods(
    ...     "cn", "private", dt.date(2019, 1, 1), as_of=dt.date(2021, 6, 1))]
    [('cn-private-2015', '0.24', '0.36'), ('cn-private-2020', '0.1540', '0.1540')]
    """
    filed = filed_on or as_of
    if filed < contract_date:
        raise InvalidArgumentError(
            "filed_on",
            expected=f"a filing date on or after the contract ({contract_date})",
            got=filed,
        )
    first = rule_set_for(jurisdiction, lender_type, contract_date)
    enforceable, kept, rules = _rates(first, contract_date)
    periods = [LawfulPeriod(contract_date, None, first.id, rules, enforceable, kept, first.source)]
    later = sorted(
        (
            rs
            for rs in _caps().rule_sets
            if rs.transition is not None
            and rs.jurisdiction == jurisdiction
            and rs.lender_type == first.lender_type
            and contract_date < rs.transition.from_ < as_of
            and rs.transition.from_ <= filed  # a suit filed before the change keeps the old rule
        ),
        key=lambda rs: rs.transition.from_,  # type: ignore[union-attr]
    )
    for rs in later:
        start = rs.transition.from_  # type: ignore[union-attr]
        enforceable, kept, rules = _rates(rs, filed)
        source = f"{rs.source}; {rs.transition.source}"  # type: ignore[union-attr]
        last = periods[-1]
        periods[-1] = LawfulPeriod(
            last.start, start, last.rule_set, last.rules, last.enforceable, last.kept, last.source
        )
        periods.append(LawfulPeriod(start, None, rs.id, rules, enforceable, kept, source))
    return tuple(periods)


def _round(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` to the nearest integer, halves to even."""
    q, r = divmod(numerator, denominator)
    twice = 2 * r
    return q + (1 if twice > denominator or (twice == denominator and q % 2) else 0)


@dataclass(frozen=True, slots=True)
class _Lawful:
    """The lawful path of one loan, in fen: charges accrued at the enforceable and kept
    rates, and how the payments were applied."""

    enforceable: int
    kept: int
    paid_charges: int
    paid_principal: int
    excess: int


def _ppm(rate: Decimal) -> int:
    scaled = rate * _PPM
    if scaled != scaled.to_integral_value():
        raise InvalidArgumentError("rate", expected="a cap in whole parts per million", got=rate)
    return int(scaled)


def _lawful_path(
    net: int,
    disbursed_on: dt.date,
    payments: Sequence[tuple[dt.date, int, int | None]],
    periods: Sequence[LawfulPeriod],
    as_of: dt.date,
    waived: Sequence[tuple[dt.date, int]] = (),
    prepaid: int = 0,
) -> _Lawful:
    """Accrue day by day (in closed form between events) on the principal outstanding and
    apply each payment ``(date, fen, charged)`` to the charges accrued by its date — at the
    caps, and never beyond ``charged``, what the contract itself had charged by then (None:
    the caps alone) — then to principal. Principal the lender waived stops bearing charges
    from its date; ``prepaid`` (an upfront fee paid apart at disbursement) pays charges as
    they accrue. Exact: the accrued charges are kept as integers over ``365 x 10^6`` until
    a payment or the end."""
    scale = _YEAR * _PPM
    rates = [(p.start, p.end, _ppm(p.enforceable), _ppm(p.kept)) for p in periods]
    principal = net
    enf_total = kept_total = 0  # numerators over ``scale``
    enf_paid, band_paid = prepaid, 0  # fen
    paid_principal = excess = 0
    day = disbursed_on

    def accrue(to: dt.date) -> None:
        nonlocal enf_total, kept_total
        if principal <= 0:
            return
        for start, end, enf, kept in rates:
            lo = max(day, start)
            hi = to if end is None else min(to, end)
            days = (hi - lo).days
            if days > 0:
                enf_total += principal * enf * days
                kept_total += principal * kept * days

    events = sorted(
        [(on, 1, amount, charged) for on, amount, charged in payments]
        + [(on, 0, amount, None) for on, amount in waived],
        key=lambda e: (e[0], e[1]),
    )
    for on, kind, amount, charged in events:
        if on > as_of:
            break
        if on > day:
            accrue(on)
            day = on
        if kind == 0:  # a waiver of principal
            principal -= min(amount, principal)
            continue
        enf_cap = _round(enf_total, scale)
        kept_cap = _round(kept_total, scale)
        if charged is not None:
            enf_cap, kept_cap = min(enf_cap, charged), min(kept_cap, charged)
        take = min(amount, max(enf_cap - enf_paid, 0))
        enf_paid += take
        left = amount - take
        take = min(left, max(kept_cap - enf_paid - band_paid, 0))
        band_paid += take
        left -= take
        take = min(left, principal)
        principal -= take
        paid_principal += take
        excess += left - take
    if as_of > day:
        accrue(as_of)
    return _Lawful(
        _round(enf_total, scale),
        _round(kept_total, scale),
        enf_paid + band_paid,
        paid_principal,
        excess,
    )


def _settle(path: _Lawful, contract_charges: int, principal: int) -> tuple[int, int, int, int, int]:
    """(lawful charges, paid charges kept, paid principal, refundable, retained band) after
    capping the path at what the contract itself charged: paid charges above the kept
    amount are credited to principal (``principal``: received less waived), and beyond the
    principal refunded."""
    lawful = min(contract_charges, path.enforceable)
    kept = min(contract_charges, path.kept)
    paid_charges, paid_principal, excess = path.paid_charges, path.paid_principal, path.excess
    if paid_charges > kept:
        paid_principal += paid_charges - kept
        paid_charges = kept
    if paid_principal > principal:
        excess += paid_principal - principal
        paid_principal = principal
    band = max(paid_charges - lawful, 0)  # paid between the enforceable and the kept caps
    return lawful, paid_charges, paid_principal, excess, band


def _split(total: int, parts: Sequence[int]) -> list[int]:
    """``total`` spread over ``parts`` in order, each at most its part."""
    out = []
    for part in parts:
        take = min(part, total)
        out.append(take)
        total -= take
    return out


def _contract_charges(state: LoanState) -> tuple[int, int, int]:
    """(interest, penalty, fees) the contract charged to the start of ``as_of`` (the day's
    events counted, its end-of-day accrual not, as a payoff quote): interest of periods fallen
    due plus the current one pro rata by days, penalties and fees charged; anything paid in
    advance counts as charged, and principal beyond the contract's (charges a reschedule
    capitalised) counts as interest."""
    interest = penalty = fees = principal = 0
    previous = state.terms.disbursed_on
    as_of = state.as_of
    accruing = state.status not in ("settled", "written_off")
    for i in state.instalments:
        if i.due_on <= as_of:
            earned, fee = i.due["interest"], i.due["fee"]
        elif previous <= as_of:
            span = max((i.due_on - previous).days, 1)
            earned, fee = i.due["interest"] * (as_of - previous).days // span, 0
        else:
            earned, fee = 0, 0
        interest += max(earned, i.paid["interest"])
        fees += max(fee, i.paid["fee"])
        penalty += i.due["penalty"]
        unpaid = i.due["principal"] - i.paid["principal"]
        if accruing and i.due_on < as_of and unpaid > 0:  # the statement day's own penalty
            penalty -= min(penalty_per_day(unpaid, state.terms), i.due["penalty"])
        principal += i.due["principal"]
        previous = i.due_on
    waived = sum(fen for _, fen in state.principal_waived)
    interest += max(principal + waived - state.terms.principal.minor, 0)
    return interest, penalty, fees


def legal_statement(
    state: LoanState,
    *,
    jurisdiction: str,
    lender_type: str,
    filed_on: dt.date | None = None,
) -> LegalStatement:
    """Contract against lawful amounts for a loan replayed to ``state.as_of`` (see the
    module's docs for the rules); ``filed_on`` is the date a suit is filed (default the
    statement date), which sets the LPR for the days after a transition."""
    terms = state.terms
    currency = terms.principal.currency
    as_of = state.as_of
    if as_of < terms.disbursed_on:
        raise InvalidArgumentError(
            "as_of", expected=f"a date on or after disbursement ({terms.disbursed_on})", got=as_of
        )
    periods = lawful_periods(
        jurisdiction, lender_type, terms.disbursed_on, as_of=as_of, filed_on=filed_on
    )

    def m(fen: int) -> Money:
        return Money.from_minor(fen, currency)

    deducted = terms.upfront_fee.minor if terms.product.upfront_fee_deducted else 0
    separate = terms.upfront_fee.minor - deducted  # an upfront fee paid on the day
    net = terms.net_disbursed.minor
    interest, penalty, fees = _contract_charges(state)
    fees += terms.upfront_fee.minor
    contract_charges = interest + penalty + fees - deducted  # the deduction is principal
    waived = sum(fen for _, fen in state.principal_waived)
    path = _lawful_path(
        net,
        terms.disbursed_on,
        state.payments,
        periods,
        as_of,
        state.principal_waived,
        prepaid=separate,
    )
    lawful, paid_charges, paid_principal, refundable, band = _settle(
        path, contract_charges, net - waived
    )
    paid = separate + sum(amount for _, amount, _ in state.payments)
    contract_items = [interest, penalty, fees]
    lawful_items = _split(lawful, [interest, penalty, fees - deducted])
    paid_items = _split(paid_charges, [interest, penalty, fees - deducted])
    rules = ", ".join(dict.fromkeys(r for p in periods for r in p.rules))
    sources = "; ".join(dict.fromkeys(p.source for p in periods))
    lines = [
        StatementLine(
            "principal",
            m(terms.principal.minor),
            m(net),
            m(paid_principal),
            m(net - waived - paid_principal),
            m(0),
            "cn-no-upfront-deduction" if deducted else "principal received",
            _DEDUCTION_SOURCE,
        )
    ]
    for item, c, law, p in zip(
        ("interest", "penalty", "fees"), contract_items, lawful_items, paid_items, strict=True
    ):
        lines.append(
            StatementLine(item, m(c), m(law), m(p), m(max(law - p, 0)), m(0), rules, sources)
        )
    owed_charges = max(lawful - paid_charges, 0)
    lines.append(
        StatementLine(
            "charges",
            m(sum(contract_items)),
            m(lawful),
            m(paid_charges),
            m(owed_charges),
            m(0),
            rules,
            sources,
        )
    )
    lines.append(
        StatementLine(
            "total",
            m(terms.principal.minor + sum(contract_items) - deducted),
            m(net + lawful),
            m(paid),
            m(net - waived - paid_principal + owed_charges),
            m(refundable),
            rules,
            f"{sources}; {_ORDER_SOURCE}",
        )
    )
    contract_owed = terms.principal.minor - waived + sum(contract_items) - paid - deducted
    notes = _notes(
        currency,
        periods,
        deducted,
        net,
        contract_charges,
        lawful,
        band,
        refundable,
        filed_on or as_of,
    )
    if state.suspense_fen:
        notes += (
            f"{m(state.suspense_fen)} received above the payoff is held in suspense for the "
            "borrower (paid back by a Refund; not counted above).",
        )
    first = periods[0]
    return LegalStatement(
        as_of,
        filed_on or as_of,
        first.rule_set,
        first.source,
        first.enforceable,
        periods,
        tuple(lines),
        m(max(contract_owed, 0)),
        notes,
    )


def _notes(
    currency: str,
    periods: Sequence[LawfulPeriod],
    deducted: int,
    net: int,
    contract_charges: int,
    lawful: int,
    band: int,
    refundable: int,
    filed_on: dt.date,
) -> tuple[str, ...]:
    """The statement in plain words."""

    def m(fen: int) -> Money:
        return Money.from_minor(fen, currency)

    notes = []
    if deducted:
        notes.append(
            f"{m(deducted)} was deducted upfront (砍头息): the principal is the {m(net)} "
            f"actually received, and the deduction is not a payment ({_DEDUCTION_SOURCE})."
        )
    for p in periods:
        end = f"to {p.end - dt.timedelta(days=1)}" if p.end else "to the statement date"
        notes.append(
            f"From {p.start} {end}: charges lawful up to {p.enforceable * 100:.2f} % a year "
            f"({p.rule_set}; {p.source})."
        )
    if len(periods) > 1:
        notes.append(
            f"The contract straddles {periods[1].start}: the later days use the LPR on the "
            f"filing date {filed_on}."
        )
    if contract_charges > lawful:
        notes.append(
            f"Charges of {m(contract_charges - lawful)} above the cap are not enforceable."
        )
    if band:
        notes.append(
            f"{m(band)} paid above the enforceable cap but within the kept cap is not "
            "refundable (2015 rule: 24 % to 36 % a year)."
        )
    if refundable:
        notes.append(f"{m(refundable)} paid beyond the lawful amount is refundable.")
    if any("verify" in p.source for p in periods):
        notes.append(
            "A rule of this statement is marked verify in the rule data: check its source."
        )
    return tuple(notes)


def legal_statements(
    loans: pl.DataFrame,
    lines: pl.DataFrame,
    payments: pl.DataFrame,
    *,
    as_of: dt.date,
    jurisdiction: str,
    lender_type: str,
    filed_on: dt.date | None = None,
    waivers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Legal statements of a whole book at once (the batch path of :func:`legal_statement`,
    with the same rules and the same figures; tested equal).

    ``loans``: ``loan_id``, ``disbursed_on``, ``principal_fen``, ``net_fen`` (received),
    ``upfront_fen`` (the upfront fee), ``deducted`` (whether it was taken from the
    principal), ``rate_ppm`` and ``penalty_multiplier_ppm`` (as in the end-of-day book) and
    ``status``; ``lines``: the end-of-day instalment rows as of the end of ``as_of``
    (``loan_id``, ``instalment``, ``due_on``, ``due_<component>``, ``paid_<component>``);
    ``payments``: ``loan_id``, ``on``, ``amount_fen`` and ``charged_fen`` (the contract's
    charges earned by the payment, :attr:`LoanState.payments`; null: the caps alone);
    ``waivers``: principal waived, ``loan_id``, ``on``, ``amount_fen``. Returns one row per
    loan: ``contract_charges_fen``, ``lawful_charges_fen``, ``paid_fen``, ``owed_fen``,
    ``refundable_fen``, ``contract_owed_fen`` and ``rule_set``.
    """
    prev = pl.col("due_on").shift(1).over("loan_id")
    charged = (
        lines.join(
            loans.select("loan_id", "disbursed_on", "rate_ppm", "penalty_multiplier_ppm", "status"),
            on="loan_id",
        )
        .sort("loan_id", "instalment")
        .pipe(_statement_day_penalty, as_of)
        .with_columns(
            pl.when(pl.col("instalment") == pl.col("instalment").min().over("loan_id"))
            .then(pl.col("disbursed_on"))
            .otherwise(prev)
            .alias("_prev")
        )
        .with_columns(
            pl.when(pl.col("due_on") <= as_of)
            .then(pl.col("due_interest"))
            .when(pl.col("_prev") <= as_of)
            .then(
                pl.col("due_interest")
                * (pl.lit(as_of) - pl.col("_prev")).dt.total_days()
                // (pl.col("due_on") - pl.col("_prev")).dt.total_days().clip(lower_bound=1)
            )
            .otherwise(0)
            .alias("_earned"),
            pl.when(pl.col("due_on") <= as_of).then(pl.col("due_fee")).otherwise(0).alias("_fee"),
        )
        .group_by("loan_id")
        .agg(
            pl.max_horizontal("_earned", "paid_interest").sum().alias("_interest"),
            (pl.col("due_penalty") - pl.col("_day_penalty")).sum().alias("_penalty"),
            pl.max_horizontal("_fee", "paid_fee").sum().alias("_fees"),
            pl.col("due_principal").sum().alias("_principal"),
        )
    )
    book = loans.join(charged, on="loan_id", how="left").sort("loan_id")
    paid = payments.filter(pl.col("on") <= as_of).sort("loan_id", "on")
    if "charged_fen" not in paid.columns:
        paid = paid.with_columns(pl.lit(None, pl.Int64).alias("charged_fen"))
    by_loan: dict[int, list[tuple[dt.date, int, int | None]]] = {}
    for loan_id, on, amount, seen in paid.select(
        "loan_id", "on", "amount_fen", "charged_fen"
    ).iter_rows():
        by_loan.setdefault(loan_id, []).append((on, amount, seen))
    waived_by: dict[int, list[tuple[dt.date, int]]] = {}
    if waivers is not None:
        for loan_id, on, amount in (
            waivers.filter(pl.col("on") <= as_of)
            .sort("loan_id", "on")
            .select("loan_id", "on", "amount_fen")
            .iter_rows()
        ):
            waived_by.setdefault(loan_id, []).append((on, amount))
    cache: dict[dt.date, tuple[LawfulPeriod, ...]] = {}
    out = {
        k: np.zeros(book.height, dtype=np.int64)
        for k in ("lawful", "paid", "owed", "refund", "charges", "contract_owed")
    }
    rule_sets = []
    rows = book.select(
        "loan_id", "disbursed_on", "principal_fen", "net_fen", "upfront_fen", "deducted",
        "_interest", "_penalty", "_fees", "_principal",
    ).iter_rows()  # fmt: skip
    for j, row in enumerate(rows):
        loan_id, disbursed, principal, net, upfront, deducted, *parts, due_principal = row
        if as_of < disbursed:
            raise InvalidArgumentError(
                "as_of", expected=f"a date on or after disbursement ({disbursed})", got=as_of
            )
        periods = cache.get(disbursed)
        if periods is None:
            periods = lawful_periods(
                jurisdiction, lender_type, disbursed, as_of=as_of, filed_on=filed_on
            )
            cache[disbursed] = periods
        taken = upfront if deducted else 0
        separate = upfront - taken
        waived_list = waived_by.get(loan_id, [])
        waived = sum(fen for _, fen in waived_list)
        interest, penalty, fees = (x or 0 for x in parts)
        interest += max((due_principal or 0) + waived - principal, 0)
        contract_charges = interest + penalty + fees + separate
        loan_payments = by_loan.get(loan_id, [])
        path = _lawful_path(
            net, disbursed, loan_payments, periods, as_of, waived_list, prepaid=separate
        )
        lawful, paid_charges, paid_principal, refundable, _ = _settle(
            path, contract_charges, net - waived
        )
        total_paid = separate + sum(a for _, a, _ in loan_payments)
        out["lawful"][j] = lawful
        out["paid"][j] = total_paid
        out["owed"][j] = net - waived - paid_principal + max(lawful - paid_charges, 0)
        out["refund"][j] = refundable
        out["charges"][j] = contract_charges + taken
        out["contract_owed"][j] = max(principal - waived + contract_charges - total_paid, 0)
        rule_sets.append(periods[0].rule_set)
    return book.select("loan_id").with_columns(
        pl.Series("contract_charges_fen", out["charges"]),
        pl.Series("lawful_charges_fen", out["lawful"]),
        pl.Series("paid_fen", out["paid"]),
        pl.Series("owed_fen", out["owed"]),
        pl.Series("refundable_fen", out["refund"]),
        pl.Series("contract_owed_fen", out["contract_owed"]),
        pl.Series("rule_set", rule_sets, dtype=pl.String),
    )


def _statement_day_penalty(lines: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Add ``_day_penalty``: the penalty the end of ``as_of`` added to each line (the
    statement counts to the start of its day, as :func:`legal_statement` does)."""
    unpaid = (lines["due_principal"] - lines["paid_principal"]).to_numpy()
    hit = (
        ~lines["status"].is_in(["settled", "written_off"]).to_numpy()
        & (lines["due_on"].to_numpy() < np.datetime64(as_of))
        & (unpaid > 0)
    )
    day = np.zeros(lines.height, dtype=np.int64)
    where = np.flatnonzero(hit)
    if len(where):
        day[where] = mul_div_round_half_even(
            unpaid[where],
            lines["rate_ppm"].to_numpy()[where],
            lines["penalty_multiplier_ppm"].to_numpy()[where],
            365 * 10**12,
        )
    return lines.with_columns(
        pl.min_horizontal(pl.col("due_penalty"), pl.Series(day)).alias("_day_penalty")
    )


_COMPONENTS = ("penalty", "fee", "interest", "principal")


def batch_inputs(states: Sequence[LoanState]) -> dict[str, pl.DataFrame]:
    """The ``loans``, ``lines``, ``payments`` and ``waivers`` frames :func:`legal_statements`
    reads, from replayed loan states (``loan_id`` is each state's position); the per-loan
    path's inputs for the batch path.

    >>> import datetime as dt
    >>> from decimal import Decimal
    >>> from fengkong.servicing.ledger import replay
    >>> from fengkong.servicing.products import load_products
    >>> from fengkong.servicing.schedule import LoanTerms, build_schedule
    >>> s = build_schedule(LoanTerms(load_products()["cash_loan"], Money.of("10000"), Decimal("0.12"), 12, dt.date(2026, 1, 1)))
    >>> frames = batch_inputs([replay(s, [], as_of=dt.date(2027, 1, 1))])
    >>> legal_statements(**frames, as_of=dt.date(2027, 1, 1), jurisdiction="cn", lender_type="private")["owed_fen"].to_list()
    [1120000]
    """
    loans, lines, payments, waivers = [], [], [], []
    for n, state in enumerate(states):
        t = state.terms
        loans.append(
            {
                "loan_id": n,
                "disbursed_on": t.disbursed_on,
                "principal_fen": t.principal.minor,
                "net_fen": t.net_disbursed.minor,
                "upfront_fen": t.upfront_fee.minor,
                "deducted": t.product.upfront_fee_deducted,
                "rate_ppm": int(t.annual_rate * 1_000_000),
                "penalty_multiplier_ppm": int(t.product.penalty_rate_multiplier * 1_000_000),
                "status": state.status,
            }
        )
        for i in state.instalments:
            lines.append(
                {"loan_id": n, "instalment": i.number, "due_on": i.due_on}
                | {f"due_{c}": i.due[c] for c in _COMPONENTS}
                | {f"paid_{c}": i.paid[c] for c in _COMPONENTS}
            )
        payments += [
            {"loan_id": n, "on": on, "amount_fen": fen, "charged_fen": charged}
            for on, fen, charged in state.payments
        ]
        waivers += [
            {"loan_id": n, "on": on, "amount_fen": fen} for on, fen in state.principal_waived
        ]
    dated = {"loan_id": pl.Int64, "on": pl.Date, "amount_fen": pl.Int64}
    return {
        "loans": pl.DataFrame(loans),
        "lines": pl.DataFrame(lines),
        "payments": pl.DataFrame(payments, schema=dated | {"charged_fen": pl.Int64}),
        "waivers": pl.DataFrame(waivers, schema=dated),
    }
