"""Issue 24 part 1 and 2 over HTTP: the server decides a contact. The caller names the case,
the channel, the template and (for anyone but the debtor) a stored contact; the clock, the
debtor, number, zone, live loan state, stop states and earlier contacts come from the server.
Every bypass seen in review is here: caller-sent facts refused, a settled case, a backdated or
foreign-zone attempt, a case that does not exist, another collector's contact, a loan paid a
minute ago, and every stop state stored, enforced and lifted."""

import datetime as dt
from decimal import Decimal

import pytest

from fengkong.db import CollectionCaseRecord
from fengkong.money import Money
from fengkong.services import servicing as svc
from fengkong.servicing import LoanTerms, load_products

SMS = {"case_id": "K1", "channel": "sms", "template_id": "reminder"}
CALL = {"case_id": "K1", "channel": "call", "template_id": "call_script"}


def _contact(client, key, **body):
    return client.post("/v1/contacts", json=CALL | body, headers=key)


@pytest.mark.parametrize(
    "field",
    [
        {"at": "2026-11-24T02:00:00+00:00"},  # seen: backdated to 10:00 local, allowed
        {"debtor_tz": "America/New_York"},  # seen: a Shanghai debtor at 23:30 allowed
        {"debtor_id": "SOMEONE-ELSE"},  # seen: escaped the per-debtor count
        {"case_status": "open"},
        {"holds": []},
        {"debtor_unreachable": True},
        {"recording": ["audio"]},
        {"number": "13900000000"},
        {"jurisdiction": "us"},
        {"template": "free text"},
        {"party": "third_party"},
    ],
)
def test_facts_the_server_knows_are_refused_from_the_caller(service, field):
    _app, client, keys = service
    response = _contact(client, keys["carl"], **field)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == f"body.{next(iter(field))}"


def test_the_server_clock_and_the_debtors_zone_decide_quiet_hours(service, clock):
    _app, client, keys = service
    clock.now = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)  # 23:30 in Shanghai
    night = _contact(client, keys["carl"]).json()
    assert not night["allowed"]
    assert "quiet_hours" in {b["rule"] for b in night["breaches"]}
    clock.now = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    assert _contact(client, keys["carl"]).json()["allowed"]


def test_a_case_that_does_not_exist_is_not_found_even_for_an_admin(service):
    _app, client, keys = service
    assert _contact(client, keys["root"], case_id="NOPE").status_code == 404
    assert _contact(client, keys["carl"], case_id="K2").status_code == 404  # not theirs


def test_a_settled_case_is_stopped_without_the_caller_saying_so(service):
    app, client, keys = service
    with app.state.sessions.begin() as s:
        s.get(CollectionCaseRecord, "K1").status = "settled"
    body = _contact(client, keys["carl"]).json()
    assert not body["allowed"] and "stop:settled" in {b["rule"] for b in body["breaches"]}


def test_only_the_collector_who_made_a_contact_records_its_outcome_with_evidence(service):
    app, client, keys = service
    made = _contact(client, keys["carl"]).json()
    assert made["allowed"], made
    url = f"/v1/contacts/{made['log_id']}/outcome"
    with app.state.sessions.begin() as s:
        from fengkong.services.access import create_api_key  # noqa: PLC0415

        other = {"X-API-Key": create_api_key(s, name="dora", role="collector", subject="C-9",
                                             at=dt.datetime(2026, 11, 24, tzinfo=dt.UTC))}  # fmt: skip
    assert client.post(url, json={"outcome": "connected", "recording_id": "r-1"},
                       headers=other).status_code == 404  # fmt: skip
    missing = client.post(url, json={"outcome": "connected"}, headers=keys["carl"])
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "recording_id"
    bad = client.post(url, json={"outcome": "connected", "recording_id": "<script>"},
                      headers=keys["carl"])  # fmt: skip
    assert bad.status_code == 422
    ok = client.post(url, json={"outcome": "connected", "recording_id": "rec/2026/11/24-001"},
                     headers=keys["carl"])  # fmt: skip
    assert ok.status_code == 200
    sms = client.post("/v1/contacts", json=SMS, headers=keys["carl"]).json()
    done = client.post(f"/v1/contacts/{sms['log_id']}/outcome", json={"outcome": "delivered"},
                       headers=keys["root"])  # fmt: skip
    assert done.status_code == 200  # an sms is not recorded; a supervisor may record it


def test_a_template_must_exist_and_match_the_channel(service):
    _app, client, keys = service
    for template in ("nope", "reminder"):  # unknown; an sms template on a call
        r = _contact(client, keys["carl"], template_id=template)
        assert r.status_code == 422 and r.json()["error"]["field"] == "template_id"


