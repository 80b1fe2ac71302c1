"""Reading Discord's CDN (emoji, sticker, icon and banner images) for the Discord client.

Contract: :meth:`Cdn.get` sends no bot token and records nothing (the CDN is not the API a recording
describes); it reads through an HTTP client of its own, made on first use; it retries 429, 5xx and
network failures with the transport's backoff, refuses a path that is not a CDN path (InvalidInput) and
more than ``max_bytes`` (DiscordError), and answers 404 with DiscordNotFound.

The CDN root is ``https://cdn.discordapp.com`` when the API is Discord's (a host ending in
``discord.com``), and ``{scheme}://{host}/cdn`` otherwise, which is where the bundled emulator serves
the images of its guild.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from typing import TYPE_CHECKING

from gaib.discord.community import DISCORD_CDN
from gaib.discord.ratelimit import Route
from gaib.errors import DiscordError, DiscordNotFound, DiscordUnavailable, InvalidInput

if TYPE_CHECKING:
    import httpx

    from gaib.discord.transport import Transport

_CDN_PATH = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+){1,3}")  # discovery-splashes/…, guild-events/…
_CDN_QUERY = re.compile(r"[A-Za-z0-9_.=&%-]{0,1000}")
"""An attachment URL's signature (``ex=…&is=…&hm=…``), which Discord needs to serve the file."""


def cdn_root_for(base_url: str) -> str:
    """Discord's CDN for Discord's API, else ``{origin}/cdn`` (the emulator's)."""
    parts = urllib.parse.urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if host == "discord.com" or host.endswith(".discord.com"):
        return DISCORD_CDN
    return f"{parts.scheme}://{parts.netloc}/cdn"


class Cdn:
    """The CDN next to ``transport``'s API, retried with ``transport``'s policy."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None

    @property
    def root(self) -> str:
        return cdn_root_for(self._transport.base_url)

    def _client(self) -> httpx.Client:
        import httpx

        with self._lock:
            if self._http is None:
                self._http = httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0), follow_redirects=False,
                                          trust_env=False)
            return self._http

    def close(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    def get(self, path: str, *, max_bytes: int) -> bytes:
        """GET ``{cdn}/{path}`` (``path`` may end in an attachment URL's ``?query``) without the bot token,
        retrying 5xx and network failures; refuses more than
        ``max_bytes`` (DiscordError) and answers 404 with DiscordNotFound."""
        import httpx

        bare, _, query = path.partition("?") if isinstance(path, str) else ("", "", "")
        if not _CDN_PATH.fullmatch(bare) or ".." in bare or not _CDN_QUERY.fullmatch(query):
            raise InvalidInput(f"Not a CDN path: {str(bare)[:80]!r}.")
        route = Route("GET", "/cdn/" + bare.split("/", 1)[0], {})
        url = f"{self.root}/{path}"
        path = bare  # the signature of an attachment URL (its query) is never shown
        retry = self._transport.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._client().stream("GET", url) as response:
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
                if attempt >= retry.max_attempts:
                    raise DiscordUnavailable(f"Could not read {path} from Discord's CDN: {type(exc).__name__}.",
                                             details={"path": path}) from None
                self._transport.backoff(route, attempt, type(exc).__name__)
                continue
            if status == 404:
                raise DiscordNotFound(f"Discord's CDN has no {path}.", details={"path": path})
            if status in (429, 500, 502, 503, 504) and attempt < retry.max_attempts:
                self._transport.backoff(route, attempt, f"HTTP {status}")
                continue
            raise DiscordError(f"Discord's CDN answered {status} for {path}.", details={"path": path, "status": status})
