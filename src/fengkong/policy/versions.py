"""Policy versions: the maker-checker workflow and the difference between two versions.

A version is immutable: its content hash is fixed when it is submitted. Its status moves

``draft`` → ``approved`` (by someone other than its author) → ``active`` → ``retired``,

and a rollback makes any earlier approved or retired version active again (the one active
before it retires). A draft can never become active; one version per policy name is active.

>>> check_transition("draft", "approved", author="alice", actor="alice")
Traceback (most recent call last):
...
fengkong.errors.WorkflowError: cannot approve (now draft): the author cannot approve their own version (maker-checker)
>>> changes = diff_policies({"rules": [{"id": "R1", "when": "a < 1"}]},
...               {"rules": [{"id": "R1", "when": "a < 2"}, {"id": "R2", "when": "b"}]})
>>> [(c.path, c.kind) for c in changes]
[('rules.R1.when', 'changed'), ('rules.R2', 'added')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fengkong.errors import WorkflowError

__all__ = ["STATUSES", "Change", "check_transition", "diff_policies"]

STATUSES = ("draft", "approved", "active", "retired")
_VERB = {"approved": "approve", "active": "activate", "retired": "retire"}


def check_transition(current: str, target: str, *, author: str, actor: str) -> None:
    """Raise :class:`~fengkong.errors.WorkflowError` unless ``actor`` may move the version."""
    action = _VERB.get(target, f"move to {target}")
    if target not in STATUSES or target == "draft":
        raise WorkflowError(action, current=current, reason=f"expected one of {STATUSES[1:]}")
    if not actor.strip():
        raise WorkflowError(action, current=current, reason="the person acting must be named")
    allowed = {
        "approved": ("draft",),
        "active": ("approved", "retired"),
        "retired": ("active", "approved"),
    }[target]
    if current not in allowed:
        why = (
            "a draft must be approved by a second person first"
            if current == "draft"
            else f"only a version that is {' or '.join(allowed)} can be {target}"
        )
        raise WorkflowError(action, current=current, reason=why)
    if target == "approved" and actor == author:
        raise WorkflowError(
            action,
            current=current,
            reason="the author cannot approve their own version (maker-checker)",
        )


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: a dotted path, ``added``/``removed``/``changed`` and the values."""

    path: str
    kind: str
    old: Any
    new: Any


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """Lists of mappings with unique ids (rules) compare by id, not by position."""
    if items and all(isinstance(i, Mapping) and "id" in i for i in items):
        keys = [str(i["id"]) for i in items]
        if len(set(keys)) == len(keys):
            return dict(zip(keys, items, strict=True))
    return None


def diff_policies(old: Any, new: Any, path: str = "") -> list[Change]:
    """Every difference between two parsed policy files, rules matched by id."""
    if isinstance(old, list) and isinstance(new, list):
        a, b = _keyed(old), _keyed(new)
        if a is not None and b is not None:
            old, new = a, b
        else:
            old, new = dict(enumerate(old)), dict(enumerate(new))
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        changes = []
        for key in [*old, *(k for k in new if k not in old)]:
            where = f"{path}.{key}" if path else str(key)
            if key not in new:
                changes.append(Change(where, "removed", old[key], None))
            elif key not in old:
                changes.append(Change(where, "added", None, new[key]))
            else:
                changes.extend(diff_policies(old[key], new[key], where))
        return changes
    return [] if old == new else [Change(path, "changed", old, new)]
