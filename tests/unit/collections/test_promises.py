"""Promise-to-pay lifecycle: checked when made, pause while pending, kept or broken at end of
day from payments (partial payments add up; payments before the promise or after its date
do not count)."""

import datetime as dt

import polars as pl
import pytest

from fengkong.collections.promises import (
    evaluate_promises,
    make_promise,
    paused_cases,
    promises_frame,
)
from fengkong.errors import InvalidArgumentError

TODAY = dt.date(2026, 3, 2)


def pays(*rows):
    return pl.DataFrame(rows, schema=["case_id", "paid_on", "amount_fen"], orient="row")


def test_promise_lifecycle_kept_broken_pending():
    a = make_promise("A", amount_fen=1000, due_on=dt.date(2026, 3, 5), today=TODAY, made_by="u1")
    b = make_promise("B", amount_fen=1000, due_on=dt.date(2026, 3, 5), today=TODAY, made_by="u1")
    c = make_promise("C", amount_fen=1000, due_on=dt.date(2026, 3, 9), today=TODAY, made_by="u1")
    frame = promises_frame([a, b, c])
    assert paused_cases(frame, TODAY).to_list() == ["A", "B", "C"]
    payments = pays(
        ("A", dt.date(2026, 3, 3), 400), ("A", dt.date(2026, 3, 5), 600),  # adds up on the day
        ("B", dt.date(2026, 3, 1), 1000),  # before the promise: does not count
        ("B", dt.date(2026, 3, 6), 1000),  # after its date: too late
    )  # fmt: skip
    on_due = evaluate_promises(frame, payments, dt.date(2026, 3, 5))
    assert dict(zip(on_due["case_id"], on_due["status"], strict=True)) == {
        "A": "kept", "B": "pending", "C": "pending"}  # fmt: skip
    next_day = evaluate_promises(on_due, payments, dt.date(2026, 3, 6))
    status = dict(zip(next_day["case_id"], next_day["status"], strict=True))
    assert status == {"A": "kept", "B": "broken", "C": "pending"}
    assert next_day.filter(pl.col("case_id") == "B")["resolved_on"].item() == dt.date(2026, 3, 6)
    assert next_day.filter(pl.col("case_id") == "A")["resolved_on"].item() == dt.date(2026, 3, 5)
    assert paused_cases(next_day, dt.date(2026, 3, 6)).to_list() == ["C"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount_fen": 0}, "amount_fen"),
        ({"amount_fen": 10.5}, "amount_fen"),
        ({"due_on": dt.date(2026, 3, 1)}, "due_on"),  # a promise in the past
        ({"due_on": dt.date(2026, 6, 1)}, "due_on"),
        ({"amount_fen": 9000, "balance_fen": 5000}, "amount_fen"),
    ],
)
def test_bad_promises_are_refused_naming_the_field(kwargs, field):
    args = {"amount_fen": 1000, "due_on": dt.date(2026, 3, 5), "today": TODAY, "made_by": "u1"}
    with pytest.raises(InvalidArgumentError, match=field):
        make_promise("A", **(args | kwargs))