@pytest.fixture
def overdue(service):
    """K1's debtor D1 owes an overdue loan L-D1 (no payment since August)."""
    app, client, keys = service
    terms = LoanTerms(load_products()["cash_loan"], Money.of("3000"), Decimal("0.12"), 3,
                      dt.date(2026, 8, 1))  # fmt: skip
    with app.state.sessions.begin() as s:
        svc.book_loan(s, terms, external_id="L-D1", borrower_id="D1")
        s.get(CollectionCaseRecord, "K1").loans = ["L-D1"]
    return app, client, keys


def test_a_loan_paid_a_minute_ago_stops_contact(overdue):
    _app, client, keys = overdue
    assert _contact(client, keys["carl"]).json()["allowed"]
    quote = client.get("/v1/loans/L-D1/payoff", params={"on": "2026-11-24"}, headers=keys["root"])
    pay = {"amount_fen": quote.json()["amount_fen"], "paid_on": "2026-11-24",
           "idempotency_key": "payoff"}  # fmt: skip
    assert (
        client.post("/v1/loans/L-D1/repayments", json=pay, headers=keys["gate"]).status_code == 200
    )
    after = _contact(client, keys["carl"], channel="sms", template_id="reminder").json()
    assert not after["allowed"] and "stop:settled" in {b["rule"] for b in after["breaches"]}


STOPS = [
    ({"kind": "dispute", "loan_id": "L-D1", "disputed_fen": 120_000}, "stop:disputed"),
    ({"kind": "cease_contact"}, "stop:cease_request"),
    ({"kind": "hardship"}, "stop:paused_hardship"),
    ({"kind": "legal_hold"}, "stop:legal_hold"),
    ({"kind": "deceased"}, "stop:deceased"),
    ({"kind": "bankruptcy"}, "stop:bankruptcy"),
]


@pytest.mark.parametrize(("request_body", "rule"), STOPS)
def test_every_stop_state_is_stored_enforced_audited_and_lifted(overdue, request_body, rule):
    app, client, keys = overdue
    url = "/v1/debtors/D1/requests"
    made = client.post(url, json=request_body | {"reason": "told us on the phone"},
                       headers=keys["carl"])  # fmt: skip
    assert made.status_code == 200, made.text
    for attempt in (CALL, SMS):
        body = client.post("/v1/contacts", json=attempt, headers=keys["carl"]).json()
        assert not body["allowed"] and rule in {b["rule"] for b in body["breaches"]}
    listed = client.get(url, headers=keys["audrey"]).json()
    assert listed[0]["set_by"] == "carl" and listed[0]["lifted_at"] is None
    lift = f"{url}/{made.json()['request_id']}/lift"
    assert client.post(lift, json={"reason": "resolved"}, headers=keys["carl"]).status_code == 403
    outcome = {"outcome": "verified"} if request_body["kind"] == "dispute" else {}
    lifted = client.post(lift, json={"reason": "resolved"} | outcome, headers=keys["root"])
    assert lifted.status_code == 200, lifted.text
    assert (
        client.post(lift, json={"reason": "again"} | outcome, headers=keys["root"]).status_code
        == 409
    )
    assert _contact(client, keys["carl"]).json()["allowed"]
    with app.state.sessions() as s:
        from sqlalchemy import select  # noqa: PLC0415

        from fengkong.db import AuditLogRecord  # noqa: PLC0415

        actions = s.scalars(select(AuditLogRecord.action)).all()
    assert "debtor.request" in actions and "debtor.lift" in actions


def test_a_cease_request_on_some_channels_stops_only_those(overdue):
    _app, client, keys = overdue
    body = {"kind": "cease_contact", "channels": ["call"], "reason": "calls at work"}
    assert (
        client.post("/v1/debtors/D1/requests", json=body, headers=keys["carl"]).status_code == 200
    )
    call = _contact(client, keys["carl"]).json()
    assert not call["allowed"] and "stop:cease_request" in {b["rule"] for b in call["breaches"]}
    assert client.post("/v1/contacts", json=SMS, headers=keys["carl"]).json()["allowed"]


def test_a_represented_debtor_is_contacted_only_through_the_attorney(overdue):
    _app, client, keys = overdue
    person = {"role": "attorney", "name": "Li Lawyer", "number": "+86 139-0013-9000"}
    attorney = client.post("/v1/debtors/D1/contacts", json=person, headers=keys["root"])
    assert attorney.status_code == 200, attorney.text
    contact_id = attorney.json()["contact_id"]
    body = {
        "kind": "represented",
        "attorney_contact_id": contact_id,
        "reason": "letter from counsel",
    }
    assert (
        client.post("/v1/debtors/D1/requests", json=body, headers=keys["carl"]).status_code == 200
    )
    debtor = _contact(client, keys["carl"]).json()
    assert not debtor["allowed"] and "stop:represented" in {b["rule"] for b in debtor["breaches"]}
    assert _contact(client, keys["carl"], contact_id=contact_id).json()["allowed"]


