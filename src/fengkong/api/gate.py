"""The door in front of every route: who is calling is known before a byte of the body is
read, and no body larger than the limit is read at all.

A pure ASGI middleware (no buffering): for the API (``/v1/…``) a request without a live key
gets 401 before its body is read — a malformed or huge body from an unknown caller costs
nothing; a body whose ``Content-Length`` is above ``max_body_bytes`` gets 413 at once, and a
body sent without a length is counted as it streams and cut at the limit (413). Errors come in
the service's one shape (:func:`fengkong.api.errors.error_body`). A path or query carrying a
NUL character (which no database text column stores) is a 422 before any route runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from fengkong.api.errors import error_body

__all__ = ["Gate"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: API paths open to anyone (health, metrics, the schema and its docs).
OPEN = ("/v1/health",)


class _TooLargeError(Exception):
    pass


async def _answer(send: Send, status: int, kind: str, message: str) -> None:
    body = orjson.dumps(error_body(kind, message))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Gate:
    """See the module's docs; ``app_state`` gives the key cache and sessions."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, app_state: Any) -> None:
        self.app, self.limit, self.state = app, max_body_bytes, app_state

    async def _known(self, key: str) -> bool:
        keys = self.state.keys
        if keys.cached(key) is not None:
            return True
        return await run_in_threadpool(keys.get, key, self.state.sessions) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        path: str = scope["path"]
        query: bytes = scope.get("query_string", b"")
        if "\x00" in path or b"%00" in query.lower() or b"\x00" in query:
            await _answer(send, 422, "ValidationError",
                          "path and query: expected text without NUL characters")  # fmt: skip
            return
        if path.startswith("/v1/") and not path.startswith(OPEN):
            key = headers.get(b"x-api-key", b"").decode("latin-1")
            bearer = headers.get(b"authorization", b"").decode("latin-1")
            if not key and bearer.lower().startswith("bearer "):
                key = bearer[7:].strip()
            if not key or len(key) > 256 or not await self._known(key):
                await _answer(send, 401, "AuthError",
                              "an API key is required (X-API-Key or Authorization: Bearer)")  # fmt: skip
                return
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _answer(send, 413, "PayloadTooLarge",
                          f"the body is larger than the limit of {self.limit} bytes")  # fmt: skip
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLargeError
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLargeError:
            if not started:
                await _answer(send, 413, "PayloadTooLarge",
                              f"the body is larger than the limit of {self.limit} bytes")  # fmt: skip
