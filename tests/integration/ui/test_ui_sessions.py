"""UI sessions: the cookie holds a random id (never the key), the database only its hash, bound
to the key with an expiry; any worker knows it; logout, expiry and revocation end it; the cookie
is HttpOnly, SameSite=Lax and Secure over HTTPS; every UI POST checks the session's CSRF token."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from fengkong.api import create_app
from fengkong.db import ApiKeyRecord, CollectionCaseRecord, UiSessionRecord
from fengkong.services.access import create_api_key
from fengkong.settings import Settings
from fengkong.ui.views import router

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def workers(tmp_path):
    """Two apps over one SQLite database: two workers of one service."""
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    apps = [create_app(Settings(database_url=url, data_dir=tmp_path), clock=lambda: NOW)
            for _ in range(2)]  # fmt: skip
    keys = {}
    with apps[0].state.sessions.begin() as s:
        for name, role, subject in (("alice", "risk_analyst", None), ("carl", "collector", "C-7"),
                                    ("root", "admin", None)):  # fmt: skip
            keys[name] = create_api_key(s, name=name, role=role, subject=subject, at=NOW)
        s.add(CollectionCaseRecord(
            case_id="K1", borrower_id="D1", status="open", stage="early", max_dpd=12,
            overdue_fen=50_000, balance_fen=400_000, loans=[], placement=None, p_pay=0.4,
            assigned_to="C-7", plan=[], phone="13800138000", time_zone="Asia/Shanghai",
            opened_on=NOW.date(), updated_on=NOW.date(),
        ))  # fmt: skip
    yield apps, keys
    for app in apps:
        app.state.engine.dispose()


def _token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found is not None, "the page has no form token"
    return found[1]


def _login(client: TestClient, key: str) -> str:
    token = _token(client.get("/ui/login").text)
    done = client.post("/ui/login", data={"key": key, "csrf": token}, follow_redirects=False)
    assert done.status_code == 303, done.text
    return done.headers["set-cookie"]


def _sessions(app) -> list[UiSessionRecord]:
    with app.state.sessions() as s:
        return list(s.scalars(select(UiSessionRecord)))


def test_the_cookie_is_a_random_session_id_stored_only_as_its_hash(workers):
    (app, _), keys = workers
    client = TestClient(app)
    header = _login(client, keys["alice"])
    session_id = client.cookies["fk_session"]
    assert keys["alice"] not in header and "fk_key" not in header
    assert len(session_id) >= 40 and session_id != keys["alice"]
    assert "httponly" in header.lower() and "samesite=lax" in header.lower()
    assert "secure" not in header.lower()  # plain HTTP: a Secure cookie would never come back
    (stored,) = _sessions(app)
    assert stored.id_hash == hashlib.sha256(session_id.encode()).hexdigest()
    assert session_id not in repr(stored.__dict__)
    expires = stored.expires_at.replace(tzinfo=stored.expires_at.tzinfo or dt.UTC)
    assert dt.timedelta(hours=1) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=8)
    assert client.get("/ui", follow_redirects=False).status_code == 200
    client.cookies.clear()
    client.cookies.set("fk_key", keys["alice"])  # the old cookie: the key itself opens nothing
    assert client.get("/ui", follow_redirects=False).status_code == 303


def test_over_https_the_cookie_is_secure(workers):
    (app, _), keys = workers
    client = TestClient(app, base_url="https://testserver")
    header = _login(client, keys["alice"])
    assert "secure" in header.lower()


def test_a_session_made_on_one_worker_works_on_the_other(workers):
    (one, two), keys = workers
    client = TestClient(one)
    _login(client, keys["alice"])
    other = TestClient(two)
    other.cookies.set("fk_session", client.cookies["fk_session"])
    page = other.get("/ui/decisions", follow_redirects=False)
    assert page.status_code == 200 and "alice" in page.text


def test_logout_expiry_and_revocation_end_the_session(workers):
    (app, _), keys = workers
    client = TestClient(app)
    _login(client, keys["alice"])
    stolen = client.cookies["fk_session"]
    token = _token(client.get("/ui").text)
    assert client.post("/ui/logout", data={"csrf": "wrong"}).status_code == 403
    assert len(_sessions(app)) == 1
    done = client.post("/ui/logout", data={"csrf": token}, follow_redirects=False)
    assert done.status_code == 303 and _sessions(app) == []
    replay = TestClient(app)
    replay.cookies.set("fk_session", stolen)
    assert replay.get("/ui", follow_redirects=False).status_code == 303

    _login(client, keys["alice"])
    with app.state.sessions.begin() as s:
        s.execute(update(UiSessionRecord).values(expires_at=NOW - dt.timedelta(days=400)))
    assert client.get("/ui", follow_redirects=False).status_code == 303

    _login(client, keys["alice"])
    assert client.get("/ui", follow_redirects=False).status_code == 200
    with app.state.sessions.begin() as s:
        s.execute(update(ApiKeyRecord).where(ApiKeyRecord.name == "alice").values(revoked=True))
    assert client.get("/ui", follow_redirects=False).status_code == 303


def test_login_needs_its_form_token_and_a_live_key(workers):
    (app, _), keys = workers
    client = TestClient(app)
    refused = client.post("/ui/login", data={"key": keys["alice"]}, follow_redirects=False)
    assert refused.status_code == 403 and _sessions(app) == []
    token = _token(client.get("/ui/login").text)
    forged = TestClient(app)  # another browser: the token without its cookie
    assert forged.post("/ui/login", data={"key": keys["alice"], "csrf": token}).status_code == 403
    wrong = client.post("/ui/login", data={"key": "fk_nope", "csrf": token})
    assert wrong.status_code == 401 and _sessions(app) == []


POSTS = sorted(
    {(r.path, m) for r in router.routes for m in getattr(r, "methods", ()) if m == "POST"}
    - {("/ui/login", "POST")}
)


@pytest.mark.parametrize("path", [p for p, _ in POSTS])
def test_every_ui_post_refuses_a_missing_or_foreign_token(workers, path):
    (app, _), keys = workers
    mine, theirs = TestClient(app), TestClient(app)
    _login(mine, keys["root"])
    _login(theirs, keys["root"])
    foreign = _token(theirs.get("/ui").text)
    url = path.replace("{case_id}", "K1")
    form = {"application": "{}", "champion": "a@1", "challenger": "b@1", "channel": "sms",
            "template_id": "reminder", "kind": "dispute", "reason": "x", "amount_fen": "100",
            "due_on": NOW.date().isoformat()}  # fmt: skip
    for token in (None, "", foreign, "0" * 64):
        data = form if token is None else {**form, "csrf": token}
        response = mine.post(url, data=data, follow_redirects=False)
        assert response.status_code == 403, (url, token, response.status_code)
    assert len(_sessions(app)) == 2  # nothing was done: still both sessions (logout refused)


def test_the_right_token_is_accepted(workers):
    (app, _), keys = workers
    client = TestClient(app)
    _login(client, keys["carl"])
    page = client.get("/ui/cases/K1")
    assert page.status_code == 200 and "13800138000" not in page.text  # a collector: masked
    done = client.post("/ui/cases/K1/promise", follow_redirects=False,
                       data={"amount_fen": "10000", "due_on": NOW.date().isoformat(),
                             "csrf": _token(page.text)})  # fmt: skip
    assert done.status_code == 303, done.text
