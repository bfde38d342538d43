"""Invariants of the synthetic book: money, DPD, oracle, rings and identifier sharing."""

import polars as pl
import pytest

from fengkong.synth import generate, load_params

OPEN = ["current", "delinquent"]
STRONG = ["device", "bank_card", "emergency_phone", "mobile"]


def test_schedules_sum_to_principal_and_total_due(small_book):
    sums = small_book.schedules.group_by("loan_id").agg(
        pl.col("principal_fen").sum(),
        pl.col("due_fen").sum(),
        pl.len().alias("n"),
        pl.col("instalment").max(),
    )
    loans = small_book.loans.join(sums, on="loan_id", suffix="_s")
    assert loans.height == small_book.loans.height
    assert (loans["principal_fen"] == loans["principal_fen_s"]).all()
    assert (loans["total_due_fen"] == loans["due_fen"]).all()
    assert (loans["term"] == loans["n"]).all() and (loans["term"] == loans["instalment"]).all()
    assert (small_book.schedules["principal_fen"] >= 0).all()


def test_equal_instalment_schedules_are_level_but_for_the_last(small_book):
    annuity = small_book.loans.filter(method="equal_instalment").select("loan_id", "term")
    rows = small_book.schedules.join(annuity, on="loan_id").filter(
        pl.col("instalment") < pl.col("term")
    )
    spread = rows.group_by("loan_id").agg(
        (pl.col("due_fen").max() - pl.col("due_fen").min()).alias("spread")
    )
    assert spread["spread"].max() == 0


def _with_cumulative(book):
    return book.performance.sort("loan_id", "mob").with_columns(
        scheduled_paid=(pl.col("paid_fen") - pl.col("prepaid_fen")).cum_sum().over("loan_id")
    )


def test_no_payment_exceeds_what_was_due_plus_prepayment(small_book):
    perf = _with_cumulative(small_book)
    due = small_book.schedules.sort("loan_id", "instalment").with_columns(
        cum_due=pl.col("due_fen").cum_sum().over("loan_id")
    )
    fell_due = perf.join(
        due.select("loan_id", "instalment", "cum_due"),
        left_on=["loan_id", "mob"],
        right_on=["loan_id", "instalment"],
        how="left",
    ).with_columns(pl.col("cum_due").forward_fill().over("loan_id"))
    assert (fell_due["scheduled_paid"] <= fell_due["cum_due"]).all()
    prepaid = perf.filter(pl.col("prepaid_fen") > 0)
    assert prepaid.height > 0
    assert (prepaid["status"] == "prepaid").all() and (prepaid["principal_balance_fen"] == 0).all()


def test_dpd_is_consistent_with_payments(small_book):
    perf = _with_cumulative(small_book).filter(pl.col("status").is_in(OPEN))
    due = small_book.schedules.sort("loan_id", "instalment").with_columns(
        cum_due=pl.col("due_fen").cum_sum().over("loan_id")
    )
    oldest_unpaid = (
        perf.select("loan_id", "mob", "snapshot_on", "scheduled_paid")
        .join(due.select("loan_id", "due_on", "cum_due"), on="loan_id")
        .filter(
            (pl.col("cum_due") > pl.col("scheduled_paid"))
            & (pl.col("due_on") <= pl.col("snapshot_on"))
        )
        .group_by("loan_id", "mob")
        .agg(pl.col("due_on").min())
    )
    check = perf.join(oldest_unpaid, on=["loan_id", "mob"], how="left").with_columns(
        expected=((pl.col("snapshot_on") - pl.col("due_on")).dt.total_days()).fill_null(0)
    )
    assert (check["dpd"] == check["expected"]).all()
    assert ((check["dpd"] > 0) == (check["overdue_fen"] > 0)).all()
    assert ((check["dpd"] > 0) == (check["status"] == "delinquent")).all()
    assert check.filter(pl.col("dpd") > 30).height > 0


