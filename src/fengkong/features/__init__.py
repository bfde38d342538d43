"""Risk variables: a declarative spec, a point-in-time batch engine and an online engine."""

from fengkong.features.batch import build_variables, write_variables
from fengkong.features.expression import Expression, parse_expression
from fengkong.features.online import InProcessStore, KeyState, LateEventError, OnlineEngine
from fengkong.features.spec import Aggregate, Derived, VariableSpec, check_spec, load_spec

__all__ = [
    "Aggregate",
    "Derived",
    "Expression",
    "InProcessStore",
    "KeyState",
    "LateEventError",
    "OnlineEngine",
    "VariableSpec",
    "build_variables",
    "check_spec",
    "load_spec",
    "parse_expression",
    "write_variables",
]
