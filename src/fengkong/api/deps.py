"""Request dependencies: a database session per request and the caller's principal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fengkong.api.errors import AuthError, ForbiddenError, StorageError
from fengkong.errors import WorkflowError
from fengkong.services.access import Principal

__all__ = ["SessionDep", "db_session", "require"]


def db_session(request: Request) -> Iterator[Session]:
    """A session in a transaction, committed when the route returns and before the response
    is sent (the dependency's scope is the route function): a 2xx means the write is
    committed and visible to the next request on any worker. A commit that fails answers
    409 (a constraint: a concurrent write got there first) or 503, with nothing written; so
    does a write in the route that fails the same way (never a 500). Write paths take their
    row lock as their first statement, so identical concurrent requests queue behind each
    other instead of failing (see docs/service.md, "Concurrent identical requests")."""
    session: Session = request.app.state.sessions()
    try:
        try:
            yield session
        except IntegrityError as exc:  # a flush in the route lost a race to a concurrent write
            raise WorkflowError("write", current="conflict", reason=_first_line(exc)) from exc
        except OperationalError as exc:  # a lock or serialization failure: nothing was stored
            raise StorageError(
                f"the database was busy and nothing was stored ({type(exc).__name__}); try again"
            ) from exc
        try:
            session.commit()
        except IntegrityError as exc:
            raise WorkflowError(
                "commit the write", current="conflict", reason=_first_line(exc)
            ) from exc
        except SQLAlchemyError as exc:
            raise StorageError(
                f"the write could not be committed and nothing was stored ({type(exc).__name__}); "
                "try again"
            ) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _first_line(exc: Exception) -> str:
    """The database's own message, without the SQL and its parameters."""
    orig = getattr(exc, "orig", None) or exc
    return str(orig).splitlines()[0][:200]


SessionDep = Annotated[Session, Depends(db_session, scope="function")]

# the two ways to send a key, as OpenAPI security schemes (/docs has an "Authorize" button)
_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
_BEARER = HTTPBearer(auto_error=False, description="An API key as a bearer token.")


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only keys with one of ``roles``.

    It runs on the event loop (a sync dependency would cost every request a hop to the
    thread pool and back); only a key missing from the cache is looked up in the database,
    in the thread pool.
    """

    async def check(
        request: Request,
        x_api_key: Annotated[str | None, Security(_API_KEY)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
    ) -> Principal:
        key = x_api_key or (bearer.credentials if bearer else None)
        keys = request.app.state.keys
        who: Principal | None = keys.cached(key)
        if who is None and key:
            who = await run_in_threadpool(keys.get, key, request.app.state.sessions)
        if who is None:
            raise AuthError("an API key is required (X-API-Key or Authorization: Bearer)")
        if who.role not in roles:
            raise ForbiddenError(
                f"the role {who.role!r} may not do this (allowed: {', '.join(roles)})"
            )
        request.state.principal = who
        return who

    return check
