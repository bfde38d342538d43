"""The online graph equals the batch graph on the same applications; seeding; speed sanity."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fengkong.errors import InvalidArgumentError
from fengkong.graph.build import GraphConfig, IdentifierGraph
from fengkong.graph.online import OnlineGraph

T0 = dt.datetime(2026, 1, 1)
COLUMNS = [
    "component_size",
    "component_age_days",
    "bad_1hop",
    "bad_2hop",
    "component_bad_share",
    "component_apps_1d",
    "component_apps_7d",
    "devices_per_person",
    "persons_per_device",
    "shared_mobile",
    "shared_device",
    "shared_bank_card",
    "shared_emergency_phone",
    "shared_ip",
    "shared_address",
    "shared_employer",
]


def _compare(online, graph, bad_rows, applications, as_of):
    batch = graph.features(as_of=as_of, bad=bad_rows, applications=applications).sort("person_id")
    for row in batch.iter_rows(named=True):
        mine = online.features(row["person_id"], as_of=as_of)
        for c in COLUMNS:
            assert mine[c] == row[c] or abs(mine[c] - row[c]) < 1e-12, (
                row["person_id"],
                c,
                mine[c],
                row[c],
            )


events = st.lists(
    st.tuples(
        st.integers(0, 30),  # person
        st.sampled_from(
            ["mobile", "device", "bank_card", "emergency_phone", "ip", "address", "employer"]
        ),
        st.integers(0, 12),  # value
        st.integers(0, 200),  # hours after T0
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, st.sets(st.integers(0, 30), max_size=6))
def test_online_equals_batch(stream, bad_people):
    config = GraphConfig(cap=1_000)  # no identifier crosses the cap: unions never need undoing
    online = OnlineGraph(config)
    early = sorted(bad_people)[: len(bad_people) // 2]  # some are known bad before they apply
    for p in early:
        online.mark_bad(p)
    rows = []
    apps = []
    for person, id_type, value, hours in sorted(stream, key=lambda e: e[3]):
        at = T0 + dt.timedelta(hours=hours)
        raw = f"13{value:09d}" if id_type in ("mobile", "emergency_phone") else f"V{value}"
        online.add(person, [(id_type, raw, at)], at)
        rows.append((person, id_type, raw, at))
        apps.append((person, at))
    for p in bad_people:
        online.mark_bad(p)
    frame = pl.DataFrame(
        rows, schema=["person_id", "id_type", "id_value", "first_seen"], orient="row"
    )
    graph = IdentifierGraph.build(frame, config)
    bad = np.isin(graph.persons, list(bad_people))
    applications = pl.DataFrame(apps, schema=["person_id", "applied_at"], orient="row")
    as_of = max(a for _, a in apps)
    _compare(online, graph, bad, applications, as_of)


late_events = st.lists(
    st.tuples(
        st.integers(0, 20),  # person
        st.sampled_from(["mobile", "device", "ip"]),
        st.integers(0, 8),  # value
        st.integers(0, 12_000),  # minutes after T0: 200 hours, past the 7-day window
        st.integers(0, 59),  # minutes it arrives late
    ),
    min_size=1,
    max_size=120,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(late_events)
def test_late_applications_and_any_query_time_keep_the_windows_exact(stream):
    # arrivals out of time order by up to 59 minutes (inside ``late``); a tiny ring that
    # grows and wraps; window counts asked before, at and after the latest application
    config = GraphConfig(cap=1_000)
    online = OnlineGraph(config, capacity=16)
    rows, apps = [], []
    for person, id_type, value, minutes, _delay in sorted(stream, key=lambda e: e[3] + e[4]):
        at = T0 + dt.timedelta(minutes=minutes)
        raw = f"13{value:09d}" if id_type == "mobile" else f"V{value}"
        online.add(person, [(id_type, raw, at)], at)
        rows.append((person, id_type, raw, at))
        apps.append((person, at))
    frame = pl.DataFrame(
        rows, schema=["person_id", "id_type", "id_value", "first_seen"], orient="row"
    )
    graph = IdentifierGraph.build(frame, config)
    applications = pl.DataFrame(apps, schema=["person_id", "applied_at"], orient="row")
    bad = np.zeros(len(graph.persons), dtype=bool)
    latest = max(a for _, a in apps)
    for shift in (dt.timedelta(minutes=-59), dt.timedelta(0), dt.timedelta(hours=20),
                  dt.timedelta(days=6, hours=23), dt.timedelta(days=9)):  # fmt: skip
        _compare(online, graph, bad, applications, latest + shift)


_SPELLINGS = {  # raw spellings of value v per type: clean, messy, non-ASCII, malformed
    "mobile": lambda v: (f"13{v:09d}", f" +86 13{v:09d}", f"13{v:09d}\u3000", "12"),
    "emergency_phone": lambda v: (f"13{v:09d}", f"0086-13{v:09d}", f"13{v:09d}", "1"),
    "device": lambda v: (f"D{v}", f" d{v} ", f"D{v}\u00a0", "   "),
    "bank_card": lambda v: (f"62{v}", f"62{v} ", f"62{v}", "\t"),
    "ip": lambda v: (f"10.0.0.{v}", f"10.0.0.{v}", f"10.0.0.{v}", ""),
    "address": lambda v: (f"Road {v}", f"  road   {v} ", f"路 {v}", " "),
    "employer": lambda v: (f"Co{v}", f"CO{v}", f"co{v}", ""),
    "id_number": lambda v: (f"1101{v}", f"1101{v}", f"1101{v}", ""),  # not used: ignored
}


def _applications(identifier, *, persons, hours, per_application, applications):
    """Streams of (person, hours after T0, the application's identifiers, duplicates allowed)."""
    return st.lists(
        st.tuples(
            st.integers(0, persons),
            st.integers(0, hours),
            st.lists(identifier, max_size=per_application),
        ),
        min_size=1,
        max_size=applications,
    )


many_identifiers = _applications(  # (type, value, spelling)
    st.tuples(st.sampled_from(sorted(_SPELLINGS)), st.integers(0, 9), st.integers(0, 3)),
    persons=15, hours=200, per_application=30, applications=25,
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(many_identifiers)
def test_applications_with_many_identifiers_equal_batch(stream):
    # identifiers are read ahead in chunks: any number of them per application, repeated,
    # malformed, ignored or outside ASCII, must link exactly as the batch build links them
    from fengkong.graph.online import _normalise  # noqa: PLC0415

    config = GraphConfig(cap=1_000)
    online = OnlineGraph(config, capacity=16)
    rows, apps, refused = [], [], 0
    for person, hours, identifiers in sorted(stream, key=lambda e: e[1]):
        at = T0 + dt.timedelta(hours=hours)
        raw = [(t, _SPELLINGS[t](v)[s], at - dt.timedelta(hours=v)) for t, v, s in identifiers]
        online.add(person, raw, at)
        rows += [(person, *r) for r in raw if r[0] != "id_number"]
        refused += sum(_normalise(t, r) is None for t, r, _ in raw if t != "id_number")
        apps.append((person, at))
    assert online.rejected == refused
    kept = [r for r in rows if _normalise(r[1], r[2]) is not None]
    frame = pl.DataFrame(
        kept or [(0, "device", "none", T0)],
        schema=["person_id", "id_type", "id_value", "first_seen"], orient="row",
    )  # fmt: skip
    graph = IdentifierGraph.build(frame, config)
    applications = pl.DataFrame(apps, schema=["person_id", "applied_at"], orient="row")
    applications = applications.filter(pl.col("person_id").is_in(graph.persons.tolist()))
    bad = np.zeros(len(graph.persons), dtype=bool)
    if kept:
        _compare(online, graph, bad, applications, max(a for _, a in apps))


few_types = _applications(  # (type, value)
    st.tuples(st.sampled_from(["mobile", "device", "ip", "bank_card"]), st.integers(0, 15)),
    persons=8, hours=100, per_application=8, applications=20,
)  # fmt: skip
capped_people = st.tuples(st.integers(1, 6), few_types)  # (identifiers one may hold, stream)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capped_people)
def test_applicants_past_their_cap_keep_the_first_identifiers_as_in_batch(case):
    # identifiers arrive in the order they were first seen (each sighting a microsecond after
    # the one before): online keeps each applicant's first ``person_cap`` as batch does
    person_cap, stream = case
    config = GraphConfig(cap=1_000, person_cap=person_cap)
    online = OnlineGraph(config, capacity=16)
    rows, apps = [], []
    for person, hours, identifiers in sorted(stream, key=lambda e: e[1]):
        at = T0 + dt.timedelta(hours=hours, microseconds=len(rows))
        raw = [
            (t, f"13{v:09d}" if t == "mobile" else f"v{v}", at + dt.timedelta(microseconds=j))
            for j, (t, v) in enumerate(identifiers)
        ]
        at += dt.timedelta(microseconds=len(raw))
        online.add(person, raw, at)
        rows += [(person, *r) for r in raw]
        apps.append((person, at))
    if not rows:
        return
    frame = pl.DataFrame(rows, schema=["person_id", "id_type", "id_value", "first_seen"],
                         orient="row")  # fmt: skip
    graph = IdentifierGraph.build(frame, config)
    over = {int(p.path) for p in graph.problems if "capped at" in p.message}
    held = frame.unique(["person_id", "id_type", "id_value"]).group_by("person_id").len()
    assert over == set(held.filter(pl.col("len") > person_cap)["person_id"].to_list())
    assert (online.over_person_cap > 0) == bool(over)
    assert np.diff(graph.incidence.indptr).max() <= person_cap
    applications = pl.DataFrame(apps, schema=["person_id", "applied_at"], orient="row")
    applications = applications.filter(pl.col("person_id").is_in(graph.persons.tolist()))
    bad = np.zeros(len(graph.persons), dtype=bool)
    _compare(online, graph, bad, applications, max(a for _, a in apps))


def test_one_applicant_with_thousands_of_identifiers_stays_bounded():
    # a device farm re-applying with new devices: the applicant's list stops at the cap (every
    # insert of theirs walks it), the rest are counted, and nothing else changes
    online = OnlineGraph(GraphConfig(person_cap=300))
    online.add(2, [("device", "shared", T0)], T0)
    for call in range(30):
        devices = [("device", f"farm-{call}-{j}", T0) for j in range(100)]
        features = online.add(1, devices, T0)
    assert features["devices_per_person"] == 300
    assert online.over_person_cap == 2_700
    again = online.add(1, [("device", "farm-0-0", T0), ("device", "shared", T0)], T0)
    assert again["devices_per_person"] == 300 and again["component_size"] == 1
    assert online.over_person_cap == 2_701  # a held one is no new identifier; the new one is
    assert online.add(3, [("device", "farm-0-0", T0)], T0)["component_size"] == 2


def test_a_seeded_applicant_counts_what_it_already_holds_against_its_cap():
    config = GraphConfig(person_cap=4)
    frame = pl.DataFrame(
        [(1, "device", f"d{i}", T0) for i in range(3)] + [(2, "device", "x", T0)],
        schema=["person_id", "id_type", "id_value", "first_seen"], orient="row",
    )  # fmt: skip
    online = OnlineGraph.seed(IdentifierGraph.build(frame, config))
    features = online.add(1, [("device", f"n{i}", T0) for i in range(3)], T0)
    assert features["devices_per_person"] == 4 and online.over_person_cap == 2
    assert online.add(2, [("device", "x", T0)], T0)["devices_per_person"] == 1


def test_an_application_later_than_allowed_is_refused_and_changes_nothing():
    online = OnlineGraph(late=dt.timedelta(minutes=10))
    online.add(1, [("device", "D1", T0)], T0 + dt.timedelta(hours=1))
    before = online.features(1, as_of=T0 + dt.timedelta(hours=1))
    with pytest.raises(InvalidArgumentError, match="applied_at"):
        online.add(2, [("device", "D1", T0)], T0 + dt.timedelta(minutes=49))
    with pytest.raises(InvalidArgumentError, match="as_of"):
        online.features(1, as_of=T0)
    assert online.persons == 1
    assert online.features(1, as_of=T0 + dt.timedelta(hours=1)) == before
    online.add(2, [("device", "D1", T0)], T0 + dt.timedelta(minutes=51))  # inside the 10 minutes
    assert online.features(1, as_of=T0 + dt.timedelta(hours=1))["component_apps_1d"] == 2
    with pytest.raises(InvalidArgumentError, match="late"):
        OnlineGraph(late=dt.timedelta(days=1))


def test_types_the_graph_does_not_use_are_ignored_not_rejected():
    online = OnlineGraph()
    out = online.add(1, [("id_number", "110101199001011234", T0), ("device", "D1", T0)], T0)
    assert online.rejected == 0
    assert out["shared_device"] == 0
    online.add(2, [("no_such_type", "x", T0), ("device", "D1", T0)], T0)
    assert online.rejected == 1


def test_aware_times_and_dates_are_read_as_utc():
    online = OnlineGraph()
    tz = dt.timezone(dt.timedelta(hours=8))
    online.add(1, [("device", "D1", dt.datetime(2026, 1, 1, 8, tzinfo=tz))], T0)
    online.add(2, [("device", "D1", dt.date(2025, 1, 1))], T0)
    online.add(3, (("mobile", "13800138000", T0 - dt.timedelta(days=3)),), T0)  # a tuple
    online.add(4, (i for i in [("mobile", "13800138000", T0)]), T0)  # any iterable
    assert online.features(4, as_of=T0)["shared_mobile"] == 1
    # the device was first seen on 2025-01-01 (the date), the aware 08:00+08:00 is T0 in UTC
    assert online.features(1, as_of=T0)["component_age_days"] == 365
    assert online.features(3, as_of=T0)["component_age_days"] == 3
    # several identifiers seen at one time (packed once): aware and date times still converted
    early = dt.datetime(2025, 6, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=-12)))
    online.add(5, [("bank_card", "621", early), ("bank_card", "622", early)], T0)
    later = T0 + dt.timedelta(minutes=30)
    assert online.features(5, as_of=later)["component_age_days"] == 212  # from 06-02 01:00 UTC
    online.add(6, [("bank_card", "622", dt.date(2025, 6, 1))] * 2, T0)
    assert online.features(5, as_of=later)["component_age_days"] == 214  # from the date
    online.add(7, [("bank_card", "621", T0 - dt.timedelta(days=1))] * 3, T0)
    assert online.features(7, as_of=T0)["component_size"] == 3


