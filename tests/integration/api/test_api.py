"""The HTTP service on SQLite and PostgreSQL: keys and roles, maker-checker through the API,
decisions stored with their audit record (count equals 200 responses), traces with personal
data masked by role, server-side guardrails, one error shape, metrics."""

import datetime as dt

from sqlalchemy import func, select

from fengkong.db import AuditLogRecord, DecisionRecord
from fengkong.policy.examples import reference_applications

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


def test_maker_checker_then_decisions_are_stored_with_their_trace(service):
    app, client, keys = service
    promote = "/v1/policies/credit/versions/1/promote"
    own = client.post(promote, json={"to": "approved"}, headers=keys["alice"])
    assert own.status_code == 409 and "maker-checker" in own.json()["error"]["message"]
    assert client.post(promote, json={"to": "approved"}, headers=keys["bob"]).status_code == 200
    assert (
        client.post(promote, json={"to": "active"}, headers=keys["bob"]).json()["status"]
        == "active"
    )
    apps = reference_applications(20, seed=3).to_dicts()
    ids = []
    for a in apps:
        r = client.post("/v1/decisions", json={"application": a | {"mobile": "13800138000"},
                                               "application_id": a["application_id"]}, headers=keys["gate"])  # fmt: skip
        assert r.status_code == 200, r.text
        body = r.json()
        assert (
            body["policy"] == "credit"
            and body["version"] == "1"
            and body["decision"] in ("approve", "decline", "refer")
        )
        ids.append(body["decision_id"])
    with app.state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(DecisionRecord)) == len(ids)
        writes = select(func.count()).select_from(AuditLogRecord)
        promotions = writes.where(AuditLogRecord.action != "key.create")  # keys: audited too
        assert s.scalar(promotions) == 2  # the two promotions
    analyst = client.get(f"/v1/decisions/{ids[0]}", headers=keys["alice"]).json()
    assert analyst["inputs"]["mobile"] == "138****8000"  # masked for an analyst
    assert sum(analyst["points"]["credit"].values()) == analyst["variables"]["credit_score"]
    auditor = client.get(f"/v1/decisions/{ids[0]}", headers=keys["audrey"]).json()
    assert auditor["inputs"]["mobile"] == "13800138000"
    listed = client.get("/v1/decisions", params={"limit": 5}, headers=keys["audrey"]).json()
    assert len(listed) == 5
    ready = client.get("/ready").json()
    assert ready["policy"] == "credit@1"
    metrics = client.get("/metrics").text
    assert 'fengkong_decisions_total{decision="approve",policy="credit"}' in metrics
    assert "fengkong_request_seconds_bucket" in metrics


def test_roles_are_enforced_and_errors_have_one_shape(service):
    _app, client, keys = service
    assert client.post("/v1/decisions", json={"application": {}}).status_code == 401
    assert (
        client.post(
            "/v1/decisions", json={"application": {}}, headers={"X-API-Key": "fk_nope"}
        ).status_code
        == 401
    )
    forbidden = client.post("/v1/decisions", json={"application": {}}, headers=keys["carl"])
    assert forbidden.status_code == 403 and forbidden.json()["error"]["type"] == "ForbiddenError"
    assert client.get("/v1/policies", headers=keys["carl"]).status_code == 403
    missing = client.post("/v1/decisions", json={"application": {}}, headers=keys["gate"])
    assert missing.status_code == 404 and "active policy" in missing.json()["error"]["message"]
    bad = client.post("/v1/decisions", json={"applicaton": {}}, headers=keys["gate"])
    err = bad.json()["error"]
    assert (
        bad.status_code == 422
        and err["type"] == "ValidationError"
        and err["field"].startswith("body.")
    )
    assert client.get("/v1/decisions/nope", headers=keys["root"]).status_code == 404
    check = client.post("/v1/policies/validate", json={"text": "schema_version: 1\nrules:\n  - {id: R, when: 'x >', action: decline}\n"},
                        headers=keys["alice"]).json()  # fmt: skip
    assert not check["ok"] and check["problems"][0]["path"] == "rules.0.when"


