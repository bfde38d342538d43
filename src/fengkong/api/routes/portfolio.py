"""Portfolio: KPIs, vintage curves and roll rates from the servicing database."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from fengkong.api.deps import SessionDep, require
from fengkong.policy.audit import json_ready
from fengkong.services.access import Principal
from fengkong.services.dashboard import kpis, roll_rates, vintage_curves

router = APIRouter(prefix="/v1/portfolio", tags=["portfolio"])
Readers = Annotated[Principal, Depends(require("admin", "risk_analyst", "auditor"))]


@router.get("/kpis")
def headline(session: SessionDep, who: Readers) -> dict[str, Any]:
    """Loans by status, outstanding principal, 30+/90+ shares, approval rate."""
    return kpis(session)


@router.get("/vintages")
def vintages(
    session: SessionDep,
    who: Readers,
    bucket: Annotated[str, Query(pattern="^(M1|M2|M3|M4|M5|M6|M7\\+)$")] = "M2",
) -> list[dict[str, Any]]:
    """Share of each disbursement month's loans ever at ``bucket`` or worse, by month on book."""
    return json_ready(vintage_curves(session, bucket=bucket).to_dicts())  # type: ignore[no-any-return]


@router.get("/roll-rates")
def rolls(session: SessionDep, who: Readers) -> list[dict[str, Any]]:
    """Month-end roll rates from each bucket to a worse one."""
    return json_ready(roll_rates(session).to_dicts())  # type: ignore[no-any-return]