def test_seed_from_a_batch_build_equals_it(small_book):
    graph = IdentifierGraph.build(small_book.person_identifiers)
    rng = np.random.default_rng(1)
    bad = rng.random(len(graph.persons)) < 0.03
    apps = small_book.applications.group_by("person_id").agg(pl.col("applied_at"))
    by_person = dict(zip(apps["person_id"].to_list(), apps["applied_at"].to_list(), strict=True))
    online = OnlineGraph.seed(graph, bad=bad, applications=by_person)
    as_of = dt.datetime(2026, 1, 1)
    batch = graph.features(as_of=as_of, bad=bad, applications=small_book.applications)
    sample = batch.sample(300, seed=2)
    for row in sample.iter_rows(named=True):
        mine = online.features(row["person_id"], as_of=as_of)
        for c in COLUMNS:
            assert mine[c] == row[c] or abs(mine[c] - row[c]) < 1e-12, (c, mine[c], row[c])


def test_malformed_identifiers_are_counted_not_fatal():
    g = OnlineGraph()
    features = g.add(1, [("mobile", "12", T0), ("shoe", "x", T0), ("device", "  ", T0)], T0)
    assert g.rejected == 3 and features["component_size"] == 1


def test_online_neighbourhood_equals_the_batch_one(small_book):
    from fengkong.graph.export import neighbourhood  # noqa: PLC0415

    graph = IdentifierGraph.build(small_book.person_identifiers)
    online = OnlineGraph.seed(graph)
    sizes = graph.component_sizes()
    people = graph.persons[np.argsort(-sizes)[:5]].tolist() + graph.persons[:5].tolist()
    for person in people:
        batch = neighbourhood(graph, person, hops=2, limit=10_000)
        mine = online.neighbourhood(person, hops=2, limit=10_000)

        def members(view):
            return {(n["id"], n.get("hop")) for n in view["nodes"] if n["kind"] == "applicant"}

        assert members(mine) == members(batch)
        keys = lambda view: {n["id"] for n in view["nodes"] if n["kind"] == "identifier"}  # noqa: E731
        assert keys(mine) == keys(batch)
    assert online.neighbourhood(-1)["nodes"] == []


