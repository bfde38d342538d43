"""Issue 25 part 1: who is calling is known before the body is read, no body above the limit
is read, and every error — Starlette's own included — comes in the one shape."""

import asyncio
import datetime as dt

import pytest
from fastapi.testclient import TestClient

from fengkong.api import create_app
from fengkong.api.gate import Gate
from fengkong.services.access import create_api_key
from fengkong.settings import Settings

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gate")
    app = create_app(Settings(data_dir=folder, max_body_bytes=64 * 1024), clock=lambda: NOW)
    with app.state.sessions.begin() as s:
        key = create_api_key(s, name="root", role="admin", at=NOW)
    return app, TestClient(app), {"X-API-Key": key}


def test_malformed_json_without_a_key_is_401_not_422(api):
    _app, client, _ = api
    r = client.post(
        "/v1/decisions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 401 and r.json()["error"]["type"] == "AuthError"
    unknown = client.post("/v1/decisions", content=b"{not json", headers={"X-API-Key": "fk_nope"})
    assert unknown.status_code == 401


def test_a_body_above_the_limit_is_413_before_parsing(api):
    _app, client, key = api
    big = b'{"application": {"x": "' + b"a" * (70 * 1024) + b'"}}'
    r = client.post(
        "/v1/decisions", content=big, headers=key | {"content-type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"]["type"] == "PayloadTooLarge"
    many = "{" + ",".join(f'"k{i}": {i}' for i in range(300_000)) + "}"
    assert client.post("/v1/decisions", content=many.encode(), headers=key).status_code == 413


class _Recorder:
    """A downstream app and a receive channel that record what was read."""

    def __init__(self, chunks):
        self.chunks, self.read, self.reached = list(chunks), 0, False

    async def receive(self):
        self.read += 1
        body = self.chunks.pop(0) if self.chunks else b""
        return {"type": "http.request", "body": body, "more_body": bool(self.chunks)}

    async def app(self, scope, receive, send):
        self.reached = True
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _call(gate_app, recorder, headers):
    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": "/v1/decisions", "method": "POST", "headers": headers}
    asyncio.run(gate_app(scope, recorder.receive, send))
    return sent[0]["status"]


def test_no_byte_of_the_body_is_read_without_a_key(api):
    app, _, _ = api
    recorder = _Recorder([b"x" * 1024] * 25_000)  # a 25 MB body
    gate = Gate(recorder.app, max_body_bytes=64 * 1024, app_state=app.state)
    assert _call(gate, recorder, [(b"content-type", b"application/json")]) == 401
    assert recorder.read == 0 and not recorder.reached


def test_a_streamed_body_without_a_length_is_cut_at_the_limit(api):
    app, _, key = api
    recorder = _Recorder([b"x" * 1024] * 1000)
    gate = Gate(recorder.app, max_body_bytes=64 * 1024, app_state=app.state)
    status = _call(gate, recorder, [(b"x-api-key", key["X-API-Key"].encode())])
    assert status == 413
    assert recorder.read <= 65  # stopped at the limit, not after 1,000 chunks


def test_every_error_has_the_one_shape(api):
    _app, client, key = api
    for response in (
        client.get("/nope"),
        client.get("/v1/nope", headers=key),
        client.delete("/v1/decisions", headers=key),
        client.post(
            "/v1/decisions", content=b"\xff\xfe", headers=key | {"content-type": "application/json"}
        ),
    ):
        body = response.json()
        assert set(body) == {"error"}, (response.status_code, body)
        assert {"type", "message", "field", "problems"} <= set(body["error"])
    allowed = client.delete("/v1/decisions", headers=key)
    assert allowed.status_code == 405 and set(allowed.headers["allow"].split(", ")) == {
        "GET",
        "POST",
    }


def test_the_openapi_lists_every_error_status(api):
    app, _, _ = api
    paths = app.openapi()["paths"]
    for path, ops in paths.items():
        if not path.startswith("/v1/"):
            continue
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"401", "403", "404", "409", "413", "422", "503"} <= codes, (method, path)


def test_a_storage_error_never_echoes_sql(api):
    from fengkong.api.writer import _without_sql  # noqa: PLC0415

    raw = ("StatementError: (builtins.TypeError) Integer exceeds 64-bit range\n"
           "[SQL: INSERT INTO decisions (id) VALUES (?)]\n[parameters: [{'id': 'x'}]]")  # fmt: skip
    message = _without_sql(raw)
    assert "INSERT" not in message and "parameters" not in message
    assert "Integer exceeds 64-bit range" in message
