"""``LocalIdentity``: the caller of a local run, as declared (``GAIB_ACTOR``, else ``user@host``); never verified."""

from __future__ import annotations

import getpass
import socket

from gaib.secrets.identity import Caller


class LocalIdentity:
    def __init__(self, actor: str | None) -> None:
        self._actor = actor

    def __repr__(self) -> str:
        return "LocalIdentity()"

    def caller(self) -> Caller:
        if self._actor:
            return Caller(name=self._actor)
        try:
            user = getpass.getuser()
        except Exception:  # no passwd entry in some containers
            user = "unknown"
        return Caller(name=f"{user}@{socket.gethostname()}")
