"""Risk variables: a declarative spec, a point-in-time batch engine and an online engine."""

from fengkong.features.expression import Expression, parse_expression
from fengkong.features.spec import Aggregate, Derived, VariableSpec, check_spec, load_spec

__all__ = [
    "Aggregate",
    "Derived",
    "Expression",
    "VariableSpec",
    "check_spec",
    "load_spec",
    "parse_expression",
]
