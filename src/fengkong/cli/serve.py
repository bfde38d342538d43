"""``fengkong serve`` and ``fengkong apikey``: run the HTTP service; manage its API keys."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from fengkong.cli._console import console, database_sessions, user_errors

apikey_app = typer.Typer(
    help="API keys of the service (shown once; stored hashed).", no_args_is_help=True
)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    policy: Annotated[
        str, typer.Option(help="The policy POST /v1/decisions uses by default.")
    ] = "credit",
) -> None:
    """Serve the API (OpenAPI at /docs) over FENGKONG_DATABASE_URL (SQLite by default)."""
    import os  # noqa: PLC0415 (the edge reads the environment)

    import uvicorn  # noqa: PLC0415 (only when serving)

    os.environ["FENGKONG_SERVE_POLICY"] = policy
    uvicorn.run(
        "fengkong.cli.serve:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


def app_from_environment() -> object:
    """The app for uvicorn workers, configured from the environment."""
    import os  # noqa: PLC0415 (the edge reads the environment)

    from fengkong.api import create_app  # noqa: PLC0415 (only when serving)

    return create_app(default_policy=os.environ.get("FENGKONG_SERVE_POLICY", "credit"))


@apikey_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who or what uses the key (unique).")],
    role: Annotated[str, typer.Option(help="admin, risk_analyst, collector, auditor or service.")],
    subject: Annotated[str | None, typer.Option(help="A collector's own id.")] = None,
) -> None:
    """Create a key and print it (the only time it is shown)."""
    from fengkong.services.access import create_api_key  # noqa: PLC0415 (DB on demand)

    with user_errors():
        with database_sessions().begin() as session:
            key = create_api_key(
                session, name=name, role=role, subject=subject, at=dt.datetime.now(dt.UTC)
            )
        console.print(f"{name} ({role}): {key}")
