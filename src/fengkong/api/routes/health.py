"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from fengkong.errors import NotFoundError

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", response_model=None)
def ready(request: Request) -> dict[str, str] | JSONResponse:
    """The database answers, the default policy has an active version, and the worker's
    online state can take a live application now (503 with the reasons when it cannot)."""
    state = request.app.state
    with state.sessions() as session:
        session.execute(text("SELECT 1"))
    try:
        policy = state.policies.active(state.default_policy)
    except NotFoundError as exc:  # no active policy: not ready (503), not "not found"
        return JSONResponse({"status": "not ready", "problems": [str(exc)]}, status_code=503)
    problems = state.online.problems(state.clock())
    if problems:
        return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
    return {"status": "ready", "policy": f"{policy.name}@{policy.version}"}


@router.get("/metrics", include_in_schema=False)  # Prometheus text, not JSON
def metrics(request: Request) -> Response:
    """Prometheus metrics: request latency, decisions, guardrail blocks, the graph's counters."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
