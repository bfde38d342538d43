"""Issue 25 (seen: 500s from the UI): the decision form takes the API's own bounds, the loan
calculator refuses non-finite and huge numbers, the simulator survives a stored bad date —
each a clear message on the page (4xx), never a 500, and the service keeps serving."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from fastapi.testclient import TestClient

from fengkong.api import create_app
from fengkong.policy.examples import reference_applications, write_reference_policy
from fengkong.services.access import create_api_key
from fengkong.services.policies import promote, submit_policy
from fengkong.settings import Settings

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def analyst(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ui-hostile")
    app = create_app(Settings(data_dir=folder), clock=lambda: NOW, default_policy="credit")
    with app.state.sessions.begin() as s:
        key = create_api_key(s, name="alice", role="risk_analyst", at=NOW)
        submit_policy(s, write_reference_policy(folder / "policy"), author="bob", at=NOW)
        promote(s, "credit", "1", to="approved", actor="carol", at=NOW)
        promote(s, "credit", "1", to="active", actor="carol", at=NOW)
    client = TestClient(app, raise_server_exceptions=False)
    token = re.search(r'name="csrf" value="([^"]*)"', client.get("/ui/login").text)[1]
    client.post("/ui/login", data={"key": key, "csrf": token})
    return client


def _csrf(client, path):
    return re.search(r'name="csrf" value="([^"]*)"', client.get(path).text)[1]


@pytest.mark.parametrize(
    ("application", "identifiers"),
    [
        ({"person_id": "abc"}, []),
        ({"person_id": 2**70}, []),
        ({"age": 10**30}, []),
        ({"nested": {"a": 1}}, []),
        ({}, [["mobile"]]),  # an identifier without its value and time
        ({}, [["mobile", "13800138000", 12345]]),  # a number is not a time
    ],
)
def test_a_hostile_decision_form_is_a_clear_4xx(analyst, application, identifiers):
    sample = reference_applications(1, seed=3).to_dicts()[0]
    form = {"application": json.dumps(sample | application), "identifiers": json.dumps(identifiers),
            "csrf": _csrf(analyst, "/ui/decisions")}  # fmt: skip
    r = analyst.post("/ui/decisions", data=form, follow_redirects=False)
    if r.status_code == 303:  # a text person id is data to the reference policy (no graph)
        assert application == {"person_id": "abc"}
    else:
        assert r.status_code == 422, r.text[:300]
    assert analyst.get("/ui/decisions").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        {"principal": "1e30"},
        {"principal": "100", "fee": "NaN"},
        {"rate": "Infinity"},
        {"term": "-inf"},
        {"principal": "1" * 500},
    ],
)
def test_the_calculator_refuses_non_finite_and_huge_numbers(analyst, query):
    r = analyst.get("/ui/calculator", params={"principal": "10000", **query})
    assert r.status_code in (200, 422) and "Internal Server Error" not in r.text
    assert "finite number" in r.text or "number" in r.text
