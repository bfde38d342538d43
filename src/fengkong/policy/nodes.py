"""The compiled IR of a policy: typed inputs and value nodes in dependency order.

A policy file compiles (:mod:`fengkong.policy.spec`) to these immutable nodes; the row backend
(:mod:`fengkong.policy.row`) and the batch backend (:mod:`fengkong.policy.batch`) both run
them. Every value node names the variables it ``reads`` and the variables it ``provides``;
the loader orders nodes so that each runs after everything it reads (a cycle is a problem).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fengkong.expression import Expression
from fengkong.modeling.artifact import ScorecardModel
from fengkong.modeling.gbm import GBMArtifact
from fengkong.policy.table import DecisionTable

__all__ = [
    "ArmNode",
    "DerivedNode",
    "InputSpec",
    "ModelNode",
    "Node",
    "PricingNode",
    "Rule",
    "ScorecardNode",
    "TableNode",
    "TreeNode",
    "arm_of",
]

TYPES: dict[str, tuple[type, ...]] = {
    "number": (int, float),
    "integer": (int,),
    "text": (str,),
    "boolean": (bool,),
    "date": (dt.date,),
}
ACTIONS = ("decline", "refer")


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One declared input: its type, whether it is required, its allowed categories and,
    for numbers, the bounds a value must lie within (``low <= value <= high``; outside them
    the application is referred with ``DQ_RANGE:<input>``)."""

    name: str
    type: str
    required: bool = True
    categories: tuple[str, ...] = ()
    low: int | float | None = None
    high: int | float | None = None


@dataclass(frozen=True, slots=True)
class DerivedNode:
    """A value computed by an expression."""

    name: str
    expr: Expression

    @property
    def reads(self) -> frozenset[str]:
        return self.expr.names

    @property
    def provides(self) -> tuple[str, ...]:
        return (self.name,)


@dataclass(frozen=True, slots=True)
class TableNode:
    """A decision table; provides ``<table>_<output>`` and ``<table>_row`` (``_rows``)."""

    table: DecisionTable

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def reads(self) -> frozenset[str]:
        return frozenset(self.table.inputs)

    @property
    def row_variable(self) -> str:
        return f"{self.name}_row" if self.table.hit == "first" else f"{self.name}_rows"

    @property
    def provides(self) -> tuple[str, ...]:
        return (self.row_variable, *(f"{self.name}_{o}" for o in self.table.outputs))


@dataclass(frozen=True, slots=True)
class TreeNode:
    """A decision tree compiled to one expression per output plus the leaf id."""

    name: str
    leaf: Expression
    outputs: tuple[tuple[str, Expression], ...]
    tests: tuple[tuple[str, Expression], ...] = ()  # each branch's test, with its path

    @property
    def reads(self) -> frozenset[str]:
        names = set(self.leaf.names)
        for _, e in self.outputs:
            names |= e.names
        return frozenset(names)

    @property
    def provides(self) -> tuple[str, ...]:
        return (f"{self.name}_leaf", *(f"{self.name}_{o}" for o, _ in self.outputs))


@dataclass(frozen=True, slots=True)
class ScorecardNode:
    """A points scorecard pinned by hash; provides ``<name>_score``."""

    name: str
    model: ScorecardModel
    artifact: str
    sha256: str
    n_reasons: int = 4

    @property
    def reads(self) -> frozenset[str]:
        return frozenset(self.model.features)

    @property
    def provides(self) -> tuple[str, ...]:
        return (f"{self.name}_score",)

    @property
    def scale(self) -> int:
        return int(10**self.model.decimals)

    def scaled_points(self) -> list[list[int]]:
        """Points of every bin of every variable, times ``10**decimals`` (exact integers)."""
        return [
            [int(p.scaleb(self.model.decimals)) for p in v.points] for v in self.model.variables
        ]

    def reason_codes(self) -> list[str]:
        return [v.reason_code for v in self.model.variables]


@dataclass(frozen=True, slots=True)
class ModelNode:
    """A LightGBM model pinned by hash; provides ``<name>_probability``."""

    name: str
    model: GBMArtifact
    artifact: str
    sha256: str
    n_reasons: int = 4

    @property
    def reads(self) -> frozenset[str]:
        return frozenset(self.model.features)

    @property
    def provides(self) -> tuple[str, ...]:
        return (f"{self.name}_probability",)

    def reason_codes(self) -> list[str]:
        return [self.model.reason_codes.get(f, f) for f in self.model.features]


@dataclass(frozen=True, slots=True)
class ArmNode:
    """Champion/challenger: a deterministic arm per unit, with fixed shares in basis points.

    The unit is a declared input naming who is assigned (the applicant's ``person_id`` by
    default, a case for a collection strategy), so a re-application keeps its arm. The arm
    of a unit is fixed for a given salt: a keyed BLAKE2b hash of the unit (the salt is the
    key) falls into one arm's cumulative share; a new salt is an independent draw. A null
    unit takes the first arm (the champion).
    """

    unit: str
    salt: str
    shares: tuple[tuple[str, int], ...]  # (arm, basis points), summing to 10000
    name: str = "arm"

    @property
    def reads(self) -> frozenset[str]:
        return frozenset({self.unit})

    @property
    def provides(self) -> tuple[str, ...]:
        return ("arm",)

    def bounds(self) -> list[tuple[int, str]]:
        out, total = [], 0
        for arm, bp in self.shares:
            total += bp
            out.append((total, arm))
        return out


def arm_of(unit: Any, salt: str, bounds: list[tuple[int, str]]) -> str:
    """The arm of one unit (see :class:`ArmNode`); integers and their text are one unit.

    >>> arm_of(1001, "s1", [(9000, "champion"), (10000, "challenger")])
    'champion'
    >>> arm_of(None, "s1", [(9000, "champion"), (10000, "challenger")])
    'champion'
    """
    if unit is None:
        return bounds[0][1]
    digest = hashlib.blake2b(str(unit).encode(), digest_size=8, key=salt.encode()).digest()
    bucket = int.from_bytes(digest, "big") % 10000
    for upper, arm in bounds:
        if bucket < upper:
            return arm
    return bounds[-1][1]


@dataclass(frozen=True, slots=True)
class Rule:
    """A condition with its action; its id is the reason code."""

    id: str
    when: Expression
    action: str


@dataclass(frozen=True, slots=True)
class PricingNode:
    """Price an offer through :mod:`fengkong.servicing`: true APR and the legal-cap check.

    ``amount_fen``, ``annual_rate`` and ``term_months`` are expressions over the policy's
    variables and outputs; ``date`` names a date input (the contract date). An offer that
    breaks a cap rule becomes ``on_breach`` (refer or decline) with reason ``CAP:<rule id>``.
    """

    product: str
    jurisdiction: str
    lender_type: str
    amount_fen: Expression
    annual_rate: Expression
    term_months: Expression
    date: str
    on_breach: str = "refer"
    name: str = "pricing"

    @property
    def reads(self) -> frozenset[str]:
        return self.amount_fen.names | self.annual_rate.names | self.term_months.names | {self.date}

    @property
    def provides(self) -> tuple[str, ...]:
        return ("apr",)


Node = DerivedNode | TableNode | TreeNode | ScorecardNode | ModelNode | ArmNode


def describe(node: Node | PricingNode) -> Mapping[str, Any]:
    """A short JSON-ready description of a node (for traces and diffs)."""
    kind = type(node).__name__.removesuffix("Node").lower()
    return {"node": node.name, "kind": kind, "reads": sorted(node.reads)}
