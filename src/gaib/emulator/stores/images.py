"""Images sent as data URIs (``data:image/png;base64,…``) and Discord's image hashes.

:func:`decode_data_uri` accepts PNG, JPEG, GIF and WebP whose bytes match the declared type and
reports ``IMAGE_INVALID`` or ``BINARY_TYPE_MAX_SIZE`` into the caller's :class:`FormErrors`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

from gaib.discord.community import image_type
from gaib.emulator.apierrors import FormErrors

_DATA_URI = re.compile(r"data:(image/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=\s]*)", re.DOTALL)


def image_hash(data: bytes) -> str:
    """Discord-style image hash: 32 hex digits, ``a_`` first for an animated (GIF) image."""
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return ("a_" + digest) if image_type(data) == "image/gif" else digest


def data_uri(pattern: re.Pattern[str], value: Any) -> tuple[str, bytes] | None:
    """The declared media type (group 1) and the base64 bytes (group 2) of a data URI ``pattern`` matches
    whole; None for anything else or bytes that are not base64."""
    match = pattern.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    try:
        return match.group(1), base64.b64decode("".join(match.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def within_size(errs: FormErrors, key: str, data: bytes, max_bytes: int) -> bytes | None:
    """``data``, or None with BINARY_TYPE_MAX_SIZE recorded under ``key`` when it is over ``max_bytes``."""
    if len(data) > max_bytes:
        errs.add((key,), "BINARY_TYPE_MAX_SIZE", f"File cannot be larger than {max_bytes / 1024:.1f} kb.")
        return None
    return data


def decode_data_uri(errs: FormErrors, key: str, value: Any, max_bytes: int) -> bytes | None:
    """A data URI's bytes; records IMAGE_INVALID or BINARY_TYPE_MAX_SIZE under ``key`` in ``errs``."""
    decoded = data_uri(_DATA_URI, value)
    if decoded is None or image_type(decoded[1]) != decoded[0]:
        errs.add((key,), "IMAGE_INVALID", "Invalid image data")
        return None
    return within_size(errs, key, decoded[1], max_bytes)
