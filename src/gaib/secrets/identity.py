"""The identity port: who is calling, as the platform vouches for it (AWS STS), or as declared locally.

Contracts every adapter keeps:

* ``caller()`` returns a :class:`Caller`; it is asked once per run and cached by the adapter;
* ``Caller.verified`` is True only when the platform said who the caller is (STS ``GetCallerIdentity``:
  its ARN); a local caller is self-declared (``GAIB_ACTOR``, else ``user@host``) and never verified;
* ``Caller.name`` is what records show (``set_by`` of a tier): the ARN when verified;
* a failure to ask is ``StorageError`` (exit 1) naming what failed, never a credential.

:func:`is_session_of` tells whether a verified caller is a session of a role (the operator role).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Protocol

SESSION_TAG: Final = "ServerId"
"""The session tag (and the object and secret tag) naming the server a role session may act on."""

_ROLE_ARN = re.compile(r"arn:(aws[a-z-]*):iam::(\d{12}):role/(?:[^/]+/)*([^/]+)")
_ASSUMED = re.compile(r"arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/[^/]+")


@dataclass(frozen=True)
class Caller:
    """Who runs this command: ``name`` (what records show), ``arn`` (STS's answer; None locally)."""

    name: str
    arn: str | None = None

    @property
    def verified(self) -> bool:
        return self.arn is not None

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "arn": self.arn, "verified": self.verified}


class Identity(Protocol):
    def caller(self) -> Caller:
        """The caller of this run (cached); StorageError (exit 1) when the platform cannot be asked."""
        ...


def is_session_of(caller: Caller, role_arn: str | None) -> bool:
    """True when ``caller`` is verified as a session of the role ``role_arn``
    (``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`` for ``arn:aws:iam::ACCOUNT:role/PATH/NAME``:
    same partition, account and role name; STS drops the path). False for an unverified caller or no role."""
    if caller.arn is None or not role_arn:
        return False
    role, session = _ROLE_ARN.fullmatch(role_arn), _ASSUMED.fullmatch(caller.arn)
    return role is not None and session is not None and role.groups() == session.groups()
