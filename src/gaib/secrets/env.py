"""``EnvSecretSource``: secrets from the environment, for local runs and tests (no AWS).

The secret named ``gaib/bot-token`` is the variable ``GAIB_SECRET_GAIB_BOT_TOKEN``: ``GAIB_SECRET_``
followed by the name in upper case with every character that is not a letter or digit replaced by
``_``. Only variables with that prefix are ever read, so a stored schedule cannot make a run send
another variable (an AWS key) anywhere as a bot token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gaib.errors import SecretUnavailable
from gaib.secrets.base import check_secret_name, token_from

PREFIX = "GAIB_SECRET_"


def variable_for(name: str) -> str:
    """The environment variable that holds the secret ``name`` locally."""
    return PREFIX + re.sub(r"[^A-Za-z0-9]", "_", check_secret_name(name)).upper()


class EnvSecretSource:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def __repr__(self) -> str:
        return "EnvSecretSource()"

    @property
    def binds_servers(self) -> bool:
        return False

    def bound_server(self, name: str) -> str | None:
        """Local variables carry no server: None (the name is still checked)."""
        check_secret_name(name)
        return None

    def get(self, name: str) -> str:
        return token_from(self._raw(name, "the bot token"), name)

    def get_text(self, name: str) -> str:
        return self._raw(name, "its value")

    def tags(self, name: str) -> dict[str, str] | None:
        self._raw(name, "its value")
        return None

    def _raw(self, name: str, what: str) -> str:
        variable = variable_for(name)
        raw = self._environ.get(variable)
        if raw is None:
            raise SecretUnavailable(f"Secret {name} is not set: locally it is read from the variable {variable}.",
                                    hint=f"Export {variable} with {what}, or run with AWS Secrets Manager "
                                         "(GAIB_SECRETS=aws).")
        return raw