def test_growing_tables_keep_every_feature_equal_to_batch():
    # a tiny start forces every table, the lookup tables and the text pool to grow many times
    rng = np.random.default_rng(3)
    config = GraphConfig(cap=1_000)
    online = OnlineGraph(config, capacity=16)
    kinds = ["mobile", "device", "bank_card", "emergency_phone", "ip", "address", "employer"]
    rows, apps = [], []
    for i in range(600):
        person, kind, value = int(rng.integers(0, 250)), kinds[i % 7], int(rng.integers(0, 120))
        at = T0 + dt.timedelta(hours=i)
        raw = f"13{value:09d}" if kind in ("mobile", "emergency_phone") else f" Value {value} "
        online.add(person, [(kind, raw, at)], at)
        if i % 97 == 0:
            online.mark_bad(person)
        rows.append((person, kind, raw, at))
        apps.append((person, at))
    frame = pl.DataFrame(rows, schema=["person_id", "id_type", "id_value", "first_seen"],
                         orient="row")  # fmt: skip
    graph = IdentifierGraph.build(frame, config)
    bad = np.isin(graph.persons, [p for i, (p, *_) in enumerate(rows) if i % 97 == 0])
    applications = pl.DataFrame(apps, schema=["person_id", "applied_at"], orient="row")
    _compare(online, graph, bad, applications, max(a for _, a in apps))
    assert online.persons == len(graph.persons)


