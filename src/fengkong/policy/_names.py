"""What a name in a policy file may be: names are data, checked before anything uses them.

Variables (inputs, derived values, tables and their outputs, trees, scorecards, models,
outputs) match :data:`NAME` and are neither Python keywords nor names the engine gives
itself, nor start with ``__`` or ``rule_`` (prefixes of its batch columns); rule ids, arm
names, leaf ids and the policy's name and version match :data:`LABEL`.
The generated code never contains a name (it uses internal ids), but the rules keep
names readable in every place they appear: YAML, reasons, audit records, Polars columns.

>>> print(name_problem("application_id[__import__('os')]"))
expected a name matching ^[a-z_][a-z0-9_]{0,63}$, got "application_id[__import__('os')]"
>>> name_problem("lambda"), name_problem("decision"), name_problem("age") is None
("'lambda' is a Python keyword (expected another name)", "'decision' is reserved by the engine (expected another name)", True)
"""

from __future__ import annotations

import keyword
import re
from typing import Any

__all__ = ["ENGINE_REASONS", "LABEL", "NAME", "RESERVED", "label_problem", "name_problem"]

NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
# the prefixes of the reasons the engine gives itself (data quality, a legal cap)
ENGINE_REASONS = ("DQ_", "CAP:")
# variables the engine provides or columns its batch output holds; the functions of the
# expression language; words YAML or readers take for constants
RESERVED = frozenset(
    {
        "arm",
        "apr",
        "decision",
        "reasons",
        "min",
        "max",
        "abs",
        "coalesce",
        "clip",
        "is_null",
        "true",
        "false",
        "none",
        "null",
        "nan",
        "inf",
    }
)


def name_problem(value: Any, *, reading: bool = False) -> str | None:
    """Why ``value`` cannot name a variable (None when it can); ``reading``: a name a node
    reads (a table's input), which may be one the engine provides, such as ``arm``."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        return f"expected a name matching {NAME.pattern}, got {value!r}"
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return f"{value!r} is a Python keyword (expected another name)"
    if reading and value in ("arm", "apr"):
        return None
    if value in RESERVED or value.startswith(("__", "rule_")):
        return f"{value!r} is reserved by the engine (expected another name)"
    return None


def label_problem(value: Any, what: str) -> str | None:
    """Why ``value`` cannot be a rule id, arm or leaf label (None when it can)."""
    if not isinstance(value, str) or not LABEL.fullmatch(value):
        return f"expected {what} matching {LABEL.pattern}, got {value!r:.80}"
    if value.upper().startswith(ENGINE_REASONS):
        return (
            f"{value!r} reads as one of the engine's reasons ({', '.join(ENGINE_REASONS)}…): "
            "expected another label"
        )
    return None
