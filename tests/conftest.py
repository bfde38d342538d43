"""Shared fixtures: small synthetic books, generated once per session."""

from __future__ import annotations

import pytest

from fengkong.synth import SyntheticBook, generate


@pytest.fixture(scope="session")
def small_book() -> SyntheticBook:
    """20,000 applications, seed 11: big enough to hold rings, defaults and write-offs."""
    return generate(20_000, seed=11)