def test_contacts_run_the_guardrails_server_side(service, clock):
    _app, client, keys = service
    call = {"case_id": "K1", "channel": "call", "template_id": "call_script"}
    clock.now = dt.datetime(2026, 11, 24, 14, 30, tzinfo=dt.UTC)  # 22:30 in Shanghai
    blocked = client.post("/v1/contacts", json=call, headers=keys["carl"]).json()
    assert not blocked["allowed"] and blocked["breaches"][0]["rule"] == "quiet_hours"
    clock.now = dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.UTC)  # 10:30
    ok = client.post("/v1/contacts", json=call, headers=keys["carl"]).json()
    assert ok["allowed"]
    assert (
        client.post(
            f"/v1/contacts/{ok['log_id']}/outcome",
            json={"outcome": "connected", "recording_id": "rec-1"},
            headers=keys["carl"],
        ).status_code
        == 200
    )
    again = client.post(
        f"/v1/contacts/{blocked['log_id']}/outcome",
        json={"outcome": "connected", "recording_id": "rec-2"},
        headers=keys["carl"],
    )
    assert again.status_code == 409
    assert client.post("/v1/contacts", json=call, headers=keys["gate"]).status_code == 403
    assert 'fengkong_guardrail_blocks_total{rule="quiet_hours"} 1.0' in client.get("/metrics").text


def test_book_repay_once_and_state_a_loan_from_an_approved_decision(service):
    _app, client, keys = service
    promote = "/v1/policies/credit/versions/1/promote"
    client.post(promote, json={"to": "approved"}, headers=keys["bob"])
    client.post(promote, json={"to": "active"}, headers=keys["bob"])
    approved = None
    for a in reference_applications(40, seed=4).to_dicts():
        body = client.post("/v1/decisions", json={"application": a}, headers=keys["gate"]).json()
        if body["decision"] == "approve" and body["outputs"]["limit_fen"] >= 1_000_000:
            approved = body
            break
    assert approved is not None
    loan = {"decision_id": approved["decision_id"], "loan_id": "L1", "borrower_id": "P1",
            "product": "cash_loan", "principal_fen": 1_000_000, "annual_rate": "0.12", "term": 12,
            "disbursed_on": "2026-01-01"}  # fmt: skip
    too_much = client.post("/v1/loans", json=loan | {"principal_fen": 10**9}, headers=keys["gate"])
    assert too_much.status_code == 422 and too_much.json()["error"]["field"] == "principal_fen"
    booked = client.post("/v1/loans", json=loan, headers=keys["gate"])
    assert booked.status_code == 200 and len(booked.json()["schedule"]) == 12
    pay = {"amount_fen": 88_849, "paid_on": "2026-02-01", "idempotency_key": "p-1"}
    first = client.post("/v1/loans/L1/repayments", json=pay, headers=keys["gate"]).json()
    again = client.post("/v1/loans/L1/repayments", json=pay, headers=keys["gate"]).json()
    assert first == again  # the same key: no double posting
    state = client.get("/v1/loans/L1", params={"as_of": "2026-02-15"}, headers=keys["alice"]).json()
    assert state["dpd"] == 0 and state["status"] in ("active", "overdue")
    statement = client.get(
        "/v1/loans/L1/statement", params={"as_of": "2026-05-15"}, headers=keys["audrey"]
    )
    assert statement.status_code == 200 and statement.json()["rule_set"]
    # Payoff on 2026-02-11: 10,000 at 12 % (30/360), instalment 1 (888.49 = 100.00 interest +
    # 788.49 principal) paid on its due date 2026-02-01, so 9,211.51 principal is left; the
    # February period (2026-02-01 to 03-01, 28 days) carries 92.12 interest, earned for 10 days:
    # 9,212 x 10 // 28 = 32.90. Payoff 9,211.51 + 32.90 = 9,244.41 (no penalty, no fee due).
    quote = client.get("/v1/loans/L1/payoff", params={"on": "2026-02-11"}, headers=keys["alice"])
    assert quote.status_code == 200
    assert quote.json()["amount_fen"] == 924_441
    assert quote.json()["parts_fen"] | {} == {"principal": 921_151, "interest": 3_290,
        "penalty": 0, "fee": 0, "prepayment_fee": 0, "credit": 0}  # fmt: skip
    early = client.get("/v1/loans/L1/payoff", params={"on": "2025-12-31"}, headers=keys["alice"])
    assert early.status_code == 422 and early.json()["error"]["field"] == "on"
    assert client.get("/v1/loans/L1/payoff", headers=keys["alice"]).status_code == 422
    assert client.post("/v1/loans", json=loan, headers=keys["carl"]).status_code == 403
