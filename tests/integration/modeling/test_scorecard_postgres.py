"""The scorecard's SQL in the real PostgreSQL (127.0.0.1:5432/test) scores like Python."""

import sys
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "modeling"))
from scorecard_book import fitted_scorecard, probe_rows

DSN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.mark.parametrize("decimals", [0, 2])
def test_scores_identical_in_postgres(decimals):
    sc, _ = fitted_scorecard(decimals=decimals)
    rows = probe_rows(sc)
    rows.append({"income": float("nan"), "age": 30.0, "channel": "app", "inquiries": 1.0})
    table = f"apps_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(DSN, autocommit=True) as con:
        con.execute(
            f'CREATE TEMP TABLE "{table}" (id int, income float8, age float8, '
            "channel text, inquiries float8)"
        )
        with con.cursor() as cur:
            cur.executemany(
                f'INSERT INTO "{table}" VALUES (%s, %s, %s, %s, %s)',
                [
                    (k, r["income"], r["age"], r["channel"], r["inquiries"])
                    for k, r in enumerate(rows)
                ],
            )
        sql = sc.model_.to_sql(table, dialect="postgresql", keep=["id"])
        got = con.execute(f"SELECT id, score FROM ({sql}) AS q ORDER BY id").fetchall()
    assert [Decimal(str(s)) for _, s in got] == [sc.model_.score_row(r) for r in rows]
