"""Compression and checksums of stored backup parts.

``encode`` compresses plain bytes with gzip (the default, matching the ``.json.gz`` keys; written
deterministically with mtime 0, so equal input gives equal bytes) or zstd, and records the sha256
and size of both the plain and the stored bytes. ``decode`` is the only way back and trusts
nothing: it verifies the stored checksum BEFORE decompressing (so corrupted or truncated bytes
never reach a decompressor), tells the codec apart by its magic bytes, refuses output larger than
``max_plain_size`` (decompression bombs) or trailing bytes, then verifies the plain checksum.
Every failure is ``IntegrityError`` (exit 3) naming the key.

``decode_stream`` does the same over stored bytes that arrive in chunks (``ObjectStore.stream``), so
neither side is ever whole in memory: it counts and hashes the stored bytes as they come (refusing any
past the size recorded), decompresses each chunk in bounded steps, refuses plain bytes past the size
recorded the moment they appear, and yields them; its last step checks both sizes and both checksums.
So a consumer hands nothing on (renames no file, parses no document) until the stream has ended without
error. When decompressing fails, the rest of the stored bytes (at most their recorded size) are still
hashed, so damage is reported as a checksum mismatch rather than as the decompressor's complaint.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

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


@dataclass(frozen=True)
class Claim:
    """What a manifest records about one stored part: the sizes and checksums a read must find."""

    key: str
    plain_size: int
    stored_size: int
    plain_sha256: str
    stored_sha256: str


class _Counted:
    """The stored bytes of a stream: counted and hashed as they are pulled; none past the claim."""

    def __init__(self, chunks: Iterable[bytes], claim: Claim) -> None:
        self._chunks = iter(chunks)
        self._claim = claim
        self.size = 0
        self.sha = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.size += len(chunk)
            if self.size > self._claim.stored_size:
                raise _broken(self._claim.key, f"it holds more than the {self._claim.stored_size} bytes recorded")
            self.sha.update(chunk)
            yield chunk

    def check(self) -> None:
        """Drain what is left (hashing only) and raise when the stored bytes are not the ones recorded."""
        for _ in self:
            pass
        if self.size != self._claim.stored_size or self.sha.hexdigest() != self._claim.stored_sha256.lower():
            raise _broken(self._claim.key, "its checksum does not match the one recorded when it was written")


def stream_stored(chunks: Iterable[bytes], claim: Claim) -> Iterator[bytes]:
    """The stored bytes of a part as they arrive; the last step raises ``IntegrityError`` unless their size
    and checksum are the ones recorded (none past the recorded size is ever yielded)."""
    counted = _Counted(chunks, claim)
    yield from counted
    counted.check()


def decode_stream(chunks: Iterable[bytes], claim: Claim, *, max_plain_size: int | None = None) -> Iterator[bytes]:
    """The plain bytes of a stored part whose stored bytes arrive as ``chunks`` (see the module docstring).

    Refuses (``IntegrityError`` naming the key) stored or plain bytes past their recorded size or past
    ``max_plain_size``, data that is neither gzip nor zstd, a truncated stream, trailing bytes, and
    checksums that do not match; the checks on the whole happen at the last step."""
    limit = claim.plain_size if max_plain_size is None else min(claim.plain_size, max_plain_size)
    counted = _Counted(chunks, claim)
    plain_sha, plain_size = hashlib.sha256(), 0
    try:
        decoder = _Decoder(claim.key)
        for chunk in counted:
            for out in decoder.feed(chunk):
                plain_size += len(out)
                if plain_size > limit:
                    raise _broken(claim.key, f"it expands beyond the {limit} bytes recorded")
                plain_sha.update(out)
                yield out
        for out in decoder.finish():
            plain_size += len(out)
            if plain_size > limit:
                raise _broken(claim.key, f"it expands beyond the {limit} bytes recorded")
            plain_sha.update(out)
            yield out
    except IntegrityError:
        counted.check()  # stored damage explains (and is reported before) any decoding failure
        raise
    counted.check()
    if plain_size != claim.plain_size or plain_sha.hexdigest() != claim.plain_sha256.lower():
        raise _broken(claim.key, "its content checksum does not match the one recorded when it was written")


class _Decoder:
    """Incremental gzip or zstd decompression in bounded steps; the codec is told by the magic bytes."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.codec: Codec | None = None
        self._head = b""
        self._d: Any = None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.codec is None:
            self._head += data
            if len(self._head) < len(ZSTD_MAGIC):
                return
            data, self._head = self._head, b""
            self._start(data)
        yield from self._run(data)

    def finish(self) -> Iterator[bytes]:
        if self.codec is None:
            self._start(self._head)
            yield from self._run(self._head)
        if self.codec == "gzip":
            while not self._d.eof:
                try:
                    out = self._d.decompress(b"", _CHUNK)
                except zlib.error as exc:
                    raise _broken(self.key, f"gzip data is invalid ({exc})") from None
                if not out:
                    break
                yield out
        if not self._d.eof:
            raise _broken(self.key, f"the {self.codec} stream is truncated")

    def _start(self, data: bytes) -> None:
        self.codec = detect_codec(data)
        if self.codec == "gzip":
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.codec == "zstd":
            import zstandard

            self._d = zstandard.ZstdDecompressor().decompressobj()
        else:
            raise _broken(self.key, "it is neither gzip nor zstd data")

    def _run(self, data: bytes) -> Iterator[bytes]:
        if self.codec == "gzip":
            yield from self._gunzip(data)
        else:
            yield from self._unzstd(data)

    def _gunzip(self, data: bytes) -> Iterator[bytes]:
        d = self._d
        while data:
            if d.eof:
                raise _broken(self.key, "there are bytes after the end of the gzip stream")
            try:
                out = d.decompress(data, _CHUNK)
            except zlib.error as exc:
                raise _broken(self.key, f"gzip data is invalid ({exc})") from None
            data = d.unconsumed_tail or d.unused_data
            if d.eof and d.unused_data:
                raise _broken(self.key, "there are bytes after the end of the gzip stream")
            if out:
                yield out

    def _unzstd(self, data: bytes) -> Iterator[bytes]:
        import zstandard

        # Small input steps bound how far one step can expand (a zstd block is at most 128 KiB).
        for pos in range(0, len(data), _ZSTD_STEP):
            if self._d.eof:
                raise _broken(self.key, "there are bytes after the end of the zstd frame")
            try:
                out = self._d.decompress(data[pos:pos + _ZSTD_STEP])
            except zstandard.ZstdError as exc:
                raise _broken(self.key, f"zstd data is invalid ({exc})") from None
            if self._d.eof and self._d.unused_data:
                raise _broken(self.key, "there are bytes after the end of the zstd frame")
            if out:
                yield out
