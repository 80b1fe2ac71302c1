"""The secret source port: read a secret by its name at run time, never store its value.

A backup schedule names the Secrets Manager secret that holds the bot token a scheduled run needs to
read the guild (for config exports and snapshots); the run reads it through :class:`SecretSource`
when it gets there. Contracts every adapter keeps:

* ``get(name)`` returns the value, or raises ``SecretUnavailable`` (exit 2) whose message names the
  secret but never carries a value;
* names are checked with :func:`check_secret_name` before any request or lookup;
* a value is read at most once per run (adapters cache it in memory, never on disk);
* ``bound_server(name)`` is the server the secret is bound to (its ``ServerId`` tag), None when it carries
  none; ``binds_servers`` says whether the source has such tags at all (Secrets Manager does; local
  ``GAIB_SECRET_*`` variables belong to whoever runs Gaib, and have none).

A secret holds the token itself, or a JSON object with one of the keys in ``TOKEN_KEYS``.
"""

from __future__ import annotations

import re
from typing import Final, Protocol

from gaib import safejson
from gaib.errors import InvalidName, SecretUnavailable

_NAME_RE = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_ARN_RE = re.compile(r"arn:aws(?:-[a-z]+)*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:secret:"
                     r"[A-Za-z0-9/_+=.@-]{1,512}")
_TOKEN_RE = re.compile(r"[A-Za-z0-9._-]{1,512}")
_BOT_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}")
TOKEN_KEYS: Final = ("token", "bot_token", "DISCORD_BOT_TOKEN")


WEBHOOK_SECRET_PREFIX: Final = "gaib/webhooks/"
"""Every secret that holds a server's own Discord webhook is named under this prefix, so the notifier
Lambda's policy can read those and nothing else (infrastructure/terraform/gaib-notify-owners.tf)."""
_WEBHOOK_NAME_RE = re.compile(r"gaib/webhooks/[A-Za-z0-9_+=@-][A-Za-z0-9_+=.@-]{0,127}"
                              r"(?:/[A-Za-z0-9_+=@-][A-Za-z0-9_+=.@-]{0,127}){0,7}")
_ARN_PREFIX_RE = re.compile(r"arn:aws(?:-[a-z]+)*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:secret:")


class SecretSource(Protocol):
    @property
    def binds_servers(self) -> bool:
        """Whether secrets carry the server they belong to (:meth:`bound_server` means something)."""
        ...

    def get(self, name: str) -> str:
        """The value of the secret ``name``; raises ``SecretUnavailable`` (the value never in a message)."""
        ...

    def get_text(self, name: str) -> str:
        """The whole text of the secret ``name`` as stored (not read as a bot token: a webhook URL, for
        instance), read fresh; raises ``SecretUnavailable`` (the value never in a message)."""
        ...

    def tags(self, name: str) -> dict[str, str] | None:
        """The tags of the secret ``name`` (Secrets Manager), or None where secrets carry no tags
        (``GAIB_SECRET_*`` variables); raises ``SecretUnavailable`` when it does not exist."""
        ...

    def bound_server(self, name: str) -> str | None:
        """The ``ServerId`` tag of the secret ``name`` (None: no such tag, or a source without tags);
        ``SecretUnavailable`` when the secret cannot be described (missing, access denied)."""
        ...


def looks_like_token(value: object) -> bool:
    """True when ``value`` holds something shaped like a Discord bot token (never to be echoed)."""
    return isinstance(value, str) and _BOT_TOKEN_SHAPE.search(value) is not None


def check_secret_name(value: object, what: str = "secret name") -> str:
    """``value`` if it is a Secrets Manager secret name or ARN; raises ``InvalidName`` (exit 6) otherwise,
    also for a value shaped like a Discord bot token (the token itself given by mistake: never echoed)."""
    if looks_like_token(value):
        raise InvalidName(f"Invalid {what}: it looks like a bot token itself. Give the name (or ARN) of the "
                          "Secrets Manager secret holding the token; Gaib never stores the token.",
                          details={"field": what})
    if isinstance(value, str) and (_NAME_RE.fullmatch(value) or _ARN_RE.fullmatch(value)):
        return value
    shown = repr(value)[:60] if isinstance(value, str) and value.isprintable() else "(unprintable or not text)"
    raise InvalidName(f"Invalid {what} {shown}: use a Secrets Manager name (letters, digits and /_+=.@-) "
                      "or its ARN.", details={"field": what})


def check_webhook_secret_name(value: object) -> str:
    """``value`` if it names a webhook secret: ``gaib/webhooks/...`` (or that secret's ARN), segments
    that never start with a dot (no ``..``, no empty segment). Raises ``InvalidName`` (exit 6) otherwise,
    without echoing a value shaped like a token or a URL."""
    what = "webhook secret name"
    if isinstance(value, str) and "://" in value:
        raise InvalidName(f"Invalid {what}: it is a URL. Give the name of the Secrets Manager secret holding "
                          "the webhook URL; Gaib never stores the URL.", details={"field": what})
    name = check_secret_name(value, what)
    bare = _ARN_PREFIX_RE.sub("", name, count=1)
    if not _WEBHOOK_NAME_RE.fullmatch(bare):
        shown = repr(name[:80])
        raise InvalidName(f"Invalid {what} {shown}: webhook secrets are named {WEBHOOK_SECRET_PREFIX}NAME "
                          "(letters, digits and _+=.@-; segments separated by '/', none starting with '.').",
                          hint=f"Store the webhook URL in a secret such as {WEBHOOK_SECRET_PREFIX}my-server, "
                               "tagged ServerId=<the server id>, and pass its name.",
                          details={"field": what})
    return name


def token_from(raw: str, name: str) -> str:
    """The token held by a secret's text: the text itself, or ``TOKEN_KEYS`` of a JSON object.

    Raises ``SecretUnavailable`` for an empty secret or a JSON object without a usable key.
    """
    text = raw.strip()
    if text.startswith("{"):
        try:
            doc = safejson.loads(text)
        except safejson.JsonProblem:
            doc = None
        if not isinstance(doc, dict):
            raise SecretUnavailable(f"Secret {name} holds text that looks like JSON but is not an object.")
        for key in TOKEN_KEYS:
            value = doc.get(key)
            if isinstance(value, str) and _TOKEN_RE.fullmatch(value.strip()):
                return value.strip()
        raise SecretUnavailable(f"Secret {name} is a JSON object without any of the keys "
                                f"{', '.join(TOKEN_KEYS)}.")
    if not _TOKEN_RE.fullmatch(text):
        raise SecretUnavailable(f"Secret {name} does not hold a bot token (letters, digits, '.', '_' and '-').")
    return text
