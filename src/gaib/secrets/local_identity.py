"""``LocalIdentity``: the caller of a local run, as declared (``GAIB_ACTOR``, else ``user@host``); never verified."""

from __future__ import annotations

import getpass
import socket

from gaib.secrets.identity import Caller


class LocalIdentity:
    def __init__(self, actor: str | None) -> None:
        self._actor = actor
        self._caller: Caller | None = None

    def __repr__(self) -> str:
        return "LocalIdentity()"

    def caller(self) -> Caller:
        if self._caller is None:
            self._caller = Caller(name=self._actor or _user_at_host())
        return self._caller


def _user_at_host() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
