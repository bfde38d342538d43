"""Collections and portfolio routes: a collector sees and works only their own cases, personal
data is masked by role, promises are checked, portfolio figures need an analyst's role."""

from sqlalchemy import select

from fengkong.db import AuditLogRecord, PromiseRecord


def test_a_collector_sees_only_their_own_cases(service):
    _app, client, keys = service
    mine = client.get("/v1/collections/queue", headers=keys["carl"])
    assert mine.status_code == 200
    assert [c["case_id"] for c in mine.json()] == ["K1"]
    everyone = client.get("/v1/collections/queue", headers=keys["root"]).json()
    assert {c["case_id"] for c in everyone} == {"K1", "K2"}
    other = client.get("/v1/collections/cases/K2", headers=keys["carl"])
    assert other.status_code == 404 and "case" in other.json()["error"]["message"]
    night = {"case_id": "K2", "debtor_id": "D2", "channel": "sms", "at": "2026-11-24T03:00:00+00:00",
             "debtor_tz": "Asia/Shanghai", "template": "Your payment is overdue."}  # fmt: skip
    assert client.post("/v1/contacts", json=night, headers=keys["carl"]).status_code == 404


def test_personal_data_is_masked_for_collectors_not_auditors(service):
    _app, client, keys = service
    case = client.get("/v1/collections/cases/K1", headers=keys["carl"]).json()
    assert case["phone"] == "138****8000" and case["stage"] == "early"
    assert client.get("/v1/collections/cases/K1", headers=keys["audrey"]).json()["phone"] == (
        "13800138000"
    )


def test_promises_are_checked_and_audited(service):
    app, client, keys = service
    url = "/v1/collections/cases/K1/promises"
    ok = client.post(url, json={"amount_fen": 50_000, "due_on": "2026-11-30"}, headers=keys["carl"])
    assert ok.status_code == 200 and ok.json()["status"] == "pending"
    too_much = client.post(url, json={"amount_fen": 500_000, "due_on": "2026-11-30"},
                           headers=keys["carl"])  # fmt: skip
    assert too_much.status_code == 422 and "amount_fen" in too_much.json()["error"]["message"]
    too_late = client.post(url, json={"amount_fen": 100, "due_on": "2027-03-01"},
                           headers=keys["carl"])  # fmt: skip
    assert too_late.status_code == 422 and "due_on" in too_late.json()["error"]["message"]
    assert client.post("/v1/collections/cases/K2/promises", json={"amount_fen": 1,
                       "due_on": "2026-11-30"}, headers=keys["carl"]).status_code == 404  # fmt: skip
    with app.state.sessions() as s:
        assert len(s.scalars(select(PromiseRecord)).all()) == 1  # nothing else written
        actions = s.scalars(select(AuditLogRecord.action)).all()
    assert actions == ["case.promise"]
    case = client.get("/v1/collections/cases/K1", headers=keys["carl"]).json()
    assert case["promises"][0]["amount_fen"] == 50_000


def test_portfolio_needs_an_analyst_role(service):
    _app, client, keys = service
    kpis = client.get("/v1/portfolio/kpis", headers=keys["alice"])
    assert kpis.status_code == 200 and kpis.json()["loans"] == 0
    assert client.get("/v1/portfolio/vintages", headers=keys["alice"]).json() == []
    assert client.get("/v1/portfolio/roll-rates", headers=keys["audrey"]).status_code == 200
    assert client.get("/v1/portfolio/kpis", headers=keys["carl"]).status_code == 403
    bad = client.get("/v1/portfolio/vintages?bucket=M9", headers=keys["alice"])
    assert bad.status_code == 422 and "bucket" in bad.json()["error"]["message"]
