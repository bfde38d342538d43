"""Maker-checker through the API on SQLite and PostgreSQL: the actor is the authenticated
key's holder, compared as a normalised identity, so a key whose name is a look-alike of the
author's (``Alice``, ``alice ``, ``ＡＬＩＣＥ``, ``ａｌｉｃｅ``, …) cannot approve; a body
cannot name an actor; a look-alike key name cannot be created beside the real one."""

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from fengkong.db.models import ApiKeyRecord, AuditLogRecord, PolicyEventRecord, PolicyVersionRecord
from fengkong.errors import InvalidArgumentError
from fengkong.services.access import create_api_key

LOOK_ALIKES = ["Alice", "alice ", "  ALICE", "ＡＬＩＣＥ", "ａｌｉｃｅ", "𝐚𝐥𝐢𝐜𝐞", "ⓐⓛⓘⓒⓔ"]
PROMOTE = "/v1/policies/credit/versions/1/promote"
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


def _legacy_keys(app) -> dict[str, dict[str, str]]:
    """Keys named as a look-alike of alice, stored as before names were normalised."""
    headers = {}
    with app.state.sessions.begin() as s:
        for n, name in enumerate(LOOK_ALIKES):
            key = f"fk_look_alike_{n}"
            s.add(ApiKeyRecord(name=name, role="risk_analyst", subject=None, created_at=NOW,
                               key_hash=hashlib.sha256(key.encode()).hexdigest()))  # fmt: skip
            headers[name] = {"X-API-Key": key}
    return headers


def _status(app) -> str:
    with app.state.sessions() as s:
        return s.scalar(
            select(PolicyVersionRecord.status).where(PolicyVersionRecord.name == "credit")
        )


def test_a_look_alike_of_the_author_cannot_approve_and_a_second_person_can(service):
    app, client, keys = service
    for name, headers in _legacy_keys(app).items():
        own = client.post(PROMOTE, json={"to": "approved"}, headers=headers)
        assert own.status_code == 409, (name, own.text)
        assert "maker-checker" in own.json()["error"]["message"]
    assert _status(app) == "draft"
    ok = client.post(PROMOTE, json={"to": "approved"}, headers=keys["bob"])
    assert ok.status_code == 200 and ok.json()["approved_by"] == "bob"
    with app.state.sessions() as s:
        assert s.scalars(select(PolicyEventRecord.actor)).all() == ["alice", "bob"]
        promotions = select(AuditLogRecord.actor).where(AuditLogRecord.action != "key.create")
        assert s.scalars(promotions).all() == ["bob"]  # refusals write nothing


def test_the_actor_never_comes_from_the_body(service):
    app, client, keys = service
    for body in ({"to": "approved", "actor": "bob"}, {"to": "approved", "by": "bob"},
                 {"to": "approved", "approved_by": "bob"}):  # fmt: skip
        sent = client.post(PROMOTE, json=body, headers=keys["alice"])
        assert sent.status_code == 422, sent.text
    assert _status(app) == "draft"
    own = client.post(PROMOTE, json={"to": "approved"}, headers=keys["alice"])
    assert own.status_code == 409  # and the server still serves


@pytest.mark.parametrize("name", ["Alice", " ａｌｉｃｅ ", "ＡＬＩＣＥ"])
def test_a_key_cannot_be_created_for_a_look_alike_of_an_existing_holder(service, name):
    app, _client, _keys = service
    with app.state.sessions() as s:
        with pytest.raises(InvalidArgumentError, match=r"^name: .*a key for 'alice' exists"):
            create_api_key(s, name=name, role="risk_analyst", at=NOW)
        with pytest.raises(InvalidArgumentError, match=r"^name: .*control or invisible"):
            create_api_key(s, name="eve\u200b", role="risk_analyst", at=NOW)
        assert create_api_key(s, name=" Ｅｖｅ ", role="auditor", at=NOW).startswith("fk_")
        names = s.scalars(select(ApiKeyRecord.name).where(ApiKeyRecord.role == "auditor"))
        assert sorted(names) == ["audrey", "eve"]  # stored normalised