def test_requests_and_contacts_of_other_debtors_are_not_found(overdue):
    _app, client, keys = overdue
    body = {"kind": "hardship", "reason": "lost job"}
    assert (
        client.post("/v1/debtors/D2/requests", json=body, headers=keys["carl"]).status_code == 404
    )
    assert (
        client.post("/v1/debtors/NOBODY/requests", json=body, headers=keys["root"]).status_code
        == 404
    )
    person = {"role": "third_party", "name": "Wang", "number": "13700137000"}
    other = client.post("/v1/debtors/D2/contacts", json=person, headers=keys["root"]).json()
    stranger = _contact(client, keys["carl"], contact_id=other["contact_id"])
    assert stranger.status_code == 404  # D2's contact used on D1's case


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "dispute", "disputed_fen": 0}, "body.disputed_fen"),
        ({"kind": "dispute", "disputed_fen": 2**70}, "body.disputed_fen"),
        ({"kind": "cease_contact", "channels": ["pigeon"]}, "body.channels.0"),
        ({"kind": "cease_contact", "channels": []}, "body.channels"),
        ({"kind": "hardship", "channels": ["sms"]}, "channels"),
        ({"kind": "represented"}, "attorney_contact_id"),
        ({"kind": "dispute", "loan_id": "SOMEONE-ELSES"}, None),
        ({"kind": "vacation"}, "body.kind"),
        ({"kind": "hardship", "reason": ""}, "body.reason"),
    ],
)
def test_a_bad_request_names_the_field_and_stores_nothing(overdue, body, field):
    _app, client, keys = overdue
    r = client.post("/v1/debtors/D1/requests", json={"reason": "because"} | body,
                    headers=keys["root"])  # fmt: skip
    assert r.status_code in (404, 422), r.text
    if field is not None:
        assert r.json()["error"]["field"] == field
    assert client.get("/v1/debtors/D1/requests", headers=keys["root"]).json() == []
    assert _contact(client, keys["carl"]).json()["allowed"]


def test_an_attorney_is_contacted_only_while_on_record(overdue):
    _app, client, keys = overdue
    first = client.post("/v1/debtors/D1/contacts", headers=keys["root"],
                        json={"role": "attorney", "name": "A", "number": "13900139000"}).json()  # fmt: skip
    other = client.post("/v1/debtors/D1/contacts", headers=keys["root"],
                        json={"role": "attorney", "name": "B", "number": "13900139001"}).json()  # fmt: skip
    early = _contact(client, keys["carl"], contact_id=first["contact_id"]).json()
    assert not early["allowed"] and "attorney" in {b["rule"] for b in early["breaches"]}
    body = {"kind": "represented", "attorney_contact_id": first["contact_id"], "reason": "counsel"}
    assert (
        client.post("/v1/debtors/D1/requests", json=body, headers=keys["carl"]).status_code == 200
    )
    wrong = _contact(client, keys["carl"], contact_id=other["contact_id"])
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "contact_id"


def test_a_third_party_gets_only_an_approved_locate_script_and_only_when_the_debtor_is_unreachable(
    overdue, clock
):
    _app, client, keys = overdue
    person = {
        "role": "third_party",
        "name": "Wang Wu",
        "relation": "friend",
        "number": "13700137000",
    }
    friend = client.post("/v1/debtors/D1/contacts", json=person, headers=keys["root"]).json()
    asked = _contact(client, keys["carl"], contact_id=friend["contact_id"], template_id="locate_zh")
    assert asked.status_code == 200
    assert "third_party_locate" in {b["rule"] for b in asked.json()["breaches"]}  # reachable
    for k in range(3):  # three unanswered calls: right-party contact has failed
        clock.now = dt.datetime(2026, 11, 24, 1 + k, tzinfo=dt.UTC)
        made = _contact(client, keys["carl"]).json()
        assert made["allowed"], made
        client.post(f"/v1/contacts/{made['log_id']}/outcome",
                    json={"outcome": "unanswered", "recording_id": f"r{k}"}, headers=keys["carl"])  # fmt: skip
    clock.now = dt.datetime(2026, 11, 24, 5, tzinfo=dt.UTC)
    script = _contact(
        client, keys["carl"], contact_id=friend["contact_id"], template_id="call_script"
    )
    assert "third_party_script" in {b["rule"] for b in script.json()["breaches"]}
    locate = _contact(
        client, keys["carl"], contact_id=friend["contact_id"], template_id="locate_zh"
    )
    assert locate.json()["allowed"], locate.json()
