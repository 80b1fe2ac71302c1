"""Compression and checksums of stored backup parts.

``encode`` compresses plain bytes with gzip (the default, matching the ``.json.gz`` keys; written
deterministically with mtime 0, so equal input gives equal bytes) or zstd, and records the sha256
and size of both the plain and the stored bytes. ``decode`` is the only way back and trusts
nothing: it verifies the stored checksum BEFORE decompressing (so corrupted or truncated bytes
never reach a decompressor), tells the codec apart by its magic bytes, refuses output larger than
``max_plain_size`` (decompression bombs) or trailing bytes, then verifies the plain checksum.
Every failure is ``IntegrityError`` (exit 3) naming the key.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from typing import Literal

from gaib.errors import IntegrityError

Codec = Literal["gzip", "zstd"]
CODECS: tuple[Codec, ...] = ("gzip", "zstd")
DEFAULT_CODEC: Codec = "gzip"

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

DEFAULT_MAX_PLAIN_SIZE = 256 * 1024 * 1024
_CHUNK = 64 * 1024
_ZSTD_STEP = 1024
_GZIP_LEVEL = 6
_ZSTD_LEVEL = 3


@dataclass(frozen=True)
class Encoded:
    """Stored bytes of one part and what a manifest records about them."""

    data: bytes
    codec: Codec
    plain_sha256: str
    stored_sha256: str
    plain_size: int
    stored_size: int


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _gzip(plain: bytes) -> bytes:
    # Hand-built header instead of gzip.compress so the bytes depend on nothing but the input:
    # mtime 0, no file name, OS byte 255 ("unknown").
    comp = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    header = GZIP_MAGIC + b"\x08\x00" + b"\x00\x00\x00\x00" + b"\x00\xff"
    trailer = (zlib.crc32(plain) & 0xFFFFFFFF).to_bytes(4, "little") + (len(plain) & 0xFFFFFFFF).to_bytes(
        4, "little"
    )
    return header + comp.compress(plain) + comp.flush() + trailer


def _zstd(plain: bytes) -> bytes:
    import zstandard

    compressed: bytes = zstandard.ZstdCompressor(level=_ZSTD_LEVEL, write_checksum=True).compress(plain)
    return compressed


def encode(plain: bytes, codec: Codec = DEFAULT_CODEC) -> Encoded:
    """Compress ``plain`` with ``codec`` and checksum both sides. Deterministic for equal input."""
    if codec == "gzip":
        stored = _gzip(plain)
    elif codec == "zstd":
        stored = _zstd(plain)
    else:
        raise ValueError(f"unknown codec {codec!r}")
    return Encoded(
        data=stored,
        codec=codec,
        plain_sha256=sha256_hex(plain),
        stored_sha256=sha256_hex(stored),
        plain_size=len(plain),
        stored_size=len(stored),
    )


def detect_codec(stored: bytes) -> Codec | None:
    """The codec whose magic bytes start ``stored``, or None."""
    if stored.startswith(GZIP_MAGIC):
        return "gzip"
    if stored.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


def _broken(key: str, why: str) -> IntegrityError:
    return IntegrityError(f"Stored object {key} is corrupted: {why}.", details={"key": key})


def _gunzip(stored: bytes, key: str, limit: int) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    data = stored
    try:
        while data:
            chunk = d.decompress(data, _CHUNK)
            out += chunk
            if len(out) > limit:
                raise _broken(key, f"it expands beyond {limit} bytes")
            data = d.unconsumed_tail
        while not d.eof:
            chunk = d.decompress(b"", _CHUNK)
            if not chunk:
                break
            out += chunk
            if len(out) > limit:
                raise _broken(key, f"it expands beyond {limit} bytes")
    except zlib.error as exc:
        raise _broken(key, f"gzip data is invalid ({exc})") from None
    if not d.eof:
        raise _broken(key, "the gzip stream is truncated")
    if d.unused_data:
        raise _broken(key, "there are bytes after the end of the gzip stream")
    return bytes(out)


def _unzstd(stored: bytes, key: str, limit: int) -> bytes:
    import zstandard

    try:
        declared = zstandard.frame_content_size(stored)
        if declared > limit:  # -1 (unknown) passes; the streaming guard below still applies
            raise _broken(key, f"it declares {declared} bytes, more than the limit of {limit}")
        d = zstandard.ZstdDecompressor().decompressobj()
        out = bytearray()
        # Small input steps bound how far one step can expand (a zstd block is at most 128 KiB).
        for pos in range(0, len(stored), _ZSTD_STEP):
            if d.eof:
                raise _broken(key, "there are bytes after the end of the zstd frame")
            out += d.decompress(stored[pos : pos + _ZSTD_STEP])
            if len(out) > limit:
                raise _broken(key, f"it expands beyond {limit} bytes")
    except zstandard.ZstdError as exc:
        raise _broken(key, f"zstd data is invalid ({exc})") from None
    if not d.eof:
        raise _broken(key, "the zstd frame is truncated")
    if d.unused_data:
        raise _broken(key, "there are bytes after the end of the zstd frame")
    if declared >= 0 and len(out) != declared:
        raise _broken(key, "the zstd frame does not hold the size it declares")
    return bytes(out)


def decode(
    stored: bytes,
    *,
    expected_plain_sha256: str,
    expected_stored_sha256: str,
    key: str,
    max_plain_size: int = DEFAULT_MAX_PLAIN_SIZE,
) -> bytes:
    """The plain bytes of a stored part, or ``IntegrityError`` naming ``key``.

    Order: stored sha256 → magic bytes → bounded decompression → plain sha256.
    """
    if sha256_hex(stored) != expected_stored_sha256.lower():
        raise _broken(key, "its checksum does not match the one recorded when it was written")
    codec = detect_codec(stored)
    if codec == "gzip":
        plain = _gunzip(stored, key, max_plain_size)
    elif codec == "zstd":
        plain = _unzstd(stored, key, max_plain_size)
    else:
        raise _broken(key, "it is neither gzip nor zstd data")
    if sha256_hex(plain) != expected_plain_sha256.lower():
        raise _broken(key, "its content checksum does not match the one recorded when it was written")
    return plain
