"""The HTTP service: ``create_app(settings)`` builds a FastAPI app over the configured database.

Routes: ``/v1/decisions`` (decide — stored with the full audit record —, search, trace),
``/v1/policies`` (versions, validate, promote with maker-checker; rollback), ``/v1/loans``,
``/v1/contacts`` (guardrails server-side, contact log), ``/v1/collections`` (queue, case,
promises), ``/v1/portfolio`` (KPIs, vintages, roll rates), the web UI under ``/ui``, ``/health``, ``/ready``, ``/metrics`` (Prometheus);
OpenAPI at ``/docs``. Every route but health and metrics needs an API key (``X-API-Key``);
its role decides what it may do.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fengkong.api.errors import ERROR_RESPONSES, install_error_handlers
from fengkong.api.gate import Gate
from fengkong.api.routes import (
    collections,
    contacts,
    debtors,
    decisions,
    health,
    loans,
    notices,
    policies,
    portfolio,
)
from fengkong.api.state import KeyCache, Metrics, PolicyCache
from fengkong.api.writer import DecisionWriter, WalCheckpointer
from fengkong.db import make_engine, migrate, session_factory
from fengkong.services.online import OnlineState
from fengkong.settings import Settings
from fengkong.ui import views as ui

__all__ = ["create_app"]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _redis_stores(url: str) -> Callable[[str], object]:
    """Variable state shared by every worker through Redis, one key prefix per spec version
    (its name and content hash)."""
    import redis  # noqa: PLC0415 (only with FENGKONG_REDIS_URL)

    from fengkong.features import load_spec  # noqa: PLC0415
    from fengkong.services.feature_store import RedisStateStore, state_prefix  # noqa: PLC0415

    client = redis.Redis.from_url(url)
    return lambda spec: RedisStateStore(client, prefix=state_prefix(load_spec(spec)))


class _Timing:
    """Request latency by route into the Prometheus histogram — a plain ASGI middleware
    (Starlette's ``BaseHTTPMiddleware`` costs a task and a stream per request)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = ["500"]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.metrics.latency.labels(scope["method"], path, status[0]).observe(
                time.perf_counter() - started
            )


def create_app(
    settings: Settings | None = None,
    *,
    default_policy: str = "credit",
    clock: Callable[[], dt.datetime] = _utc_now,
    online: OnlineState | None = None,
) -> FastAPI:
    """A configured app: migrations applied, routes, error shape, metrics.

    ``online``: a prepared variable and graph state (``fengkong demo`` seeds one from its
    book); by default each worker starts empty, or shares variables through Redis.
    """
    settings = settings or Settings()
    engine = make_engine(settings)
    migrate(engine)
    app = FastAPI(
        title="fengkong",
        version="1",
        description="Credit risk control: real-time decisions, policies, collections.",
    )
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.limits = settings.expression_limits()
    app.state.policies = PolicyCache(app.state.sessions, limits=app.state.limits)
    app.state.metrics = Metrics()
    app.state.keys = KeyCache()
    app.state.writer = DecisionWriter(engine)
    app.state.checkpointer = (
        WalCheckpointer(engine)
        if engine.dialect.name == "sqlite" and ":memory:" not in str(engine.url)
        else None
    )
    app.state.online = online or OnlineState(
        _redis_stores(settings.redis_url) if settings.redis_url else None
    )
    # the window a caller's applied_at must fall in, around this server's clock
    app.state.online.late = dt.timedelta(seconds=settings.decision_late_seconds)
    app.state.online.skew = dt.timedelta(seconds=settings.decision_skew_seconds)
    app.state.metrics.watch_graph(lambda: app.state.online.graph)
    app.state.default_policy = default_policy
    app.state.clock = clock
    install_error_handlers(app)
    app.add_middleware(Gate, max_body_bytes=settings.max_body_bytes, app_state=app.state)
    routers = (
        health,
        decisions,
        policies,
        loans,
        contacts,
        collections,
        notices,
        debtors,
        portfolio,
    )
    for module in routers:
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.include_router(ui.router)

    app.add_middleware(_Timing, metrics=app.state.metrics)
    return app
