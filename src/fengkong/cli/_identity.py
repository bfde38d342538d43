"""Who is acting, for the commands that record it (maker-checker): configured, never typed.

The identity is, in this order,

- the holder of an API key (``--api-key``, or ``FENGKONG_API_KEY``): the key is looked up in
  the database exactly as the HTTP service authenticates it (only its SHA-256 is stored; a
  revoked key is refused) and must have a role allowed to edit policies;
- the operator configured for this shell or machine, ``FENGKONG_OPERATOR``.

When both are set they must name the same identity. Either way the identity is
:func:`~fengkong.policy.versions.normalise_identity`'s form, so ``Alice``, ``alice `` and
``ＡＬＩＣＥ`` are one person. A command never takes the identity as free text (there is no
``--by``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from fengkong.errors import InvalidArgumentError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["API_KEY_ENV", "OPERATOR_ENV", "ApiKeyOption", "acting_identity"]

OPERATOR_ENV = "FENGKONG_OPERATOR"
API_KEY_ENV = "FENGKONG_API_KEY"
_KEY_FIELD = f"--api-key ({API_KEY_ENV})"
_HOW = (
    f"{OPERATOR_ENV}=<your name>, or an API key "
    f"(--api-key or {API_KEY_ENV}; made with `fengkong apikey create`)"
)

ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar=API_KEY_ENV,
        show_default=False,
        help=f"Act as this API key's holder (prefer the {API_KEY_ENV} environment variable; "
        f"otherwise the identity is {OPERATOR_ENV}).",
    ),
]


def _masked(key: str) -> str:
    return f"{key[:6]}…" if len(key) > 8 else "…"


def acting_identity(session: Session, *, api_key: str | None, roles: tuple[str, ...]) -> str:
    """The normalised identity of whoever runs the command (see the module docstring).

    Raises :class:`~fengkong.errors.InvalidArgumentError` naming the setting when none is
    configured, the key is unknown or revoked, its role is not one of ``roles``, the
    operator's name is no identity, or the key's holder and the operator differ.
    """
    from fengkong.policy.versions import normalise_identity  # noqa: PLC0415 (on demand)

    operator = os.environ.get(OPERATOR_ENV)
    operator_id = normalise_identity(operator, field=OPERATOR_ENV) if operator is not None else None
    if not api_key:
        if operator_id is None:
            raise InvalidArgumentError("identity", expected=_HOW, got=None, note="neither is set")
        return operator_id
    from fengkong.services.access import authenticate  # noqa: PLC0415 (DB on demand)

    who = authenticate(session, api_key)
    if who is None:
        raise InvalidArgumentError(
            _KEY_FIELD, expected="a live API key of this database", got=_masked(api_key)
        )
    if who.role not in roles:
        raise InvalidArgumentError(
            _KEY_FIELD,
            expected=f"a key with the role {' or '.join(roles)}",
            got=who.role,
            note=f"the key of {who.name!r}",
        )
    holder = normalise_identity(who.name, field=f"{_KEY_FIELD} holder")
    if operator_id is not None and operator_id != holder:
        raise InvalidArgumentError(
            OPERATOR_ENV,
            expected=f"the API key holder's identity {holder!r}, or unset",
            got=operator,
        )
    return holder