def test_buckets_follow_the_default_ranges(small_book):
    edges = small_book.performance.group_by("bucket").agg(
        pl.col("dpd").min().alias("lo"), pl.col("dpd").max().alias("hi")
    )
    ranges = {r["bucket"]: (r["lo"], r["hi"]) for r in edges.iter_rows(named=True)}
    bounds = {
        "M0": (0, 0),
        "M1": (1, 30),
        "M2": (31, 60),
        "M3": (61, 90),
        "M4": (91, 120),
        "M5": (121, 150),
        "M6": (151, 180),
    }
    for bucket, (lo, hi) in ranges.items():
        if bucket == "M7+":
            assert lo >= 181
        else:
            assert bounds[bucket][0] <= lo and hi <= bounds[bucket][1], bucket


def test_balances_and_write_offs_add_up(small_book):
    perf = small_book.performance
    assert (perf["principal_balance_fen"] >= 0).all()
    written = perf.filter(pl.col("written_off_fen") > 0)
    assert written.height > 0 and (written["dpd"] >= 181).all()
    per_loan = perf.group_by("loan_id").agg(
        pl.col("written_off_fen").sum(), pl.col("recovered_fen").sum()
    )
    assert (per_loan["recovered_fen"] <= per_loan["written_off_fen"]).all()
    closed = perf.filter(pl.col("status").is_in(["settled", "prepaid", "written_off"]))
    assert (closed["principal_balance_fen"] == 0).all()
    # A loan stops reporting after it settles or prepays.
    last = perf.group_by("loan_id").agg(
        pl.col("status").sort_by("mob").last(),
        pl.col("status").sort_by("mob").slice(0, pl.len() - 1).alias("before"),
    )
    assert not last.filter(
        pl.col("before").list.contains("settled") | pl.col("before").list.contains("prepaid")
    ).height


def test_oracle_matches_what_booked_loans_did(small_book):
    observed = small_book.performance.group_by("loan_id").agg(
        (pl.col("dpd") >= 90).any().alias("seen_90"), (pl.col("dpd") >= 30).any().alias("seen_30")
    )
    joined = (
        small_book.loans.select("loan_id", "application_id")
        .join(observed, on="loan_id")
        .join(small_book.oracle, on="application_id")
    )
    assert (joined["seen_90"] == joined["ever_90dpd"]).all()
    assert (joined["seen_30"] == joined["ever_30dpd"]).all()
    assert small_book.oracle.height == small_book.applications.height


def test_declined_applications_have_counterfactual_outcomes_and_are_riskier(small_book):
    o = small_book.oracle.join(
        small_book.applications.select("application_id", "baseline_decision"), on="application_id"
    )
    rates = dict(o.group_by("baseline_decision").agg(pl.col("ever_90dpd").mean()).iter_rows())
    assert 0 < rates["approve"] < rates["decline"]


def test_fraud_rings_share_a_strong_identifier_and_default_at_first_payment(small_book):
    members = small_book.rings.select("ring_id", "person_id")
    ids = small_book.person_identifiers.filter(pl.col("id_type").is_in(STRONG)).join(
        members, on="person_id"
    )
    shared = ids.group_by("ring_id", "id_type", "id_value").agg(
        pl.col("person_id").n_unique().alias("k"), pl.col("person_id")
    )
    linked = shared.filter(pl.col("k") >= 2).explode("person_id").select("person_id").unique()
    assert members.height >= 5
    assert set(members["person_id"]) == set(linked["person_id"])
    sizes = members.group_by("ring_id").len()["len"]
    assert sizes.min() >= 5 and sizes.max() <= 50
    o = small_book.oracle
    assert o.filter(is_fraud=True)["first_payment_default"].mean() > 0.6
    assert o.filter(is_fraud=False)["first_payment_default"].mean() < 0.05


