"""Shared benchmark plumbing: isolated measurements, a printed table and a JSON record."""

from __future__ import annotations

import json
import multiprocessing as mp
import platform
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"


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
    """Print ``rows`` as a table and write them with ``meta`` to ``benchmarks/results/<name>.json``."""
    table = Table(title=f"benchmark: {name}")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(f"{v:,.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {
        "benchmark": name,
        "machine": platform.platform(),
        "python": platform.python_version(),
        **meta,
        "rows": rows,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
