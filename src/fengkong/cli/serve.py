"""``fengkong serve`` and ``fengkong apikey``: run the HTTP service; manage its API keys."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from fengkong.cli._console import console, database_sessions, user_errors

apikey_app = typer.Typer(
    help="API keys of the service (shown once; stored hashed).", no_args_is_help=True
)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
    policy: Annotated[
        str, typer.Option(help="The policy POST /v1/decisions uses by default.")
    ] = "credit",
    seed_book: Annotated[
        Path | None,
        typer.Option(
            help="A book folder (fengkong synth layout) whose history seeds every worker's "
            "online variables and relationship graph before it takes requests.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    seed_spec: Annotated[
        list[str] | None,
        typer.Option(help="Variable specs to seed (default: the default policy's)."),
    ] = None,
) -> None:
    """Serve the API (OpenAPI at /docs) and the UI (/ui) over FENGKONG_DATABASE_URL (SQLite
    by default).

    Each worker is its own process with its own listening socket on the same port
    (``SO_REUSEPORT``): the kernel spreads connections evenly over the workers, where one
    shared socket lets whichever worker wakes first take most of them.
    """
    import multiprocessing  # noqa: PLC0415 (only when serving)
    import os  # noqa: PLC0415 (the edge reads the environment)
    import signal  # noqa: PLC0415

    os.environ["FENGKONG_SERVE_POLICY"] = policy
    if seed_book is not None:
        os.environ["FENGKONG_SERVE_SEED_BOOK"] = str(seed_book)
        os.environ["FENGKONG_SERVE_SEED_SPECS"] = ",".join(seed_spec or [])
    if workers == 1:
        _run_worker(host, port)
        return
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_run_worker, args=(host, port)) for _ in range(workers)]
    for child in children:
        child.start()

    def stop(_signum: int, _frame: object) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.join()


def _run_worker(host: str, port: int) -> None:
    """One worker: its own ``SO_REUSEPORT`` socket, one uvicorn server on it."""
    import socket  # noqa: PLC0415 (only when serving)

    import uvicorn  # noqa: PLC0415

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    from fengkong.services.access import masked_log_config  # noqa: PLC0415

    config = uvicorn.Config(
        "fengkong.cli.serve:app_from_environment",
        factory=True,
        log_level="warning",
        log_config=masked_log_config(),
    )
    uvicorn.Server(config).run(sockets=[sock])


def app_from_environment() -> object:
    """The app for uvicorn workers, configured from the environment.

    The worker's garbage collector runs its young generation less often and leaves what
    exists at start-up out of later full collections: the online state is millions of long-
    lived objects, and traversing them in a full collection is a pause of tens of
    milliseconds in the middle of a request.
    """
    import gc  # noqa: PLC0415 (a serving process's setting)
    import os  # noqa: PLC0415 (the edge reads the environment)

    from fengkong.api import create_app  # noqa: PLC0415 (only when serving)

    default = os.environ.get("FENGKONG_SERVE_POLICY", "credit")
    app = create_app(default_policy=default)
    book = os.environ.get("FENGKONG_SERVE_SEED_BOOK")
    if book:
        app.state.online = _seeded(app, book, os.environ.get("FENGKONG_SERVE_SEED_SPECS", ""))
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 1_000)
    return app


def _seeded(app: Any, book: str, specs: str) -> Any:
    """The worker's online state seeded from ``book``: the given variable specs, or the
    default policy's; with Redis the variables are shared and already kept there, so only
    the graph is seeded."""
    from fengkong.errors import NotFoundError  # noqa: PLC0415
    from fengkong.services.online import seed_from_book  # noqa: PLC0415

    names = [s for s in specs.split(",") if s]
    if not names:
        try:
            spec = app.state.policies.active(app.state.default_policy).variable_spec
        except NotFoundError:
            spec = None
        names = [spec] if spec else []
    shared = app.state.online.store_factory
    return seed_from_book(book, specs=[] if shared else names, store_factory=shared)


@apikey_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who or what uses the key (unique).")],
    role: Annotated[str, typer.Option(help="admin, risk_analyst, collector, auditor or service.")],
    subject: Annotated[str | None, typer.Option(help="A collector's own id.")] = None,
) -> None:
    """Create a key and print it (the only time it is shown)."""
    from fengkong.policy.versions import normalise_identity  # noqa: PLC0415
    from fengkong.services.access import create_api_key  # noqa: PLC0415 (DB on demand)

    with user_errors():
        with database_sessions().begin() as session:
            key = create_api_key(
                session, name=name, role=role, subject=subject, at=dt.datetime.now(dt.UTC)
            )
        console.print(f"{normalise_identity(name)} ({role}): {key}")  # the name as stored
