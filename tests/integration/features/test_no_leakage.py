"""Point in time by construction (issue 22 part 2): every source says when a row becomes known,
and no application sees its own loan or anything known after its own instant — for every
shipped spec, on the synthetic book, checked against counts made by hand.

Before: loans (a date column) were visible from their day's midnight, so on a 5,000-application
book `loan_cnt_person_all > 0` for 1,418 of 1,418 first applications that led to a loan.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fengkong.errors import InvalidArgumentError
from fengkong.features import OnlineEngine, build_variables, load_spec
from fengkong.features.spec import builtin_specs
from fengkong.synth import generate

DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def book():
    return generate(5_000, seed=5)


def _variables(spec_name: str, book) -> pl.DataFrame:
    spec = load_spec(spec_name)
    frames = {name: getattr(book, src.table) for name, src in spec.sources.items()}
    out = build_variables(spec, frames, target="app")
    return book.applications.select("application_id", "person_id", "applied_at").join(
        out, on="application_id"
    )


def _known_before(apps: pl.DataFrame, events: pl.DataFrame, at: str) -> pl.Series:
    """For each application, how many of the person's events were known strictly before it."""
    pairs = apps.select("application_id", "person_id", "applied_at").join(
        events.select("person_id", pl.col(at).alias("__known")), on="person_id", how="left"
    )
    counted = pairs.group_by("application_id").agg(
        (pl.col("__known") < pl.col("applied_at")).sum().alias("n")
    )
    return apps.select("application_id").join(counted, on="application_id", how="left")["n"]


@pytest.mark.parametrize("spec_name", sorted(builtin_specs()))
def test_no_application_sees_its_own_loan_or_the_future(spec_name, book):
    got = _variables(spec_name, book)
    loans = book.loans.with_columns(  # known once the disbursement day is over
        (pl.col("disbursed_on").cast(pl.Datetime("us")) + pl.duration(days=1)).alias("known")
    )
    apps = book.applications.with_columns(pl.col("applied_at").alias("known"))
    if "loan_cnt_person_all" in got.columns:
        expected = _known_before(got, loans, "known")
        assert (got["loan_cnt_person_all"] == expected).all()
        own = got.join(book.loans.select("application_id"), on="application_id")
        first = own.filter(
            pl.col("applied_at") == pl.col("applied_at").min().over("person_id")
        )  # first applications that led to a loan: no loan can be known to them
        assert first.height > 100
        assert (first["loan_cnt_person_all"] == 0).all()
    expected_apps = _known_before(got, apps, "known")
    assert (got["app_cnt_person_all"] == expected_apps).all()


@pytest.mark.parametrize("spec_name", sorted(builtin_specs()))
def test_online_replay_sees_what_batch_sees(spec_name, book):
    """Replaying the book in the order rows became known gives the batch values (sampled)."""
    spec = load_spec(spec_name)
    got = _variables(spec_name, book).sort("applied_at")
    engine = OnlineEngine(spec, target="app")
    events = []
    for name, src in spec.sources.items():
        for row in getattr(book, src.table).iter_rows(named=True):
            at = src.known_us(_us(row[src.known_from]))
            events.append((at, name != "app", name, row))
    events.sort(key=lambda e: (e[0], e[1]))
    names = [a.name for a in spec.aggregates if "cnt" in a.name]
    want = {r["application_id"]: r for r in got.iter_rows(named=True)}
    checked = 0
    for _, _, name, row in events:
        if name == "app" and row["application_id"] % 7 == 0:
            online = engine.compute(row)
            for n in names:
                assert online[n] == want[row["application_id"]][n], (n, row["application_id"])
            checked += 1
        engine.observe(name, row)
    assert checked > 500


def _us(value) -> int:
    from fengkong.features.online import to_us  # noqa: PLC0415

    return to_us(value, "t")


def test_a_date_source_without_a_visibility_rule_is_refused(book):
    text = """
schema_version: 1
sources:
  app: {table: applications, timestamp: applied_at, id: application_id, entities: {person: person_id}, columns: {}}
  loan: {table: loans, timestamp: disbursed_on, id: loan_id, entities: {person: person_id}, columns: {}}
groups:
  - {source: loan, entities: [person], windows: [all], aggregations: [count]}
"""
    spec = load_spec(text)
    with pytest.raises(InvalidArgumentError) as info:
        build_variables(spec, {"app": book.applications, "loan": book.loans}, target="app")
    assert info.value.field.endswith("loan.disbursed_on") and "known" in info.value.expected
    engine = OnlineEngine(spec, target="app")
    loan = book.loans.row(0, named=True)
    with pytest.raises(InvalidArgumentError) as online:
        engine.observe("loan", loan)
    assert online.value.field.endswith("disbursed_on")


@pytest.mark.parametrize(
    ("rule", "visible_from"),
    [
        ("end_of_day", dt.datetime(2026, 3, 2)),
        ("+1d", dt.datetime(2026, 3, 2)),
        ("+36h", dt.datetime(2026, 3, 2, 12)),
        ({"column": "booked_at"}, dt.datetime(2026, 3, 1, 18)),
        ({"column": "booked_at", "after": "2h"}, dt.datetime(2026, 3, 1, 20)),
    ],
)
def test_each_visibility_rule_means_the_same_in_both_engines(rule, visible_from):
    spec = _spec_with(rule)
    loan = {"id": 1, "pid": 7, "on": dt.date(2026, 3, 1), "booked_at": dt.datetime(2026, 3, 1, 18)}
    probes = [
        visible_from - dt.timedelta(microseconds=1),
        visible_from + dt.timedelta(microseconds=1),
    ]
    apps = pl.DataFrame({"id": [10, 11], "pid": [7, 7], "at": probes})
    batch = build_variables(spec, {"app": apps, "loan": pl.DataFrame([loan])}, target="app")
    assert batch["loan_cnt_person_all"].to_list() == [0, 1]
    engine = OnlineEngine(spec, target="app")
    engine.observe("loan", loan)
    assert engine.compute({"id": 10, "pid": 7, "at": probes[1]})["loan_cnt_person_all"] == 1
    fresh = OnlineEngine(spec, target="app")
    fresh.observe("loan", loan)
    # the loan is known only from visible_from: before it, not counted (exclusive boundary)
    assert fresh.compute({"id": 10, "pid": 7, "at": visible_from})["loan_cnt_person_all"] == 0


def _spec_with(rule):
    import yaml  # noqa: PLC0415

    return load_spec(
        yaml.safe_dump(
            {
                "schema_version": 1,
                "sources": {
                    "app": {
                        "table": "a",
                        "timestamp": "at",
                        "id": "id",
                        "entities": {"person": "pid"},
                        "columns": {},
                    },
                    "loan": {
                        "table": "l",
                        "timestamp": "on",
                        "id": "id",
                        "entities": {"person": "pid"},
                        "columns": {},
                        "known": rule,
                    },
                },
                "groups": [
                    {
                        "source": "loan",
                        "entities": ["person"],
                        "windows": ["all"],
                        "aggregations": ["count"],
                    }
                ],
            }
        )
    )
