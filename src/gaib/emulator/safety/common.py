"""What the safety stores share: the permission check onboarding needs, id lists and data-URI files."""

from __future__ import annotations

import re
from typing import Any

from gaib.emulator.apierrors import FormErrors
from gaib.emulator.fields import parse_snowflake
from gaib.emulator.stores.channels import ChannelStore
from gaib.emulator.stores.images import data_uri, within_size
from gaib.emulator.stores.roles import RoleStore

VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
_AUDIO_URI = re.compile(r"data:(audio/(?:mpeg|mp3|ogg));base64,([A-Za-z0-9+/=\s]*)", re.DOTALL)


def everyone_can_send(guild_id: str, roles: RoleStore, channels: ChannelStore, channel_id: str) -> bool:
    """Whether @everyone may view and send messages in a channel (its base permissions, then the
    category's and the channel's own @everyone overwrite)."""
    everyone = roles.by_id.get(guild_id)
    perms = everyone.permissions if everyone is not None else 0
    channel = channels.by_id.get(channel_id)
    if channel is None:
        return False
    for ow in channel.overwrites:
        if ow.id == guild_id:
            perms = (perms & ~ow.deny) | ow.allow
    return perms & (VIEW_CHANNEL | SEND_MESSAGES) == VIEW_CHANNEL | SEND_MESSAGES


def id_list(errs: FormErrors, path: tuple[str | int, ...], value: Any, max_items: int) -> list[str] | None:
    """A list of distinct snowflakes (None when absent or null); records errors under ``path``."""
    if value is None:
        return None
    if not isinstance(value, list):
        errs.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return None
    if len(value) > max_items:
        errs.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {max_items} or fewer in length.")
        return None
    out: list[str] = []
    for n, item in enumerate(value):
        number = parse_snowflake(item)
        if number is None:
            errs.add((*path, n), "NUMBER_TYPE_COERCE", f'Value "{str(item)[:40]}" is not snowflake.')
        elif str(number) not in out:
            out.append(str(number))
    return out


def decode_audio(errs: FormErrors, key: str, value: Any, max_bytes: int) -> bytes | None:
    """A ``data:audio/mpeg|ogg;base64,…`` URI's bytes (MP3 or Ogg by their magic numbers)."""
    decoded = data_uri(_AUDIO_URI, value)
    data = decoded[1] if decoded is not None else None
    if data is None or not (data.startswith((b"ID3", b"OggS")) or data[:2] in (b"\xff\xfb", b"\xff\xf3")):
        errs.add((key,), "SOUND_INVALID", "Invalid sound data (MP3 or Ogg expected)")
        return None
    return within_size(errs, key, data, max_bytes)
