"""Discord-shaped API errors raised by the emulator's handlers.

An :class:`ApiError` carries the HTTP status and Discord's JSON body ``{"code", "message"[, "errors"]}``.
:class:`FormErrors` collects field problems into Discord's nested ``errors`` tree (inner codes are
strings such as ``BASE_TYPE_BAD_LENGTH``) and raises one 50035 "Invalid Form Body" for all of them.
"""

from __future__ import annotations

from typing import Any

UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_OVERWRITE = 10009
UNKNOWN_ROLE = 10011
UNKNOWN_EMOJI = 10014
UNKNOWN_WEBHOOK = 10015
UNKNOWN_BAN = 10026
UNKNOWN_STICKER = 10060
MAX_ROLES = 30005
MAX_WEBHOOKS = 30007
MAX_EMOJIS = 30008
MAX_CHANNELS = 30013
MAX_STICKERS = 30039
MAX_OVERWRITES = 30060
UNAUTHORIZED = 40001
REQUEST_TOO_LARGE = 40005
ONE_PARENT_CHANGE = 40009
EMPTY_MESSAGE = 50006
INVALID_CHANNEL_TYPE = 50024
INVALID_ROLE = 50028
INVALID_FORM_BODY = 50035
INVALID_JSON = 50109
BULK_BAN_FAILED = 500000

_UNKNOWN_MESSAGES = {
    UNKNOWN_CHANNEL: "Unknown Channel",
    UNKNOWN_GUILD: "Unknown Guild",
    UNKNOWN_OVERWRITE: "Unknown Overwrite",
    UNKNOWN_ROLE: "Unknown Role",
    UNKNOWN_EMOJI: "Unknown Emoji",
    UNKNOWN_WEBHOOK: "Unknown Webhook",
    UNKNOWN_BAN: "Unknown Ban",
    UNKNOWN_STICKER: "Unknown Sticker",
}


class ApiError(Exception):
    """An error response: ``status`` plus the JSON body Discord would send."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def unknown(code: int) -> ApiError:
    """404 for an unknown object, e.g. ``unknown(UNKNOWN_ROLE)`` → ``{"message": "Unknown Role", "code": 10011}``."""
    return ApiError(404, code, _UNKNOWN_MESSAGES[code])


def route_not_found() -> ApiError:
    return ApiError(404, 0, "404: Not Found")


def method_not_allowed() -> ApiError:
    return ApiError(405, 0, "405: Method Not Allowed")


def unauthorized() -> ApiError:
    return ApiError(401, UNAUTHORIZED, "401: Unauthorized")


Path = tuple[str | int, ...]


class FormErrors:
    """Collects field errors; :meth:`raise_if_any` raises one 50035 carrying them all."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: Path, code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def __bool__(self) -> bool:
        return bool(self.tree)

    def raise_if_any(self) -> None:
        if self.tree:
            raise ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", errors=self.tree)


def form_error(path: Path, code: str, message: str) -> ApiError:
    """A 50035 with a single field error (an empty path puts it at the top-level ``_errors``)."""
    errs = FormErrors()
    errs.add(path, code, message)
    return ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", errors=errs.tree)
