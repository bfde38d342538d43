"""fengkong servicing init / load / eod over a real SQLite database."""

import os
import subprocess
import sys

from fengkong.synth import write_book


def _run(args, env):
    return subprocess.run(
        [sys.executable, "-m", "fengkong.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_load_the_synthetic_book_and_run_end_of_day_twice(tmp_path):
    write_book(tmp_path / "book", 600, seed=2)
    env = {**os.environ, "FENGKONG_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "160"}
    assert _run(["servicing", "init"], env).returncode == 0
    loaded = _run(["servicing", "load", str(tmp_path / "book"), "--limit", "50", "-q"], env)
    assert loaded.returncode == 0, loaded.stderr
    first = _run(["servicing", "eod", "--date", "2025-06-30"], env)
    assert first.returncode == 0, first.stderr
    assert "50 loans" in first.stdout
    second = _run(["servicing", "eod", "--date", "2025-06-30"], env)
    assert "already done" in second.stdout
    statement = _run(
        [
            "servicing",
            "statement",
            "--loan",
            "synth-0",
            "--as-of",
            "2025-06-30",
            "--lender-type",
            "licensed",
        ],
        env,
    )
    assert statement.returncode == 0, statement.stderr
    assert "under the contract" in statement.stdout and "enforceable" in statement.stdout
    missing = _run(["servicing", "statement", "--loan", "nope", "--as-of", "2025-06-30"], env)
    assert missing.returncode == 2 and "loan not found" in missing.stderr
    bad = _run(["servicing", "eod", "--date", "30/06/2025"], env)
    assert bad.returncode == 2 and "--date: expected a date" in bad.stderr
    assert (tmp_path / "data" / "fengkong.db").exists()
