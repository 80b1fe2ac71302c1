"""Personal parts of a snapshot (bans, members, messages): who may read them (issue 24, item 3).

``snapshot download`` and ``snapshot compare`` give out a snapshot's structure (roles, channels, settings,
emojis, stickers, state, registry) to whoever reaches the store; its personal parts only to a caller who
shows the server's own bot token — one Discord read, ``GET /guilds/{id}`` with that token: 200 means the
token's bot is in that server; 401, 403 or 404 that it is not — or who is the operator role (on AWS, STS
says the caller is a session of ``GAIB_OPERATOR_ROLE_ARN``'s role). ``--structure-only`` skips the personal
parts without any check. Locally there is no operator role: the bot token decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, TypeVar

from gaib.errors import DiscordAuthError, DiscordNotFound, DiscordPermissionError, MissingSetting, PersonalDataRefused
from gaib.ports import Ports
from gaib.secrets.identity import is_session_of
from gaib.snapshots.parts import Extras

PERSONAL_PARTS = ("bans", "members", "messages", "threads")
"""The part names (``messages`` and ``members`` also as folders: ``messages/{channel}``) holding people's data
(``threads`` holds each forum post's first message)."""

class _Result(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound="_Result | dict[str, Any]")
Granted = Literal["bot", "operator", "structure-only", "refused"]


def is_personal(part: str) -> bool:
    """Whether a manifest's part name holds personal data (bans, members, saved messages)."""
    return part in PERSONAL_PARTS or part.startswith(("members/", "messages/"))


def personal_of(parts: Iterable[str]) -> list[str]:
    return sorted(p for p in parts if is_personal(p))


@dataclass(frozen=True)
class Access:
    """Whether the personal parts may be given out: ``granted`` says how (or ``refused`` / ``structure-only``),
    ``reason`` why not (None when allowed)."""

    granted: Granted
    reason: str | None = None

    @property
    def allowed(self) -> bool:
        return self.granted in ("bot", "operator")

    def to_dict(self) -> dict[str, object]:
        return {"granted": self.granted, "reason": self.reason}


def access(ports: Ports, server_id: str, *, structure_only: bool) -> Access:
    """How this caller may read ``server_id``'s personal parts: the operator role (no Discord read), else the
    bot token (one Discord read). Discord failing otherwise (5xx, rate limit) raises: nothing is decided."""
    if structure_only:
        return Access("structure-only", "--structure-only was given")
    settings = ports.settings
    if settings.operator_role_arn and is_session_of(ports.identity.caller(), settings.operator_role_arn):
        return Access("operator")
    if not settings.bot_token:
        return Access("refused", "no bot token is set (DISCORD_BOT_TOKEN)")
    if settings.guild_id != server_id:
        return Access("refused", f"the bot token is checked against server {settings.guild_id}, not {server_id}")
    try:
        ports.discord.get_guild_settings()
    except (DiscordAuthError, DiscordPermissionError, DiscordNotFound, MissingSetting) as exc:
        return Access("refused", f"the bot token does not belong to server {server_id} ({exc.error_code})")
    return Access("bot")


class Guard:
    """One command's decision on the personal parts of its snapshots, made once (before anything is written)
    by :meth:`of`: ``skipped`` lists what is left out, :meth:`parts` and :meth:`extras` leave it out,
    :meth:`done` notes it in the result and raises ``PersonalDataRefused`` (exit 8) when it was refused (not
    merely skipped with ``--structure-only``)."""

    def __init__(self, server_id: str, skipped: list[str], decided: Access | None) -> None:
        self.server_id = server_id
        self.skipped = tuple(skipped)
        self.decided = decided

    @classmethod
    def of(cls, ports: Ports, server_id: str, parts: Iterable[str], structure_only: bool) -> Guard:
        """Decide for ``parts`` (of one or more snapshots); nothing is asked of STS or Discord without any
        personal part."""
        held = personal_of(parts)
        if not held:
            return cls(server_id, [], None)
        decided = access(ports, server_id, structure_only=structure_only)
        return cls(server_id, [] if decided.allowed else held, decided)

    @property
    def messages(self) -> bool:
        """Whether saved messages may be loaded."""
        return not self.skipped

    def parts(self, parts: Iterable[str]) -> list[str]:
        return [p for p in parts if p not in self.skipped]

    def allows(self, part: str) -> bool:
        """Whether the part ``part`` may be read (not left out)."""
        return part not in self.skipped

    def extras(self, extras: Extras) -> Extras:
        """``extras`` without its bans, messages and threads when personal parts are left out."""
        return replace(extras, bans=(), messages={}, threads=()) if self.skipped else extras

    def note(self) -> dict[str, object] | None:
        """What a result says of its personal parts: None when none were left out."""
        if self.decided is None or not self.skipped:
            return None
        return {"skipped": list(self.skipped), **self.decided.to_dict()}

    def done(self, result: R, what: str, key: str) -> R:
        """``result`` (a comparison gets its ``personal`` note), or ``PersonalDataRefused`` carrying it in
        ``details[key]`` when the personal parts were refused; ``what`` says what was done with the rest."""
        if isinstance(result, dict):
            result["personal"] = self.note()
        if self.decided is None or self.decided.granted != "refused":
            return result
        shown = ", ".join(self.skipped[:5]) + (f" and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else "")
        raise PersonalDataRefused(
            f"{what}, but the personal parts of server {self.server_id} ({shown}) were refused: "
            f"{self.decided.reason}. Only the server's own bot token or the operator role may read bans, members "
            "and messages.",
            details={key: result if isinstance(result, dict) else result.to_dict(), "personal": self.note()})
