"""Discord's CDN for this guild's images, served under ``/cdn/`` without a token or rate limits.

Paths: ``emojis/{id}.png|gif``, ``stickers/{id}.png|gif|json``, ``icons/{guild}/{hash}.png|gif`` and
``banners/{guild}/{hash}.png|gif``, ``splashes/…`` and ``discovery-splashes/…``, event covers
(``guild-events/{event}/{hash}.png``), sounds (``soundboard-sounds/{id}``) and message attachments
``attachments/{channel}/{id}/{filename}`` (uploaded through a webhook or seeded with their bytes); anything
else (or a method other than GET and HEAD) is a plain text 404. Requests are logged with route ``/cdn`` and
never recorded.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from gaib.discord.community import image_type
from gaib.emulator.guild import GuildState
from gaib.emulator.outcome import Outcome

if TYPE_CHECKING:
    from gaib.emulator.server import Emulator

CDN_PREFIX = "/cdn/"


def cdn_file(state: GuildState, path: str) -> tuple[bytes, str] | None:
    """The bytes and media type at a CDN path (``emojis/{id}.png``, ``icons/{guild}/{hash}.png`` …)."""
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] in ("emojis", "stickers"):
        ident, _, _ext = parts[1].partition(".")
        if parts[0] == "emojis" and ident in state.emojis.by_id:
            data = state.emojis.by_id[ident].image
        elif parts[0] == "stickers" and ident in state.stickers.by_id:
            data = state.stickers.by_id[ident].data
        else:
            return None
        return data, image_type(data) or "application/octet-stream"
    if parts[0] == "attachments":
        stored = state.messages.files.get("/".join(parts))
        return (stored, image_type(stored) or "application/octet-stream") if stored is not None else None
    data_or_none = state.settings.images.get("/".join(parts)) or state.safety.cdn_file("/".join(parts))
    if data_or_none is None:
        return None
    return data_or_none, image_type(data_or_none) or "application/octet-stream"


def handle_cdn(emu: Emulator, method: str, raw_path: str) -> Outcome:
    """Answer one CDN request (the path starts with ``/cdn/``) and log it."""
    started = time.monotonic()
    path = urlsplit(raw_path).path[len(CDN_PREFIX):]
    with emu.lock:
        number = emu.log.next_number()
        found = cdn_file(emu.state, path) if method in ("GET", "HEAD") else None
        if found is None:
            out = Outcome(404, "404: Not Found", content_type="text/plain; charset=UTF-8", route="/cdn")
        else:
            out = Outcome(200, found[0], content_type=found[1], route="/cdn")
        emu.log.account(number, method, raw_path, out, started)
    return out
