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
    assert "under the contract" in statement.stdout and "lawful" in statement.stdout
    quote = _run(["servicing", "payoff", "--loan", "synth-0", "--as-of", "2025-06-30"], env)
    assert quote.returncode == 0, quote.stderr
    assert "principal" in quote.stdout and "total" in quote.stdout
    early = _run(["servicing", "payoff", "--loan", "synth-0", "--as-of", "1999-01-01"], env)
    assert early.returncode == 2 and "on or after disbursement" in early.stderr
    missing = _run(["servicing", "statement", "--loan", "nope", "--as-of", "2025-06-30"], env)
    assert missing.returncode == 2 and "loan not found" in missing.stderr
    bad = _run(["servicing", "eod", "--date", "30/06/2025"], env)
    assert bad.returncode == 2 and "--date: expected a date" in bad.stderr
    assert (tmp_path / "data" / "fengkong.db").exists()


def test_repay_refund_and_import_go_through_the_one_door(tmp_path):
    # issue 23 part 4: the CLI's payments pass the same checks as the API and the import
    write_book(tmp_path / "book", 200, seed=3)
    env = {**os.environ, "FENGKONG_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    assert _run(["servicing", "init"], env).returncode == 0
    assert (
        _run(["servicing", "load", str(tmp_path / "book"), "--limit", "3", "-q"], env).returncode
        == 0
    )
    pay = ["servicing", "repay", "--loan", "synth-0", "--key", "k1"]
    future = _run([*pay, "--on", "9999-12-31", "--amount-fen", "100"], env)
    assert (
        future.returncode == 2
        and "--on: expected a date on or before the business date" in future.stderr
    )
    bad = _run([*pay, "--on", "2025-01-01", "--amount-fen", "0"], env)
    assert bad.returncode == 2 and "--amount-fen: expected a positive amount" in bad.stderr
    usd = _run([*pay, "--on", "2025-01-01", "--amount-fen", "100", "--currency", "USD"], env)
    assert usd.returncode == 2 and "--currency: expected the loan's currency CNY" in usd.stderr
    huge = _run([*pay, "--on", "2025-01-01", "--amount-fen", str(10**12)], env)
    assert huge.returncode == 0, huge.stderr
    assert "settled" in huge.stdout and "suspense CNY" in huge.stdout
    held = huge.stdout.split("suspense CNY ")[1].split()[0].replace(",", "")
    fen = int(held.replace(".", ""))
    refund = ["servicing", "refund", "--loan", "synth-0", "--on", "2025-01-02", "--key", "r1"]
    over = _run([*refund, "--amount-fen", str(fen + 1)], env)
    assert over.returncode == 2 and "at most the suspense balance" in over.stderr
    back = _run([*refund, "--amount-fen", str(fen)], env)
    assert back.returncode == 0 and "suspense CNY 0.00" in back.stdout, back.stderr
    csv = tmp_path / "pay.csv"
    csv.write_text(
        "loan_id,paid_on,amount_fen,key\nsynth-1,2025-01-08,100,f1\nsynth-1,2031-01-01,100,f2\n"
    )
    refused = _run(["servicing", "import", str(csv)], env)
    assert refused.returncode == 2 and "payments[1].paid_on" in refused.stderr
    csv.write_text("loan_id,paid_on,amount_fen,key\nsynth-1,2025-01-08,100,f1\n")
    imported = _run(["servicing", "import", str(csv)], env)
    assert imported.returncode == 0 and "imported 1 new" in imported.stdout, imported.stderr
    ahead = _run(["servicing", "eod", "--date", "9999-12-31"], env)
    assert (
        ahead.returncode == 2
        and "business_date: expected a date on or before today" in ahead.stderr
    )
