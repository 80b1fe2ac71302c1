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


def decode_data_uri(errs: FormErrors, key: str, value: Any, max_bytes: int) -> bytes | None:
    """A data URI's bytes; records IMAGE_INVALID or BINARY_TYPE_MAX_SIZE under ``key`` in ``errs``."""
    match = _DATA_URI.fullmatch(value) if isinstance(value, str) else None
    data = None
    if match is not None:
        try:
            data = base64.b64decode("".join(match.group(2).split()), validate=True)
        except (binascii.Error, ValueError):
            data = None
    if data is None or image_type(data) != match.group(1):  # type: ignore[union-attr]
        errs.add((key,), "IMAGE_INVALID", "Invalid image data")
        return None
    if len(data) > max_bytes:
        errs.add((key,), "BINARY_TYPE_MAX_SIZE", f"File cannot be larger than {max_bytes / 1024:.1f} kb.")
        return None
    return data
