"""One JSON error shape for every failure, and the only place HTTP status codes live.

``{"error": {"type": ..., "message": ..., "field": ..., "problems": [...]}}`` — validation
errors name the field (``body.application.age``), file problems list every one.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from fengkong.errors import (
    ConfigError,
    FengkongError,
    InvalidArgumentError,
    NotFoundError,
    WorkflowError,
)

__all__ = [
    "ERROR_RESPONSES",
    "AuthError",
    "ErrorOut",
    "ForbiddenError",
    "StorageError",
    "error_body",
    "install_error_handlers",
]


class AuthError(FengkongError):
    """No key, or a key that is unknown or revoked."""


class ForbiddenError(FengkongError):
    """The key's role may not do this."""


class StorageError(FengkongError):
    """A decision was made but its audit record could not be stored: the service answers
    503, because without its record the decision does not count."""


_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (AuthError, 401),
    (StorageError, 503),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (WorkflowError, 409),
    (ConfigError, 422),
    (InvalidArgumentError, 422),
)


class _Problem(BaseModel):
    path: str | None = None
    message: str
    file: str | None = None
    line: int | None = None


class _Error(BaseModel):
    type: str
    message: str
    field: str | None
    problems: list[_Problem]


class ErrorOut(BaseModel):
    """Every error of the service: what went wrong, the field it names, every problem."""

    error: _Error


#: The error statuses an API route may answer, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body is not readable JSON."},
    401: {"model": ErrorOut, "description": "No key, or an unknown or revoked key."},
    403: {"model": ErrorOut, "description": "The key's role may not do this."},
    404: {"model": ErrorOut, "description": "Not found (or not the caller's to see)."},
    409: {"model": ErrorOut, "description": "Not allowed in the object's current state."},
    413: {"model": ErrorOut, "description": "The body is larger than the service's limit."},
    422: {"model": ErrorOut, "description": "A value is invalid: the field is named."},
    503: {"model": ErrorOut, "description": "The write could not be stored; nothing was."},
}


def error_body(
    kind: str, message: str, *, field: str | None = None, problems: list[Any] | None = None
) -> dict[str, Any]:
    """The error shape."""
    return {"error": {"type": kind, "message": message, "field": field, "problems": problems or []}}


def _fengkong(_: Request, exc: Exception) -> JSONResponse:
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    problems = (
        [
            {"file": p.file, "path": p.path, "line": p.line, "message": p.message}
            for p in exc.problems
        ]
        if isinstance(exc, ConfigError)
        else []
    )
    field = exc.field if isinstance(exc, InvalidArgumentError) else None
    return JSONResponse(
        error_body(type(exc).__name__, str(exc), field=field, problems=problems), status
    )


_NAMED = re.compile(r"^Value error, ([A-Za-z_][\w.\[\]]*): (.*)$", re.DOTALL)


def _problem(e: Any) -> dict[str, str]:
    """One validation problem; a validator that names a deeper path (``application.age: …``)
    gets that path (``body.application.age``)."""
    path, message = ".".join(str(p) for p in e["loc"]), str(e["msg"])
    named = _NAMED.match(message)
    if named and path == "body":  # a whole-body validator naming the field
        return {"path": f"body.{named.group(1)}", "message": named.group(2)}
    if named and path.endswith(named.group(1).split(".")[0]):
        return {"path": f"{path.rsplit('.', 1)[0]}.{named.group(1)}", "message": named.group(2)}
    return {"path": path, "message": message}


def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(e) for e in exc.errors()]
    first = problems[0]["path"] if problems else None
    message = "; ".join(f"{p['path']}: {p['message']}" for p in problems)
    return JSONResponse(error_body("ValidationError", message, field=first, problems=problems), 422)


_HTTP_KINDS = {
    400: "BadRequest",
    404: "NotFoundError",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
}


def _allowed(request: Request) -> str:
    """Every method the schema documents at this path (Starlette names only one route's)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {m.upper() for m in operations}
    return ", ".join(sorted(methods))


def _http(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (an unknown path, a wrong method, unreadable JSON) in the same
    shape; a 405 lists in ``Allow`` every method of the path."""
    assert isinstance(exc, StarletteHTTPException)
    kind = _HTTP_KINDS.get(exc.status_code, "HTTPError")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed(request)
    return JSONResponse(error_body(kind, str(exc.detail)), exc.status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map fengkong's errors, request validation and Starlette's HTTP errors to the error shape."""
    app.add_exception_handler(FengkongError, _fengkong)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
