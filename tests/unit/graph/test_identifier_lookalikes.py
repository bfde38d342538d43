"""Look-alike identifiers collapse (issue 22 part 6): full-width and compatibility forms are
NFKC-normalised and phones need ASCII digits, the same online and in batch; a phone written
in another script's digits is malformed in both, never a fresh identifier."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fengkong.graph import IdentifierGraph, OnlineGraph

T = dt.datetime(2026, 1, 1)


@pytest.mark.parametrize(
    ("kind", "plain", "lookalike"),
    [
        ("mobile", "13800138000", "１３８００１３８０００"),  # full-width digits
        ("mobile", "13800138000", "+８６ 138-0013-8000"),
        ("emergency_phone", "13900139000", "１３９ ００１３ ９０００"),
        ("device", "dev-01", "ＤＥＶ－０１"),
        ("bank_card", "6222020200112233", "６２２２０２０２００１１２２３３"),
        ("mobile", "13800138000", "１３８\u3000００１３\u3000８０００"),  # ideographic spaces
    ],
)
def test_a_full_width_spelling_is_the_same_identifier_online_and_in_batch(kind, plain, lookalike):
    g = OnlineGraph()
    g.add(1, [(kind, plain, T)], T)
    assert g.add(2, [(kind, lookalike, T)], T)["component_size"] == 2
    frame = pl.DataFrame(
        {
            "person_id": [1, 2],
            "id_type": [kind, kind],
            "id_value": [plain, lookalike],
            "first_seen": [T, T],
        }
    )
    assert IdentifierGraph.build(frame).component_sizes().tolist() == [2, 2]


@pytest.mark.parametrize("digits", ["١٣٨٠٠١٣٨٠٠٠", "१३८००१३८०००", "𝟏𝟑𝟖𝟎𝟎𝟏𝟑𝟖𝟎𝟎𝟎"])
def test_a_phone_in_another_scripts_digits_is_malformed_or_folded_never_distinct(digits):
    g = OnlineGraph()
    g.add(1, [("mobile", "13800138000", T)], T)
    size = g.add(2, [("mobile", digits, T)], T)["component_size"]
    frame = pl.DataFrame(
        {
            "person_id": [1, 2],
            "id_type": ["mobile"] * 2,
            "id_value": ["13800138000", digits],
            "first_seen": [T, T],
        }
    )
    batch = IdentifierGraph.build(frame)
    if size == 2:  # folded to ASCII by NFKC (mathematical digits): the same phone in both
        assert batch.component_sizes().tolist() == [2, 2]
    else:  # another script's digits: malformed in both (refused, counted, reported)
        assert g.rejected == 1
        assert batch.persons.tolist() == [1]
        assert any("malformed" in p.message for p in batch.problems)
