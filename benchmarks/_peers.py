"""Peer libraries in their own virtual environments (some pin old numpy/pandas).

``peer_python(name)`` returns the interpreter of a venv holding the peer, creating it on first
use under ``$FENGKONG_PEER_VENVS`` (default ``~/.cache/fengkong-bench/venvs``) with pip from
PyPI. ``run_peer`` runs a script there and parses the JSON line it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PEERS = {
    "optbinning": ["optbinning==1.0.0", "pyarrow", "psutil"],
    "toad": ["toad==0.1.7", "numpy", "pandas", "scipy", "scikit-learn", "seaborn", "pyarrow"],
    "scorecardpy": ["scorecardpy==0.1.9.7", "pandas<2.2", "numpy<2", "pyarrow<16", "setuptools<81"],
}


def venv_root() -> Path:
    """Where peer virtual environments live."""
    default = Path.home() / ".cache" / "fengkong-bench" / "venvs"
    return Path(os.environ.get("FENGKONG_PEER_VENVS", default))


def peer_python(name: str) -> Path:
    """The Python of the peer's venv, created and filled on first use."""
    venv = venv_root() / name
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS[name]], check=True)
    return python


def run_peer(name: str, script: Path, *args: str, timeout: float = 3600) -> dict[str, Any]:
    """Run ``script`` with the peer's Python; its last stdout line is JSON."""
    proc = subprocess.run(
        [str(peer_python(name)), str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])
