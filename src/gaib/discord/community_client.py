"""The community half of the Discord client: guild settings, emojis, stickers, bans, messages,
webhook deletion and Discord's CDN (the DiscordPort methods of :mod:`gaib.discord.community`).

:class:`CommunityRequests` is mixed into :class:`gaib.discord.client.DiscordClient` and sends through its
request loop, so everything the client promises (rate limits from the headers, retries, redaction,
no token in errors) holds here too. The CDN is read without the bot token through a client of its own
that records nothing (the CDN is not the API a recording describes).

The CDN root is ``https://cdn.discordapp.com`` when the API is Discord's (a host ending in
``discord.com``), and ``{scheme}://{host}/cdn`` otherwise, which is where the bundled emulator serves
the images of its guild.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from gaib.discord import limits as L
from gaib.discord.community import (
    DISCORD_CDN,
    Ban,
    BulkBanResult,
    Emoji,
    GuildSettings,
    Message,
    Sticker,
    data_uri,
    image_type,
)
from gaib.errors import DiscordError, DiscordNotFound, DiscordUnavailable, InvalidInput
from gaib.names import check_snowflake

if TYPE_CHECKING:
    import httpx

    from gaib.discord.ratelimit import Clock, RetryPolicy, Route

T = TypeVar("T")

_CDN_PATH = re.compile(r"[A-Za-z0-9_]+(/[A-Za-z0-9_.-]+){1,3}")
_STICKER_TYPES = {"image/png": "png", "image/gif": "gif", "application/json": "json"}
EMOJI_NAME = re.compile(r"[A-Za-z0-9_]{2,32}")


def cdn_root_for(base_url: str) -> str:
    """Discord's CDN for Discord's API, else ``{origin}/cdn`` (the emulator's)."""
    parts = urllib.parse.urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if host == "discord.com" or host.endswith(".discord.com"):
        return DISCORD_CDN
    return f"{parts.scheme}://{parts.netloc}/cdn"


class CommunityRequests:
    """Settings, emojis, stickers, bans, messages and the CDN; needs the client's request loop."""

    if TYPE_CHECKING:
        base_url: str
        clock: Clock
        retry: RetryPolicy

        def _request(self, route: Route, *, body: Any = None, reason: str | None = None,
                     query: Mapping[str, str] | None = None, url_root: str | None = None,
                     probe: Callable[[], Any] | None = None, sub: str | None = None,
                     files: Mapping[str, tuple[str, bytes, str]] | None = None) -> Any: ...

        def _route(self, method: str, template: str, **params: str) -> Route: ...

        def _guild(self) -> str: ...

        def _backoff(self, route: Route, attempt: int, what: str) -> None: ...

        @staticmethod
        def _parse(kind: str, build: Callable[[dict[str, Any]], T], data: Any) -> T: ...

        @staticmethod
        def _parse_list(kind: str, build: Callable[[dict[str, Any]], T], data: Any) -> list[T]: ...

    _cdn_lock = threading.Lock()
    _cdn_http: httpx.Client | None = None

    # -- settings ---------------------------------------------------------------------------------

    def get_guild_settings(self) -> GuildSettings:
        """GET /guilds/{id}: the settings of the guild object."""
        data = self._request(self._route("GET", "/guilds/{guild_id}", guild_id=self._guild()))
        return self._parse("guild", GuildSettings.from_api, data)

    def update_guild_settings(self, fields: Mapping[str, Any], *, reason: str | None = None) -> GuildSettings:
        """PATCH /guilds/{id} with Discord's field names; returns the settings Discord answered with."""
        if not isinstance(fields, Mapping) or not fields:
            raise InvalidInput("A guild settings change needs at least one field.")
        route = self._route("PATCH", "/guilds/{guild_id}", guild_id=self._guild())
        return self._parse("guild", GuildSettings.from_api, self._request(route, body=dict(fields), reason=reason))

    # -- the CDN ----------------------------------------------------------------------------------

    @property
    def cdn_root(self) -> str:
        return cdn_root_for(self.base_url)

    def _cdn(self) -> httpx.Client:
        import httpx

        with self._cdn_lock:
            if self._cdn_http is None:
                self._cdn_http = httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0), follow_redirects=False,
                                              trust_env=False)
            return self._cdn_http

    def close_cdn(self) -> None:
        with self._cdn_lock:
            if self._cdn_http is not None:
                self._cdn_http.close()
                self._cdn_http = None

    def cdn_get(self, path: str, *, max_bytes: int) -> bytes:
        """GET ``{cdn}/{path}`` without the bot token, retrying 5xx and network failures; refuses more than
        ``max_bytes`` (DiscordError) and answers 404 with DiscordNotFound."""
        import httpx

        from gaib.discord.ratelimit import Route

        if not isinstance(path, str) or not _CDN_PATH.fullmatch(path) or ".." in path:
            raise InvalidInput(f"Not a CDN path: {str(path)[:80]!r}.")
        route = Route("GET", "/cdn/" + path.split("/", 1)[0], {})
        url = f"{self.cdn_root}/{path}"
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._cdn().stream("GET", url) as response:
                    status = response.status_code
                    if status == 200:
                        chunks, size = [], 0
                        for chunk in response.iter_bytes():
                            size += len(chunk)
                            if size > max_bytes:
                                raise DiscordError(f"The CDN object {path} is larger than {max_bytes} bytes.",
                                                   details={"path": path})
                            chunks.append(chunk)
                        return b"".join(chunks)
            except httpx.TransportError as exc:
                if attempt >= self.retry.max_attempts:
                    raise DiscordUnavailable(f"Could not read {path} from Discord's CDN: {type(exc).__name__}.",
                                             details={"path": path}) from None
                self._backoff(route, attempt, type(exc).__name__)
                continue
            if status == 404:
                raise DiscordNotFound(f"Discord's CDN has no {path}.", details={"path": path})
            if status in (429, 500, 502, 503, 504) and attempt < self.retry.max_attempts:
                self._backoff(route, attempt, f"HTTP {status}")
                continue
            raise DiscordError(f"Discord's CDN answered {status} for {path}.", details={"path": path, "status": status})

    # -- emojis -----------------------------------------------------------------------------------

    def list_emojis(self) -> list[Emoji]:
        data = self._request(self._route("GET", "/guilds/{guild_id}/emojis", guild_id=self._guild()))
        return self._parse_list("emoji", Emoji.from_api, data)

    def create_emoji(self, name: str, image: bytes, *, roles: Sequence[str] = (),
                     reason: str | None = None) -> Emoji:
        """POST /guilds/{id}/emojis with the image as a data URI (at most 256 KiB; InvalidInput otherwise)."""
        if not isinstance(name, str) or not EMOJI_NAME.fullmatch(name):
            raise InvalidInput(f"An emoji name is 2-32 letters, digits or underscores, not {str(name)[:40]!r}.")
        if len(image) > L.EMOJI_MAX_BYTES:
            raise InvalidInput(f"The image of emoji {name} is {len(image)} bytes; Discord takes at most "
                               f"{L.EMOJI_MAX_BYTES // 1024} KiB.")
        if image_type(image) not in ("image/png", "image/gif", "image/jpeg", "image/webp"):
            raise InvalidInput(f"The image of emoji {name} is not a PNG, GIF, JPEG or WebP image.")
        body = {"name": name, "image": data_uri(image), "roles": [check_snowflake(r, "role id") for r in roles]}
        route = self._route("POST", "/guilds/{guild_id}/emojis", guild_id=self._guild())
        return self._parse("emoji", Emoji.from_api, self._request(route, body=body, reason=reason))

    def update_emoji(self, emoji_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Emoji:
        route = self._route("PATCH", "/guilds/{guild_id}/emojis/{emoji_id}", guild_id=self._guild(),
                            emoji_id=emoji_id)
        return self._parse("emoji", Emoji.from_api, self._request(route, body=dict(fields), reason=reason))

    def delete_emoji(self, emoji_id: str, *, reason: str | None = None) -> None:
        route = self._route("DELETE", "/guilds/{guild_id}/emojis/{emoji_id}", guild_id=self._guild(),
                            emoji_id=emoji_id)
        self._request(route, reason=reason)

    # -- stickers ---------------------------------------------------------------------------------

    def list_stickers(self) -> list[Sticker]:
        data = self._request(self._route("GET", "/guilds/{guild_id}/stickers", guild_id=self._guild()))
        return self._parse_list("sticker", Sticker.from_api, data)

    def create_sticker(self, name: str, tags: str, description: str | None, image: bytes, *,
                       reason: str | None = None) -> Sticker:
        """POST /guilds/{id}/stickers as multipart form data (``name``, ``tags``, ``description``, ``file``)."""
        if len(image) > L.STICKER_MAX_BYTES:
            raise InvalidInput(f"The file of sticker {str(name)[:30]} is {len(image)} bytes; Discord takes at "
                               f"most {L.STICKER_MAX_BYTES // 1024} KiB.")
        kind = image_type(image)
        if kind not in _STICKER_TYPES:
            raise InvalidInput(f"The file of sticker {str(name)[:30]} is not a PNG, APNG, GIF or Lottie JSON file.")
        body = {"name": name, "tags": tags, "description": description or ""}
        route = self._route("POST", "/guilds/{guild_id}/stickers", guild_id=self._guild())
        files = {"file": (f"sticker.{_STICKER_TYPES[kind]}", image, kind)}
        return self._parse("sticker", Sticker.from_api, self._request(route, body=body, reason=reason, files=files))

    def update_sticker(self, sticker_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Sticker:
        route = self._route("PATCH", "/guilds/{guild_id}/stickers/{sticker_id}", guild_id=self._guild(),
                            sticker_id=sticker_id)
        return self._parse("sticker", Sticker.from_api, self._request(route, body=dict(fields), reason=reason))

    def delete_sticker(self, sticker_id: str, *, reason: str | None = None) -> None:
        route = self._route("DELETE", "/guilds/{guild_id}/stickers/{sticker_id}", guild_id=self._guild(),
                            sticker_id=sticker_id)
        self._request(route, reason=reason)

    # -- bans -------------------------------------------------------------------------------------

    def list_bans(self) -> list[Ban]:
        """Every ban, by user id: pages of 1000 (``after`` the last user id of the previous page)."""
        route = self._route("GET", "/guilds/{guild_id}/bans", guild_id=self._guild())
        out: list[Ban] = []
        after: str | None = None
        while True:
            query = {"limit": str(L.BAN_PAGE), **({"after": after} if after else {})}
            page = self._parse_list("ban", Ban.from_api, self._request(route, query=query))
            out.extend(page)
            if len(page) < L.BAN_PAGE:
                return sorted(out, key=lambda b: int(b.user_id))
            after = max(page, key=lambda b: int(b.user_id)).user_id

    def ban(self, user_id: str, *, reason: str | None = None) -> None:
        route = self._route("PUT", "/guilds/{guild_id}/bans/{user_id}", guild_id=self._guild(), user_id=user_id)
        self._request(route, body={"delete_message_seconds": 0}, reason=reason)

    def bulk_ban(self, user_ids: Sequence[str], *, reason: str | None = None) -> BulkBanResult:
        ids = [check_snowflake(u, "user id") for u in user_ids]
        if not 1 <= len(ids) <= L.BULK_BAN_MAX or len(set(ids)) != len(ids):
            raise InvalidInput(f"A bulk ban takes 1-{L.BULK_BAN_MAX} different user ids.")
        route = self._route("POST", "/guilds/{guild_id}/bulk-ban", guild_id=self._guild())
        data = self._request(route, body={"user_ids": ids, "delete_message_seconds": 0}, reason=reason)

        def build(d: dict[str, Any]) -> BulkBanResult:
            return BulkBanResult(banned=tuple(str(x) for x in d["banned_users"]),
                                 failed=tuple(str(x) for x in d["failed_users"]))

        return self._parse("bulk ban", build, data)

    def unban(self, user_id: str, *, reason: str | None = None) -> None:
        route = self._route("DELETE", "/guilds/{guild_id}/bans/{user_id}", guild_id=self._guild(), user_id=user_id)
        self._request(route, body={}, reason=reason)  # the spec requires a (empty) body

    # -- messages ---------------------------------------------------------------------------------

    def list_messages(self, channel_id: str, *, limit: int, before: str | None = None) -> list[Message]:
        """Newest first, 100 per request, ``before`` the oldest message of the previous page."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInput("A message listing needs a limit of at least 1.")
        route = self._route("GET", "/channels/{channel_id}/messages", channel_id=channel_id)
        out: list[Message] = []
        cursor = check_snowflake(before, "message id") if before is not None else None
        while len(out) < limit:
            want = min(L.MESSAGE_PAGE, limit - len(out))
            query = {"limit": str(want), **({"before": cursor} if cursor else {})}
            page = self._parse_list("message", Message.from_api, self._request(route, query=query))
            out.extend(page)
            if len(page) < want:
                break
            cursor = min(page, key=lambda m: int(m.id)).id
        return out

    # -- webhooks ---------------------------------------------------------------------------------

    def delete_webhook(self, webhook_id: str, *, reason: str | None = None) -> None:
        route = self._route("DELETE", "/webhooks/{webhook_id}", webhook_id=webhook_id)
        self._request(route, reason=reason)
