"""Line numbers of dotted paths in a YAML document, for problems that point into a file.

Shared by every loader of user-written YAML (policies, variable specs), so that each problem
prints as ``file:line: path: message``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import yaml

from fengkong.errors import Problem

__all__ = ["line_of", "with_lines", "yaml_lines"]


def yaml_lines(text: str) -> dict[str, int]:
    """Every dotted path of the document (``rules.0.when``) with its 1-based line."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    out: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        out.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = f"{path}.{key.value}" if path else str(key.value)
                out[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for k, item in enumerate(node.value):
                walk(item, f"{path}.{k}" if path else str(k))

    if root is not None:
        walk(root, "")
    return out


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of ``path`` or of its nearest parent that has one."""
    while path:
        if path in lines:
            return lines[path]
        path = path.rsplit(".", 1)[0] if "." in path else ""
    return None


def with_lines(problems: Iterable[Problem], text: str) -> list[Problem]:
    """``problems`` with the line of their path in ``text`` where they have none."""
    lines = yaml_lines(text)
    return [p if p.line is not None else replace(p, line=line_of(lines, p.path)) for p in problems]
