"""The policy's type pass: every expression and table cell typed from the declared inputs.

Nodes are typed in run order, each from the types of what it reads: inputs as declared,
derived values and tree outputs by their expressions, tables by their cells and result
values, scores (``integer`` without decimals, else ``number``), probabilities (``number``)
and the arm (``text``). A node whose inputs failed to type is skipped without a second
problem. The typed expressions are what both backends compile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from fengkong.errors import Problem
from fengkong.expression import Expression, Type
from fengkong.policy.nodes import (
    ArmNode,
    DerivedNode,
    InputSpec,
    ModelNode,
    Node,
    ScorecardNode,
    TableNode,
    TreeNode,
)
from fengkong.policy.table import check_table, type_table

__all__ = ["TypeEnv", "typed_expr", "typed_nodes"]

ProblemSink = Callable[[str, str], None]


class TypeEnv(dict[str, Type]):
    """Variable types; names whose node failed to type are ``broken`` (read silently)."""

    def __init__(self, types: Mapping[str, Type]) -> None:
        super().__init__(types)
        self.broken: set[str] = set()

    def unknown(self, names: frozenset[str]) -> list[str]:
        """The names neither typed nor broken, sorted (an unknown-variable problem)."""
        return sorted(n for n in names if n not in self and n not in self.broken)

    def readable(self, names: frozenset[str]) -> bool:
        """Whether every name is typed (a broken or unknown one was reported already)."""
        return all(n in self and n not in self.broken for n in names)


def typed_expr(
    problem: ProblemSink,
    path: str,
    expr: Expression,
    env: TypeEnv,
    *,
    want: tuple[Type, ...] = (),
) -> Expression | None:
    """``expr`` typed in ``env`` (None, with a problem, on a mismatch or an unwanted type)."""
    if not env.readable(expr.names):
        return None
    try:
        typed = expr.typed(env)
    except ValueError as exc:
        problem(path, str(exc))
        return None
    if want and typed.type not in want:
        what = "is not a condition" if want == ("boolean",) else "type mismatch"
        problem(path, f"{what}: {expr.text!r} is {typed.type} (expected {' or '.join(want)})")
        return None
    return typed


def _score_type(node: ScorecardNode) -> Type:
    return "integer" if node.scale == 1 else "number"


def typed_nodes(
    problem: ProblemSink, file: str, inputs: list[InputSpec], order: list[tuple[str, Node]]
) -> tuple[list[Node], TypeEnv, list[Problem]]:
    """Type every node in run order; the typed nodes, the types of all variables, and the
    problems of the tables (gaps and unreachable rows included)."""
    env = TypeEnv({s.name: s.type for s in inputs})  # type: ignore[misc]
    never_null = frozenset(
        n.provides[0] for _, n in order if isinstance(n, ScorecardNode | ModelNode)
    )
    table_problems: list[Problem] = []
    out: list[Node] = []
    for path, node in order:
        typed: Node | None = node
        if not env.readable(node.reads):
            typed = None
        elif isinstance(node, DerivedNode):
            e = typed_expr(problem, path, node.expr, env)
            typed = None if e is None else DerivedNode(node.name, e)
        elif isinstance(node, TableNode):
            table, types, found = type_table(node.table, env, file=file, path=path)
            if not found:
                found = check_table(table, file=file, never_null=never_null, path=path)
            table_problems += found
            env.update(types)  # type: ignore[arg-type]
            typed = TableNode(table)
        elif isinstance(node, TreeNode):
            # each test at its own path first: a test that is not a condition is named there
            tested = [typed_expr(problem, p, e, env, want=("boolean",)) for p, e in node.tests]
            if any(t is None for t in tested):
                env.broken.update(node.provides)
                continue
            leaf = typed_expr(problem, path, node.leaf, env)
            outs = [(o, typed_expr(problem, path, e, env)) for o, e in node.outputs]
            typed = (
                None
                if leaf is None or any(e is None for _, e in outs)
                else replace(node, leaf=leaf, outputs=tuple(outs))  # type: ignore[arg-type]
            )
        elif isinstance(node, ArmNode) and env[node.unit] not in ("integer", "text"):
            problem(path, f"the unit {node.unit!r} is {env[node.unit]} (expected integer or text)")
            typed = None
        if typed is None:
            env.broken.update(node.provides)
            continue
        for var, kind in _provided_types(typed).items():
            env.setdefault(var, kind)
        out.append(typed)
    return out, env, table_problems


def _provided_types(node: Node) -> dict[str, Type]:
    if isinstance(node, DerivedNode):
        return {node.name: node.expr.type or "null"}
    if isinstance(node, TreeNode):
        types: dict[str, Type] = {node.provides[0]: "text"}
        for o, e in node.outputs:
            types[f"{node.name}_{o}"] = e.type or "null"
        return types
    if isinstance(node, ScorecardNode):
        return {node.provides[0]: _score_type(node)}
    if isinstance(node, ModelNode):
        return {node.provides[0]: "number"}
    if isinstance(node, ArmNode):
        return {"arm": "text"}
    return {}  # tables: typed with their cells
