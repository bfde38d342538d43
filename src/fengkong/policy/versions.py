"""Policy versions: the maker-checker workflow and the difference between two versions.

A version is immutable: its content hash is fixed when it is submitted. Its status moves

``draft`` → ``approved`` (by someone other than its author) → ``active`` → ``retired``,

and a rollback makes any earlier approved or retired version active again (the one active
before it retires). A draft can never become active; one version per policy name is active.

Who acts is compared as a normalised identity (:func:`normalise_identity`: NFKC, case-folded,
whitespace trimmed and collapsed), so a look-alike of the author's name is the author:

>>> check_transition("draft", "approved", author="alice", actor=" Ａｌｉｃｅ")
Traceback (most recent call last):
...
fengkong.errors.WorkflowError: cannot approve (now draft): the author cannot approve their own version (maker-checker)
>>> changes = diff_policies({"rules": [{"id": "R1", "when": "a < 1"}]},
...               {"rules": [{"id": "R1", "when": "a < 2"}, {"id": "R2", "when": "b"}]})
>>> [(c.path, c.kind) for c in changes]
[('rules.R1.when', 'changed'), ('rules.R2', 'added')]
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from fengkong.errors import InvalidArgumentError, WorkflowError

__all__ = [
    "IDENTITY_MAX_LENGTH",
    "STATUSES",
    "Change",
    "check_transition",
    "diff_policies",
    "normalise_identity",
]

STATUSES = ("draft", "approved", "active", "retired")
_VERB = {"approved": "approve", "active": "activate", "retired": "retire"}

IDENTITY_MAX_LENGTH: Final = 64
"""The longest identity, counted after normalisation (the database columns hold 64)."""


def normalise_identity(text: str, *, field: str = "identity") -> str:
    """The one form of a person's name that maker-checker compares and the database stores.

    NFKC-normalised, case-folded (then NFKC again: folding can un-normalise), trimmed, with
    each run of inner whitespace made one space. Compatibility look-alikes therefore become
    the name they imitate: full-width ``Ａｌｉｃｅ``, ligatures (``ﬁona``), mathematical and
    circled letters (``𝐚𝐥𝐢𝐜𝐞``, ``ⓐⓛⓘⓒⓔ``), the Kelvin sign, long s, ``ß`` (as ``ss``),
    a decomposed accent, a no-break or ideographic space. Look-alikes from other scripts
    (Cyrillic ``а`` for Latin ``a``) are distinct letters, not compatibility forms, and stay
    distinct: identities come from API keys and operators an administrator names.

    Raises :class:`~fengkong.errors.InvalidArgumentError` naming ``field`` for text that is
    empty once trimmed, longer than :data:`IDENTITY_MAX_LENGTH`, or that holds a control,
    format (invisible: zero-width space, bidirectional override, soft hyphen), surrogate,
    private-use or unassigned character; a tab or newline is a control character.

    >>> normalise_identity("  Ａｌｉｃｅ   Ｗａｎｇ ")
    'alice wang'
    >>> normalise_identity("ﬁona") == normalise_identity("FIONA")
    True
    >>> try:
    ...     normalise_identity("ali\u200bce", field="actor")
    ... except ValueError as exc:
    ...     print(exc)
    actor: expected a name without control or invisible characters, got 'ali\u200bce' (U+200B at position 3)
    """
    if not isinstance(text, str):
        raise InvalidArgumentError(field, expected="a name (text)", got=text)
    for position, char in enumerate(text):
        if unicodedata.category(char).startswith("C"):
            raise InvalidArgumentError(
                field,
                expected="a name without control or invisible characters",
                got=text,
                note=f"U+{ord(char):04X} at position {position}",
            )
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    identity = " ".join(folded.split())
    if not identity:
        raise InvalidArgumentError(field, expected="a name (not empty or only spaces)", got=text)
    if len(identity) > IDENTITY_MAX_LENGTH:
        raise InvalidArgumentError(
            field,
            expected=f"a name of at most {IDENTITY_MAX_LENGTH} characters once normalised",
            got=text,
            note=f"{len(identity)} characters",
        )
    return identity


def check_transition(current: str, target: str, *, author: str, actor: str) -> None:
    """Raise :class:`~fengkong.errors.WorkflowError` unless ``actor`` may move the version.

    ``author`` and ``actor`` are compared as :func:`normalise_identity` makes them (a name
    that is no identity raises :class:`~fengkong.errors.InvalidArgumentError` naming it).
    """
    action = _VERB.get(target, f"move to {target}")
    if target not in STATUSES or target == "draft":
        raise WorkflowError(action, current=current, reason=f"expected one of {STATUSES[1:]}")
    actor = normalise_identity(actor, field="actor")
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
    if target == "approved" and actor == normalise_identity(author, field="author"):
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