def test_ring_applications_come_in_bursts(small_book):
    ring_apps = small_book.applications.join(small_book.rings, on="person_id")
    span = ring_apps.group_by("ring_id").agg(
        (pl.col("applied_at").max() - pl.col("applied_at").min()).dt.total_days().alias("days")
    )
    assert span["days"].max() <= 4


def test_identifier_sharing_looks_real(small_book):
    ids = small_book.person_identifiers
    persons = small_book.persons
    # Families share an address; colleagues share an employer; carrier IPs are shared widely.
    by_address = (
        ids.filter(id_type="address")
        .group_by("id_value")
        .agg(pl.col("person_id").n_unique().alias("k"))
    )
    assert by_address["k"].max() >= 3 and (by_address["k"] == 1).any()
    households = persons.filter(pl.col("household_id").is_not_null()).group_by("household_id").len()
    assert (households["len"] > 1).any()
    by_employer = ids.filter(id_type="employer").group_by("id_value").len()
    assert by_employer["len"].max() >= 50
    by_ip = ids.filter(id_type="ip").group_by("id_value").len()
    assert by_ip["len"].max() >= 100
    # Mobiles look like mainland numbers and id numbers are hashed.
    mobiles = ids.filter(id_type="mobile")["id_value"]
    assert mobiles.str.contains(r"^1[3-9]\d{9}$").all()
    assert ids.filter(id_type="id_number")["id_value"].str.contains(r"^[0-9a-f]{16}$").all()


def test_people_apply_at_several_institutions(small_book):
    per_person = small_book.applications.group_by("person_id").agg(
        pl.col("institution_id").n_unique().alias("k"), pl.len()
    )
    assert per_person["len"].mean() == pytest.approx(
        small_book.applications.height / small_book.persons.height
    )
    assert (per_person["k"] >= 3).mean() > 0.1


def test_collection_responses_are_consistent(small_book):
    r = small_book.collection_responses
    assert r.height > 0 and (r["dpd"] >= 1).all()
    assert (~r["right_party"] | r["contacted"]).all()
    assert (~r["promised"] | r["right_party"]).all()
    rates = dict(
        r.filter("right_party").group_by("paid").agg(pl.col("promised").mean()).iter_rows()
    )
    assert rates[True] > rates[False] + 0.2
    field = r.filter(channel="field_visit")
    assert (field["dpd"] >= 61).all()
    nxt = small_book.performance.select(
        "loan_id",
        (pl.col("mob") - 1).alias("mob"),
        (pl.col("paid_fen") + pl.col("recovered_fen") > 0).alias("truth"),
    )
    joined = r.join(nxt, on=["loan_id", "mob"], how="left").with_columns(
        pl.col("truth").fill_null(False)
    )
    assert (joined["paid"] == joined["truth"]).all()


def test_a_macro_shock_raises_defaults_in_its_window():
    shocked = load_params(
        overrides={
            "performance": {
                "macro_shock": {"start_month": "2025-07", "months": 4, "multiplier": 3.0}
            }
        }
    )
    base = generate(30_000, seed=5)
    stress = generate(30_000, seed=5, params=shocked)

    def defaults_by_month(book):
        o = book.oracle.join(
            book.applications.select("application_id", "applied_at"), on="application_id"
        )
        return o.filter(pl.col("default_mob").is_not_null()).with_columns(
            month=pl.col("applied_at")
            .dt.offset_by(pl.format("{}mo", pl.col("default_mob")))
            .dt.strftime("%Y-%m")
        )

    def in_window(frame):
        return frame.filter(pl.col("month").is_between(pl.lit("2025-07"), pl.lit("2025-10"))).height

    def outside(frame):
        return frame.filter(
            ~pl.col("month").is_between(pl.lit("2025-07"), pl.lit("2025-10"))
        ).height

    b, s = defaults_by_month(base), defaults_by_month(stress)
    assert in_window(s) > 1.5 * in_window(b)
    assert outside(s) == pytest.approx(outside(b), rel=0.1)