ascii_values = st.text(alphabet="0123456789+-() \t\n\x0b\x1cAbZ|x.", max_size=18)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["mobile", "emergency_phone", "address", "device", "employer"]),
       ascii_values)  # fmt: skip
def test_compiled_normalisation_equals_the_python_rules(id_type, raw):
    from fengkong.graph._interning import ADDRESS, PHONE, PLAIN, normalise_into  # noqa: PLC0415
    from fengkong.graph.online import _normalise  # noqa: PLC0415

    cls = {"mobile": PHONE, "emergency_phone": PHONE, "address": ADDRESS}.get(id_type, PLAIN)
    src = np.frombuffer(raw.encode(), dtype=np.uint8)
    out = np.zeros(len(src) + 1, dtype=np.uint8)
    length = normalise_into(src, 0, len(src), cls, out, 0)
    expected = _normalise(id_type, raw)
    got = None if length < 0 else out[:length].tobytes().decode()
    assert got == expected


def test_identifiers_with_one_hash_are_told_apart_by_their_text():
    from fengkong.graph import _kernels as kern  # noqa: PLC0415
    from fengkong.graph._interning import find_key  # noqa: PLC0415

    text = np.frombuffer(b"abcabd", dtype=np.uint8).copy()
    ids = np.zeros((2, kern.K_COLUMNS), dtype=np.int64)
    ids[0, [kern.TYPE, kern.KHASH, kern.TOFF, kern.TLEN]] = (1, 7, 0, 3)
    kmap = np.full((16, 2), -1, dtype=np.int64)
    kmap[7] = (7, 0)  # "abc" sits in slot 7 with hash 7
    cols = (kern.TYPE, kern.KHASH, kern.TOFF, kern.TLEN)
    assert find_key(kmap, ids, text, 7, 1, 0, 3, *cols) == 7  # the same text: found
    assert find_key(kmap, ids, text, 7, 1, 3, 3, *cols) == 8  # "abd", same hash: a new slot
    assert find_key(kmap, ids, text, 7, 2, 0, 3, *cols) == 8  # same text, other type: new


