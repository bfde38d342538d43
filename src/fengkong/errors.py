"""The fengkong error tree.

Every error fengkong raises on purpose derives from :class:`FengkongError`. Leaves also
inherit the built-in exception a caller would expect, so ``except ValueError`` keeps working.
Errors carry structured fields; HTTP status codes live only in ``fengkong.api.errors``.

::

    FengkongError (Exception)
    ├── InvalidArgumentError (ValueError)      one bad argument: field, expected, got
    ├── ConfigError (ValueError)               problems in a user-written file, all at once
    ├── OutputError (OSError)                  an output location that cannot be written
    ├── NotFoundError (LookupError)            a named thing that does not exist
    ├── WorkflowError (ValueError)             a state change the workflow forbids
    └── NotFittedError (ValueError, AttributeError)
                                               an estimator used before ``fit``

Examples
--------
>>> from fengkong.errors import InvalidArgumentError
>>> try:
...     raise InvalidArgumentError("applications", expected="a positive integer", got=0)
... except ValueError as exc:
...     print(exc)
applications: expected a positive integer, got 0
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConfigError",
    "FengkongError",
    "InvalidArgumentError",
    "NotFittedError",
    "NotFoundError",
    "OutputError",
    "Problem",
    "WorkflowError",
]


class FengkongError(Exception):
    """Root of every error fengkong raises on purpose."""


class InvalidArgumentError(FengkongError, ValueError):
    """An argument has a value outside what is accepted.

    Parameters
    ----------
    field : str
        The name of the argument or field, as the caller wrote it.
    expected : str
        What would have been accepted.
    got : object
        The value received.
    """

    def __init__(self, field: str, *, expected: str, got: Any, note: str = "") -> None:
        self.field = field
        self.expected = expected
        self.got = got
        message = f"{field}: expected {expected}, got {got!r}"
        super().__init__(f"{message} ({note})" if note else message)


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a user-written file.

    ``path`` is the dotted location inside the file (``loans.products.0.share``); ``file`` is
    the file's name, or ``"<defaults>"``/``"<arguments>"`` when the problem is not in a file;
    ``line`` (1-based) when it is known.
    """

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        file = f"{self.file}:{self.line}" if self.line is not None else self.file
        where = f"{file}: {self.path}" if self.path else file
        return f"{where}: {self.message}"


class ConfigError(FengkongError, ValueError):
    """A user-written file (parameters, policy, variable spec) has problems; all are listed."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("ConfigError needs at least one problem")
        count = len(self.problems)
        header = f"{count} problem{'s' if count > 1 else ''}:"
        super().__init__("\n".join([header, *(f"  - {p}" for p in self.problems)]))


class OutputError(FengkongError, OSError):
    """An output location cannot be created or written."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot write to {path}: {reason}")


class NotFoundError(FengkongError, LookupError):
    """A named object (loan, policy version, file) does not exist."""

    def __init__(self, kind: str, key: Any) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} not found: {key!r}")


class WorkflowError(FengkongError, ValueError):
    """A state change the workflow forbids (a policy approved by its author, a draft made
    active); says what was asked, from which state, and why not."""

    def __init__(self, action: str, *, current: str, reason: str) -> None:
        self.action = action
        self.current = current
        self.reason = reason
        super().__init__(f"cannot {action} (now {current}): {reason}")


class NotFittedError(FengkongError, ValueError, AttributeError):
    """An estimator was used before ``fit`` was called."""
