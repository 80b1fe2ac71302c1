"""Turn Discord's error responses into GaibErrors (all exit code 4).

| HTTP status / Discord code            | raised                    |
|---------------------------------------|---------------------------|
| 401                                   | DiscordAuthError          |
| 403 (50013 lacking perms, 50001 access, anything else) | DiscordPermissionError |
| 404 (10003 channel, 10011 role, …)    | DiscordNotFound           |
| 429 after the retries                 | DiscordRateLimited        |
| 5xx / network after the retries       | DiscordUnavailable        |
| any other 4xx (50035 form body, 30005 max roles, …) | DiscordError |

Every error carries ``details = {"status", "discord_code", "route", "errors"?}``; for 50035 the field
errors are flattened to ``path: CODE message`` strings (``permission_overwrites.0.type:
BASE_TYPE_CHOICES …``) and listed in the message too. Messages never contain the bot token (callers
pass it in ``secrets`` and it is scrubbed) nor a webhook token (routes are shown redacted).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gaib.errors import (
    DiscordAuthError,
    DiscordError,
    DiscordNotFound,
    DiscordPermissionError,
    DiscordRateLimited,
    DiscordUnavailable,
)
from gaib.redact import replace_secrets

MAX_FIELD_ERRORS_IN_MESSAGE = 10
_MAX_TEXT = 300


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace the secrets in ``text`` by ``[redacted]`` (short ones only as whole words: gaib.redact)."""
    return replace_secrets(text, [s for s in secrets if s])


def flatten_field_errors(tree: Any, prefix: str = "") -> list[str]:
    """Flatten Discord's nested ``errors`` object into ``path: CODE message`` lines, in document order.

    ``{"name": {"_errors": [{"code": "X", "message": "m"}]}}`` → ``["name: X m"]``; array indices
    appear as path segments (``permission_overwrites.0.type``); errors about the whole body get the
    path ``(body)``. Malformed input yields no lines rather than an exception.
    """
    lines: list[str] = []
    if not isinstance(tree, dict):
        return lines
    for key, value in tree.items():
        if key == "_errors":
            if not isinstance(value, list):
                continue
            for item in value:
                if not isinstance(item, dict):
                    continue
                code = str(item.get("code", "")).strip()
                message = str(item.get("message", "")).strip()
                text = " ".join(part for part in (code, message) if part)
                lines.append(f"{prefix or '(body)'}: {text[:_MAX_TEXT]}")
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
            lines.extend(flatten_field_errors(value, path))
    return lines


def _discord_code(body: Any) -> int | None:
    if isinstance(body, dict):
        code = body.get("code")
        if isinstance(code, int) and not isinstance(code, bool):
            return code
    return None


def _discord_message(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:_MAX_TEXT]
    return ""


def error_from_response(
    status: int, body: Any, route: str, *, secrets: Iterable[str] = ()
) -> DiscordError:
    """Build the GaibError for a non-2xx, non-retried Discord answer.

    ``route`` is the redacted ``METHOD path`` (see ``Route.display``). Never raises.
    """
    secrets = tuple(secrets)
    code = _discord_code(body)
    discord_message = scrub(_discord_message(body), secrets)
    field_errors = [scrub(line, secrets) for line in
                    flatten_field_errors(body.get("errors") if isinstance(body, dict) else None)]
    details: dict[str, Any] = {"status": status, "discord_code": code, "route": route}
    if field_errors:
        details["errors"] = field_errors
    said = f"{discord_message} (code {code})" if code is not None else (discord_message or f"HTTP {status}")
    if status == 401:
        return DiscordAuthError(f"Discord rejected the bot token on {route}: {said}.", details=details)
    if status == 403:
        return DiscordPermissionError(f"The bot lacks permission for {route}: {said}.", details=details)
    if status == 404:
        return DiscordNotFound(f"Discord found nothing at {route}: {said}.", details=details)
    if status == 429:
        return DiscordRateLimited(f"Discord kept rate limiting {route}: {said}.", details=details)
    if status >= 500:
        return DiscordUnavailable(f"Discord answered {route} with HTTP {status}: {said}.", details=details)
    message = f"Discord refused {route}: {said}."
    if field_errors:
        shown = field_errors[:MAX_FIELD_ERRORS_IN_MESSAGE]
        message += " " + "; ".join(shown)
        if len(field_errors) > len(shown):
            message += f"; … and {len(field_errors) - len(shown)} more"
    return DiscordError(message, details=details, hint=_hint_for(code))


def _hint_for(code: int | None) -> str | None:
    hints = {
        30005: "The server already has 250 roles; delete some before adding more.",
        30013: "The server already has 500 channels; delete some before adding more.",
        30007: "The channel already has 15 webhooks; delete one in Discord first.",
        30058: "The server already has 1000 webhooks; delete some in Discord first.",
        40009: "Move channels between categories one at a time.",
        50035: "Fix the fields listed above in the configuration and run the command again.",
    }
    return hints.get(code) if code is not None else None
