"""A worker's online state seeded from a book's history equals the batch engines at the cut;
``fengkong serve --seed-book`` workers start from it."""

import datetime as dt
import gc

import numpy as np
import polars as pl

from fengkong.features import build_variables, load_spec
from fengkong.graph import IdentifierGraph
from fengkong.services.online import known_bad_people, seed_state
from fengkong.synth import write_book


def test_seeded_variables_and_graph_equal_the_batch_at_the_cut(small_book):
    apps = small_book.applications.sort("applied_at")
    target = apps.row(apps.height * 2 // 3, named=True)
    as_of = target["applied_at"]
    bad_people = known_bad_people(small_book.loans, small_book.performance, before=as_of.date())
    state = seed_state(
        {"applications": apps, "loans": small_book.loans},
        specs=["demo_risk"],
        as_of=as_of,
        identifiers=small_book.person_identifiers,
        known_bad=bad_people,
    )
    spec = load_spec("demo_risk")
    batch = build_variables(spec, {"app": apps, "loan": small_book.loans}, target="app")
    expected = batch.filter(pl.col("application_id") == target["application_id"]).row(0, named=True)
    online = state.engine("demo_risk").compute(target)
    assert len(online) == len(spec.variables) >= 80
    for name, value in online.items():
        want = expected[name]
        assert value == want or (value is not None and want is not None
                                 and abs(value - want) < 1e-9), name  # fmt: skip

    history = apps.filter(pl.col("applied_at") < as_of)
    known = history["person_id"].unique().implode()
    graph = IdentifierGraph.build(
        small_book.person_identifiers.filter(pl.col("person_id").is_in(known))
    )
    bad = np.isin(graph.persons, list(bad_people))
    assert bad.sum() > 10
    features = graph.features(as_of=as_of, bad=bad, applications=history)
    busy = features.filter(pl.col("component_apps_7d") > 0).head(100)
    assert busy.height >= 20  # the last week's applications were carried into the seed
    for row in busy.vstack(features.filter(pl.col("bad_2hop") > 0).head(100)).iter_rows(named=True):
        mine = state.graph.features(row["person_id"], as_of=as_of)
        for column in ("component_size", "bad_1hop", "bad_2hop", "component_apps_1d",
                       "component_apps_7d", "shared_device"):  # fmt: skip
            assert mine[column] == row[column], (row["person_id"], column)


def test_serve_workers_start_from_the_seed_book(tmp_path, monkeypatch):
    from fengkong.cli.serve import app_from_environment  # noqa: PLC0415

    write_book(tmp_path / "book", 3_000, seed=2)
    monkeypatch.setenv("FENGKONG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FENGKONG_SERVE_POLICY", "credit")
    monkeypatch.setenv("FENGKONG_SERVE_SEED_BOOK", str(tmp_path / "book"))
    monkeypatch.setenv("FENGKONG_SERVE_SEED_SPECS", "demo_risk")
    thresholds = gc.get_threshold()
    try:
        app = app_from_environment()
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    state = app.state.online
    book = pl.read_parquet(tmp_path / "book" / "applications" / "*.parquet")
    assert state.graph.persons == book["person_id"].n_unique()
    repeat = book.group_by("person_id").len().filter(pl.col("len") >= 3)["person_id"][0]
    later = dt.datetime(2100, 1, 1)
    event = book.filter(pl.col("person_id") == repeat).row(0, named=True) | {"applied_at": later}
    assert state.engine("demo_risk").compute(event)["app_cnt_person_all"] >= 3
    app.state.engine.dispose()
