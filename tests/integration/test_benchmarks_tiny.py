"""Every benchmark in ``benchmarks/`` runs its whole main path at a tiny size (``--tiny``),
so that none can rot unnoticed; the figures mean nothing here.

Each runs as ``python -m benchmarks.<name> --tiny`` in its own process (the benchmarks fork
their measured children, which must not inherit this process's Polars threads), writes its
JSON record into a temporary folder (never ``benchmarks/results``), and skips the peers that
are not installed or need their own virtual environments (CI installs only ``.[dev]``).
``service`` and ``contacts`` start a real server for a few seconds at a low rate.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
NAMES = (
    "synth",
    "servicing",
    "statements",
    "features",
    "portfolio",
    "graph",
    "modeling",
    "policy",
    "collections",
    "contacts",
    "service",
)

pytestmark = pytest.mark.slow


def _results_snapshot() -> dict[str, int]:
    folder = BENCHMARKS / "results"
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*")} if folder.is_dir() else {}


def test_every_benchmark_module_is_covered():
    modules = {p.stem for p in BENCHMARKS.glob("*.py") if not p.stem.startswith("_")}
    assert modules == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_benchmark_runs_at_a_tiny_size(name, tmp_path):
    before = _results_snapshot()
    env = {
        **os.environ,
        "FENGKONG_BENCH_RESULTS": str(tmp_path / "elsewhere"),  # belt and braces
        "FENGKONG_PEER_VENVS": str(tmp_path / "no-peer-venvs"),  # never build a peer's venv
        "COLUMNS": "200",
    }
    proc = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--tiny", "--results-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    record = json.loads((tmp_path / f"{name}.json").read_text())
    assert record["benchmark"] == name and record["rows"]
    assert _results_snapshot() == before, "a tiny run wrote into benchmarks/results"
    assert not (tmp_path / "no-peer-venvs").exists()