def test_values_outside_ascii_are_normalised_in_python_and_still_link():
    g = OnlineGraph()
    g.add(1, [("address", " 北京市  朝阳区 ", T0)], T0)
    features = g.add(2, [("address", "北京市 朝阳区", T0)], T0)
    assert features["shared_address"] == 1
    g.add(3, [("device", "Ｄ1", T0), ("mobile", None, T0), ("device", "a\x00b", T0)], T0)
    assert g.add(4, [("device", "ｄ1", T0)], T0)["shared_device"] == 1
    assert g.rejected == 2  # no mobile; a NUL inside a value
    view = g.neighbourhood(2)
    assert {n["id"] for n in view["nodes"]} >= {"address|北京市 朝阳区", "person:1", "person:2"}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, st.sets(st.integers(0, 30), max_size=6), st.integers(2, 4))
def test_online_equals_batch_when_identifiers_pass_the_hub_cap(stream, bad_people, cap):
    """The hub cap means the same online and in batch (issue 22 part 6): an identifier's first
    ``cap`` holders are linked before it is capped, the rest only count, no capped identifier
    is a hop; batch used to link none of a capped identifier's holders."""
    config = GraphConfig(cap=cap)
    online = OnlineGraph(config)
    rows, apps = [], []
    for k, (person, id_type, value, _) in enumerate(stream):  # one event an hour, in order
        at = T0 + dt.timedelta(hours=k)
        raw = f"13{value:09d}" if id_type in ("mobile", "emergency_phone") else f"V{value}"
        online.add(person, [(id_type, raw, at)], at)
        rows.append((person, id_type, raw, at))
        apps.append((person, at))
    for p in bad_people:
        if p in online:
            online.mark_bad(p)
    frame = pl.DataFrame(
        rows, schema=["person_id", "id_type", "id_value", "first_seen"], orient="row"
    )
    graph = IdentifierGraph.build(frame, config)
    bad = np.isin(graph.persons, list(bad_people))
    applications = pl.DataFrame(apps, schema=["person_id", "applied_at"], orient="row")
    last = max(a for _, a in apps)
    _compare(online, graph, bad, applications, last)
    seeded = OnlineGraph.seed(graph, bad=bad)  # a re-seed from batch keeps the same components
    for person in graph.persons.tolist()[:10]:
        assert (
            seeded.features(person, as_of=last)["component_size"]
            == online.features(person, as_of=last)["component_size"]
        )
