"""Fixtures of the feature tests: the tiny spec and its six-application book."""

from __future__ import annotations

import polars as pl
import pytest
from feature_book import SPEC, app  # type: ignore[import-not-found]

from fengkong.features import VariableSpec, load_spec


@pytest.fixture
def spec_text() -> str:
    return SPEC


@pytest.fixture
def spec() -> VariableSpec:
    return load_spec(SPEC)


@pytest.fixture
def apps() -> pl.DataFrame:
    rows = [
        app(1, 0, 7, inst=1, amt=1_000_00),
        app(2, 2, 7, inst=2, amt=3_000_00, channel="h5"),
        app(3, 2, 8, dev="d2"),  # tie in time with 2, another person
        app(4, 30, 7, inst=2, amt=500_00, dev=None),
        app(5, 24 * 9, 7, inst=3, amt=200_00),
        app(6, 24 * 9, None),
    ]
    return pl.DataFrame(rows, schema_overrides={"at": pl.Datetime("us")})
