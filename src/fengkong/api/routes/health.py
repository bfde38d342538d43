"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready")
def ready(request: Request) -> dict[str, str]:
    """The database answers and the default policy has an active version."""
    with request.app.state.sessions() as session:
        session.execute(text("SELECT 1"))
    policy = request.app.state.policies.active(request.app.state.default_policy)
    return {"status": "ready", "policy": f"{policy.name}@{policy.version}"}


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus metrics: request latency, decisions, guardrail blocks, the graph's counters."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
