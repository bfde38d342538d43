"""Identifier normalisation: one spelling per phone, address and id, and a report of the rest.

>>> normalize_frame(pl.DataFrame({"person_id": [1, 2, 3], "id_type": ["mobile", "mobile", "device"],
...     "id_value": ["+86 138-0013-8000", "12345", "  D-01 "]}))[0]["id_value"].to_list()
['13800138000', 'd-01']
"""

from __future__ import annotations

import polars as pl

from fengkong.errors import Problem

__all__ = ["ID_TYPES", "STRONG", "WEAK", "normalize_frame"]

STRONG = ("mobile", "device", "bank_card", "emergency_phone", "id_number")
WEAK = ("ip", "address", "employer")
ID_TYPES = STRONG + WEAK
_PHONE = r"^1[3-9][0-9]{9}$"  # ASCII digits only (`\d` takes any script's)


def normalize_frame(
    identifiers: pl.DataFrame, *, source: str = "<identifiers>"
) -> tuple[pl.DataFrame, list[Problem]]:
    """Normalise ``id_value`` by type; malformed rows are dropped and reported, never fatal.

    Every value is NFKC-normalised first (full-width digits and letters become ASCII); phones
    lose spaces, dashes and a +86/0086 prefix and must be mainland mobiles in ASCII digits;
    addresses are lower-cased with whitespace collapsed; other ids are trimmed and lower-cased.
    """
    # NFKC first: full-width and compatibility forms fold to one spelling (１３８… is 138…)
    # U+001C..U+001F are whitespace to Python (as online), not to Polars: made spaces first
    value = (
        pl.col("id_value")
        .cast(pl.String)
        .str.normalize("NFKC")
        .str.replace_all(r"[\x1c-\x1f]", " ")
        .str.strip_chars()
    )
    phone = value.str.replace_all(r"[\s\-()]", "").str.replace(r"^(\+86|0086)", "")
    address = value.str.to_lowercase().str.replace_all(r"\s+", " ")
    is_phone = pl.col("id_type").is_in(["mobile", "emergency_phone"])
    out = identifiers.with_columns(
        pl.when(is_phone)
        .then(phone)
        .when(pl.col("id_type") == "address")
        .then(address)
        .otherwise(value.str.to_lowercase())
        .alias("id_value")
    )
    bad = (
        ~pl.col("id_type").is_in(ID_TYPES)
        | pl.col("id_value").is_null()
        | (pl.col("id_value") == "")
        | pl.col("id_value").str.contains("\x00", literal=True)
        | (is_phone & ~pl.col("id_value").str.contains(_PHONE))
        | pl.col("person_id").is_null()
    )
    rejected = out.filter(bad)
    problems = [
        Problem(
            source,
            f"person {r['person_id']}.{r['id_type']}",
            f"malformed identifier {r['id_value']!r}",
        )
        for r in rejected.head(1000).iter_rows(named=True)
    ]
    if rejected.height > 1000:
        problems.append(
            Problem(source, "", f"... and {rejected.height - 1000} more malformed identifiers")
        )
    return out.filter(~bad), problems
