"""Taking an application back out of the online state (its decision's record was not stored):
afterwards every variable is as if it had never been observed."""

from __future__ import annotations

import random

import pytest
from feature_book import T0, app  # type: ignore[import-not-found]

from fengkong.features import OnlineEngine
from fengkong.features.spec import VariableSpec


def _history(rng: random.Random, n: int) -> list[dict[str, object]]:
    """``n`` applications over ~40 days (evictions happen), a few out of order within the
    spec's hour of lateness, values drawn from small sets (distinct counts repeat)."""
    hours, out = 0.0, []
    for i in range(n):
        hours += rng.choice([0.0, 0.2, 3, 12, 30])
        late = rng.random() < 0.2
        out.append(
            app(
                i + 1,
                hours - (0.5 if late else 0.0),
                rng.choice([7, 7, 8]),
                dev=rng.choice(["d1", "d2", None]),
                inst=rng.choice([1, 2, 3, 4]),
                amt=rng.choice([100, 2_500, 90_000]),
                channel=rng.choice(["app", "h5"]),
            )
        )
    return out


@pytest.mark.parametrize("seed", range(25))
def test_a_forgotten_application_leaves_no_trace(spec: VariableSpec, seed: int) -> None:
    rng = random.Random(seed)
    events = _history(rng, 60)
    cut = rng.randrange(5, 55)
    newest = max(e["at"] for e in events[:cut])  # type: ignore[type-var]
    hours = (newest - T0).total_seconds() / 3600  # type: ignore[operator]
    ghost = app(
        10_000,
        hours - rng.choice([0.0, 0.1, 0.7]),  # at, or a little before, the newest event
        7,
        dev=rng.choice(["d1", "d9"]),
        inst=rng.choice([1, 9]),
        amt=55_555,
        channel="h5",
    )
    later = rng.randrange(0, 3)  # applications decided while its record was being stored
    clean, dirty = OnlineEngine(spec, target="app"), OnlineEngine(spec, target="app")
    for k, event in enumerate(events):
        if k == cut:
            _, new = dirty.observe_application(ghost)
            assert new
        if k == cut + later:
            dirty.forget(ghost)
        expected = clean.compute_and_observe(event)
        got = dirty.compute_and_observe(event)
        if k >= cut + later:
            assert got == expected, (k, event)
    for store in (clean.store, dirty.store):
        assert store is not None
    left = dict(dirty.store.items())  # type: ignore[attr-defined]
    assert all(10_000 not in state.ids for state in left.values())


def test_a_repeat_is_not_new_and_forgetting_the_first_only_forgets_it(
    spec: VariableSpec,
) -> None:
    engine = OnlineEngine(spec, target="app")
    first = app(1, 0, 7)
    assert engine.observe_application(first)[1] is True
    assert engine.observe_application(first)[1] is False  # a retry changes nothing
    probe = app(2, 1, 7)
    assert engine.compute(probe)["app_cnt_person_1d"] == 1
    engine.forget(first)
    engine.forget(first)  # twice: nothing more to take out
    assert engine.compute(probe)["app_cnt_person_1d"] == 0
    assert engine.compute(probe)["app_dcnt_inst_person_all"] == 0


def test_forgetting_keeps_an_evicted_value_in_whole_history_distincts(spec: VariableSpec) -> None:
    engine = OnlineEngine(spec, target="app")
    for i in range(20):  # a day apart: the 7 d horizon evicts the first ones (inst 5 among them)
        engine.observe("app", app(i + 1, 24 * i, 7, inst=5 if i == 0 else 1))
    ghost = app(100, 24 * 19, 7, inst=5)
    engine.observe_application(ghost)
    engine.forget(ghost)
    values = engine.compute(app(101, 24 * 19 + 1, 7))
    assert values["app_dcnt_inst_person_all"] == 2  # 1 and the evicted 5
    assert values["app_dcnt_inst_person_7d"] == 1
    assert values["app_cnt_person_all"] == 20
