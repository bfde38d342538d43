"""One JSON error shape for every failure, and the only place HTTP status codes live.

``{"error": {"type": ..., "message": ..., "field": ..., "problems": [...]}}`` — validation
errors name the field (``body.application.age``), file problems list every one.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from fengkong.errors import (
    ConfigError,
    FengkongError,
    InvalidArgumentError,
    NotFoundError,
    WorkflowError,
)

__all__ = ["AuthError", "ForbiddenError", "StorageError", "error_body", "install_error_handlers"]


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


def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]
    first = problems[0]["path"] if problems else None
    message = "; ".join(f"{p['path']}: {p['message']}" for p in problems)
    return JSONResponse(error_body("ValidationError", message, field=first, problems=problems), 422)


def install_error_handlers(app: FastAPI) -> None:
    """Map fengkong's errors and request validation to the error shape."""
    app.add_exception_handler(FengkongError, _fengkong)
    app.add_exception_handler(RequestValidationError, _validation)
