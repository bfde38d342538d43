"""Shared benchmark plumbing: isolated measurements, a printed table and a JSON record.

Every benchmark parses its flags with :func:`parse_args`, which adds two of its own:

- ``--tiny``: a smoke run of the benchmark's whole main path at a tiny size (the sizes each
  benchmark names), in seconds; peers that are not installed (or that need their own virtual
  environments) are skipped and their rows marked ``skipped``. The figures mean nothing; the
  run proves the benchmark still works on the current code (``tests/integration/
  test_benchmarks_tiny.py``).
- ``--results-dir``: where the JSON record goes (default ``benchmarks/results``, or
  ``$FENGKONG_BENCH_RESULTS``); tests point it at a temporary folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing as mp
import os
import platform
import resource
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"
RESULTS_ENV = "FENGKONG_BENCH_RESULTS"
"""An environment variable naming another folder for the JSON records."""
SKIPPED = "skipped"
"""The value of a skipped peer's figures."""


def parse_args(
    parser: argparse.ArgumentParser, *, tiny: dict[str, Any], argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """``parser``'s flags plus ``--tiny`` (the defaults in ``tiny`` instead; flags given on
    the command line still win) and ``--results-dir``."""
    parser.add_argument(
        "--tiny",
        action="store_true",
        help=f"A smoke run at a tiny size ({', '.join(f'{k}={v}' for k, v in tiny.items())}); "
        "missing peers skipped.",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=None,
        help=f"Folder for the JSON record (default: benchmarks/results or ${RESULTS_ENV}).",
    )
    args = parser.parse_args(argv)
    if args.tiny:
        parser.set_defaults(**tiny)
        args = parser.parse_args(argv)
    if args.results_dir is not None:
        os.environ[RESULTS_ENV] = str(args.results_dir)
    return args


def peer_available(module: str, *, tiny: bool) -> bool:
    """Whether the peer library ``module`` can be imported. A missing peer is skipped in a
    ``--tiny`` run (CI installs only ``.[dev]``) and an error in a real one."""
    if importlib.util.find_spec(module) is not None:
        return True
    if tiny:
        print(f"peer {module} is not installed: skipped (tiny run)")
        return False
    raise SystemExit(f"the peer {module} is not installed: pip install -e '.[bench]'")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server a tiny run starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def results_dir() -> Path:
    """Where :func:`report` writes: ``$FENGKONG_BENCH_RESULTS`` or ``benchmarks/results``."""
    return Path(os.environ.get(RESULTS_ENV) or RESULTS)


def _child(fn: Callable[[], Any], conn: Any, setup: Callable[[], Any] | None) -> None:
    if setup is not None:
        setup()
    t0 = time.perf_counter()
    extra = fn()
    seconds = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB
    conn.send({"seconds": seconds, "peak_gb": peak_gb, "extra": extra})
    conn.close()


def measure(fn: Callable[[], Any], *, setup: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Run ``fn`` in a fresh forked process; its wall time, peak RSS (GB) and return value.

    ``setup`` runs first in the same child, untimed (e.g. loading compiled kernels). The
    parent must not have started Polars' thread pool: forking it can deadlock the child.
    """
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, child, setup))
    proc.start()
    child.close()  # so that a child that dies makes recv fail instead of waiting for ever
    try:
        result = parent.recv()
    except EOFError:
        proc.join()
        raise RuntimeError(f"the measured function failed (exit code {proc.exitcode})") from None
    proc.join()
    return result


def report(name: str, rows: list[dict[str, Any]], meta: dict[str, Any]) -> Path:
    """Print ``rows`` as a table and write them with ``meta`` to ``<results>/<name>.json``
    (:func:`results_dir`)."""
    table = Table(title=f"benchmark: {name}")
    columns = list(dict.fromkeys(c for row in rows for c in row))
    for column in columns:
        table.add_column(column)
    for row in rows:
        values = (row.get(c, "") for c in columns)
        table.add_row(*(f"{v:,.3f}" if isinstance(v, float) else str(v) for v in values))
    Console().print(table)
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    record = {
        "benchmark": name,
        "machine": platform.platform(),
        "python": platform.python_version(),
        **meta,
        "rows": rows,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
