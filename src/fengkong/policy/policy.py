"""A checked, compiled policy and the two ways to run it.

>>> from fengkong.policy import load_policy
>>> p = load_policy({"schema_version": 1, "inputs": {"x": {"type": "number"}},
...                  "rules": [{"id": "HIGH", "when": "x > 10", "action": "refer"}]})
>>> p.decide({"x": 12}).decision, p.decide({"x": 3}).decision
('refer', 'approve')
>>> p.decide({"x": 12}).audit.rule_hits
('HIGH',)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.expression import Expression, ExpressionLimits
from fengkong.policy.audit import Decision
from fengkong.policy.nodes import InputSpec, Node, PricingNode, Rule, TableNode

__all__ = ["Policy"]


@dataclass(frozen=True, slots=True)
class Policy:
    """A checked policy: inputs, value nodes in run order, rules, outputs and pricing.

    Build one with :meth:`load` (or :func:`fengkong.policy.load_policy`). :meth:`decide`
    runs one application through Python generated once from the IR; :meth:`decide_frame`
    runs a Polars frame; tests hold them equal.
    """

    name: str
    version: str
    inputs: tuple[InputSpec, ...]
    nodes: tuple[Node, ...]
    rules: tuple[Rule, ...]
    outputs: tuple[tuple[str, Expression], ...]
    pricing: PricingNode | None = None
    sha256: str = field(default="", compare=False)
    variable_spec: str | None = None  # the features spec whose variables feed the inputs
    graph_features: bool = False  # whether the graph features feed the inputs
    _row: dict[bool, Callable[[Mapping[str, Any]], Decision]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def load(
        cls, source: str | Path | Mapping[str, Any], *, limits: ExpressionLimits | None = None
    ) -> Policy:
        """A checked policy from a YAML file or a mapping (see :func:`load_policy`)."""
        from fengkong.policy.spec import load_policy  # noqa: PLC0415 (spec imports this module)

        return load_policy(source, limits=limits)

    @property
    def tables(self) -> tuple[TableNode, ...]:
        """The decision-table nodes, in run order."""
        return tuple(n for n in self.nodes if isinstance(n, TableNode))

    @property
    def offer(self) -> tuple[str, ...]:
        """The outputs that make up the offer: those the pricing step reads (its amount, rate
        and term). A declined decision carries no offer: both backends set these and the
        APR to null on a decline (empty without a pricing step)."""
        if self.pricing is None:
            return ()
        p = self.pricing
        read = p.amount_fen.names | p.annual_rate.names | p.term_months.names
        return tuple(name for name, _ in self.outputs if name in read)

    @property
    def arms(self) -> tuple[str, ...]:
        """The champion/challenger arms (empty when the policy has none)."""
        from fengkong.policy.nodes import ArmNode  # noqa: PLC0415 (avoid a wide import list)

        return tuple(a for n in self.nodes if isinstance(n, ArmNode) for a, _ in n.shares)

    def decide(self, application: Mapping[str, Any], *, audit: bool = True) -> Decision:
        """Decide one application (a mapping of input name to value; absent means null).

        With ``audit=True`` (default) the decision carries its full
        :class:`~fengkong.policy.AuditRecord`, per-node timings included.
        """
        if not isinstance(application, Mapping):
            raise InvalidArgumentError(
                "application",
                expected="a mapping of input name to value",
                got=type(application).__name__,
            )
        run = self._row.get(audit)
        if run is None:
            from fengkong.policy.row import compile_row  # noqa: PLC0415 (compiled on first use)

            run = compile_row(self, audit=audit)
            self._row[audit] = run
        return run(application)

    def decide_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Decide every row of a frame.

        Columns: ``decision``, ``reasons`` (list), each output (and ``apr``), ``arm`` when the
        policy has arms, ``<scorecard>_score``, ``<model>_probability``, ``rule_<id>`` and
        each table's ``<table>_row`` (``_rows`` for collect tables).
        """
        from fengkong.policy.batch import decide_frame  # noqa: PLC0415 (keeps import light)

        if not isinstance(frame, pl.DataFrame):
            raise InvalidArgumentError(
                "frame", expected="a Polars DataFrame", got=type(frame).__name__
            )

        return decide_frame(self, frame)

    def source(self, *, audit: bool = True) -> str:
        """The Python the row backend runs (for review and debugging)."""
        from fengkong.policy.row import row_source  # noqa: PLC0415 (keeps import light)

        return row_source(self, audit=audit)[0]
