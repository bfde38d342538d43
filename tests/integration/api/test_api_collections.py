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
    sms = {"case_id": "K2", "channel": "sms", "template_id": "reminder"}
    assert client.post("/v1/contacts", json=sms, headers=keys["carl"]).status_code == 404


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
        actions = s.scalars(
            select(AuditLogRecord.action).where(AuditLogRecord.action != "key.create")
        ).all()  # the fixture's keys are audited too
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


def test_a_manager_reassigns_a_case_and_the_daily_run_keeps_it(service):
    import datetime as dt  # noqa: PLC0415
    from types import SimpleNamespace  # noqa: PLC0415

    import polars as pl  # noqa: PLC0415

    from fengkong.db import CollectionCaseRecord  # noqa: PLC0415
    from fengkong.services.casework import _store  # noqa: PLC0415

    app, client, keys = service
    url = "/v1/collections/cases/K2/assign"
    body = {"collector": "C-7", "hold_days": 10, "reason": "speaks the debtor's dialect"}
    assert client.post(url, json=body, headers=keys["carl"]).status_code == 403
    unknown = client.post(url, json=body | {"collector": "C-99"}, headers=keys["root"])
    assert unknown.status_code == 422 and "collector" in unknown.json()["error"]["message"]
    no_reason = client.post(url, json={"collector": "C-7"}, headers=keys["root"])
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["error"]["message"]
    done = client.post(url, json=body, headers=keys["root"])
    assert done.status_code == 200, done.text
    assert done.json() == {"case_id": "K2", "assigned_to": "C-7", "previous": "C-9",
                           "held_until": "2026-12-04"}  # fmt: skip
    mine = client.get("/v1/collections/queue", headers=keys["carl"]).json()
    assert {c["case_id"] for c in mine} == {"K1", "K2"}
    assert client.get("/v1/collections/cases/K2", headers=keys["carl"]).status_code == 200
    with app.state.sessions() as s:
        log = s.scalars(select(AuditLogRecord).where(AuditLogRecord.action == "case.assign")).one()
    assert log.detail["reason"] == "speaks the debtor's dialect" and log.actor == "root"

    # the daily run gives both calls to C-9: the held K2 stays with C-7 until its date
    def run(day):
        cases = pl.DataFrame({"case_id": ["K1", "K2"], "opened_on": [day] * 2,
                              "borrower_id": ["D1", "D2"], "status": ["open"] * 2,
                              "stage": ["early"] * 2, "max_dpd": [13, 13],
                              "overdue_fen": [50_000] * 2, "balance_fen": [400_000] * 2,
                              "loans": [[], []], "placement": [None, None]})  # fmt: skip
        result = SimpleNamespace(
            cases=cases,
            actions=pl.DataFrame(
                schema={
                    "case_id": pl.String,
                    "action": pl.String,
                    "template": pl.String,
                    "allowed": pl.Boolean,
                    "breaches": pl.List(pl.String),
                }
            ),
            calls=SimpleNamespace(
                assignments=pl.DataFrame({"case_id": ["K1", "K2"], "agent_id": ["C-9", "C-9"]})
            ),
            promises=pl.DataFrame(
                schema={
                    "case_id": pl.String,
                    "resolved_on": pl.Date,
                    "due_on": pl.Date,
                    "amount_fen": pl.Int64,
                    "status": pl.String,
                }
            ),
        )
        with app.state.sessions.begin() as s:
            _store(s, result, day, p_pay=pl.DataFrame({"case_id": ["K1"], "p": [0.5]}), phones={})
        with app.state.sessions() as s:
            return {r.case_id: r.assigned_to for r in s.scalars(select(CollectionCaseRecord))}

    assert run(dt.date(2026, 12, 4)) == {"K1": "C-9", "K2": "C-7"}
    assert run(dt.date(2026, 12, 5)) == {"K1": "C-9", "K2": "C-9"}  # the hold is over
