"""Reading user-written YAML strictly: what PyYAML would silently accept is refused.

Policy and strategy files decide applications and contacts, so their text must mean one
thing. Plain ``yaml.safe_load`` keeps the last of two equal keys (a second ``age:`` drops the
first one's ``min: 18`` without a word) and expands aliases, so a 1 KB file can stand for a
billion values. :func:`strict_yaml` refuses both, and reports nesting too deep for the
parser as a YAML error rather than a crash.

>>> strict_yaml("a: 1\\nb: [1, 2]")
{'a': 1, 'b': [1, 2]}
>>> strict_yaml("a: 1\\na: 2")
Traceback (most recent call last):
...
yaml.constructor.ConstructorError: while reading a mapping
duplicate key 'a' (each key once)
  in "<unicode string>", line 2, column 1:
    a: 2
    ^
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

__all__ = ["strict_yaml"]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader refusing aliases (and so merge keys) and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ComposerError(
                None,
                None,
                "aliases (*name) are not allowed: write each value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            key = (key_node.tag, key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in seen:
                raise ConstructorError(
                    "while reading a mapping",
                    None,
                    f"duplicate key {key_node.value!r} (each key once)",
                    key_node.start_mark,
                )
            if key is not None:
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def strict_yaml(text: str) -> Any:
    """Parse ``text`` like ``yaml.safe_load``, refusing duplicate keys, aliases and nesting
    too deep to parse (each a ``yaml.YAMLError``)."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except RecursionError:
        raise yaml.YAMLError("nested too deeply to read") from None
    except ValueError as exc:  # a number past Python's digit limit for text
        raise yaml.YAMLError(f"a value that cannot be read: {exc}") from None
