"""Request dependencies: a database session per request and the caller's principal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from fengkong.api.errors import AuthError, ForbiddenError
from fengkong.services.access import Principal

__all__ = ["SessionDep", "db_session", "require"]


def db_session(request: Request) -> Iterator[Session]:
    """A session in a transaction, committed when the request succeeds."""
    with request.app.state.sessions.begin() as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency admitting only keys with one of ``roles``."""

    def check(
        request: Request,
        x_api_key: Annotated[str | None, Header()] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Principal:
        key = x_api_key or (
            authorization.removeprefix("Bearer ").strip() if authorization else None
        )
        who: Principal | None = request.app.state.keys.get(key, request.app.state.sessions)
        if who is None:
            raise AuthError("an API key is required (X-API-Key or Authorization: Bearer)")
        if who.role not in roles:
            raise ForbiddenError(
                f"the role {who.role!r} may not do this (allowed: {', '.join(roles)})"
            )
        request.state.principal = who
        return who

    return check
