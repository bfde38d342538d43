"""Policies: versions, validation, promotion (maker-checker; rollback = activating an older one).

Who acts is the authenticated principal (the key's holder), normalised by the service; a
request body cannot name an actor (``PromoteIn`` forbids extra fields).
"""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Path, Query, Request

from fengkong._yaml_strict import strict_yaml
from fengkong.api.deps import SessionDep, require
from fengkong.api.schemas import PromoteIn, ValidateIn
from fengkong.errors import ConfigError
from fengkong.policy import check_policy
from fengkong.services.access import Principal, audit_write
from fengkong.services.policies import POLICY_EDITORS, list_versions, promote

router = APIRouter(prefix="/v1/policies", tags=["policies"])
Analysts = Annotated[Principal, Depends(require(*POLICY_EDITORS))]
Readers = Annotated[Principal, Depends(require("admin", "risk_analyst", "auditor"))]


@router.get("")
def versions(
    session: SessionDep, who: Readers, name: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    """Every stored version with its status, author and approver."""
    return [
        {
            "name": v.name,
            "version": v.version,
            "status": v.status,
            "author": v.author,
            "approved_by": v.approved_by,
            "sha256": v.sha256,
            "created_at": v.created_at.isoformat(),
        }
        for v in list_versions(session, name)
    ]


@router.post("/validate")
def validate(body: ValidateIn, request: Request, who: Analysts) -> dict[str, Any]:
    """Check a policy file's text: ``ok`` and every problem with its path (artifacts are not
    resolved); text that is not a YAML mapping is a problem too, not an error."""
    try:
        data = strict_yaml(body.text)
    except yaml.YAMLError as exc:
        return {"ok": False, "problems": [{"path": "", "message": f"not valid YAML: {exc}"}]}
    except ConfigError as exc:
        return {
            "ok": False,
            "problems": [{"path": p.path, "message": p.message} for p in exc.problems],
        }
    if not isinstance(data, dict):
        return {"ok": False, "problems": [{"path": "", "message": "expected a mapping"}]}
    _, problems = check_policy(data, file="<body>", limits=request.app.state.limits)
    return {
        "ok": not problems,
        "problems": [{"path": p.path, "message": p.message} for p in problems],
    }


@router.post("/{name}/versions/{version}/promote")
def promote_version(
    name: Annotated[str, Path(max_length=64)],
    version: Annotated[str, Path(max_length=32)],
    body: PromoteIn,
    request: Request,
    session: SessionDep,
    who: Analysts,
) -> dict[str, Any]:
    """Approve (never the author), activate (the previous active retires; an older version:
    rollback) or retire a version."""
    state = request.app.state
    at = state.clock()
    info = promote(session, name, version, to=body.to, actor=who.name, at=at, note=body.note)
    audit_write(session, who, f"policy.{body.to}", f"{name}@{version}", at=at, note=body.note)
    state.policies.forget(name)
    return {
        "name": info.name,
        "version": info.version,
        "status": info.status,
        "approved_by": info.approved_by,
    }
