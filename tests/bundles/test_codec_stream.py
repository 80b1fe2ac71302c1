"""``decode_stream``: a part decoded as its stored bytes arrive, never held whole, never past what it claims."""

from __future__ import annotations

import contextlib
import hashlib
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaib.bundles.codec import CODECS, Claim, Codec, decode_stream, encode, stream_stored
from gaib.errors import IntegrityError

KEY = "snapshots/1/20261125T170312042Z-a1b2c3d4/bans.json.gz"
SAMPLE = b'{"format_version": 1, "bans": [' + b'{"user_id": "80000000000000000", "reason": "raid"},' * 400 + b"{}]}"


def claim_of(plain: bytes, stored: bytes, **changes: object) -> Claim:
    fields: dict[str, object] = {"key": KEY, "plain_size": len(plain), "stored_size": len(stored),
                                 "plain_sha256": hashlib.sha256(plain).hexdigest(),
                                 "stored_sha256": hashlib.sha256(stored).hexdigest()}
    return Claim(**{**fields, **changes})  # type: ignore[arg-type]


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for pos in range(0, len(data), size):
        yield data[pos:pos + size]


@pytest.mark.parametrize("codec", CODECS)
@given(plain=st.binary(max_size=20_000), size=st.integers(1, 5000))
@settings(max_examples=40, deadline=None)
def test_any_chunking_gives_back_the_exact_bytes(codec: Codec, plain: bytes, size: int) -> None:
    enc = encode(plain, codec)
    claim = claim_of(plain, enc.data)
    assert b"".join(decode_stream(chunked(enc.data, size), claim)) == plain
    assert b"".join(stream_stored(chunked(enc.data, size), claim)) == enc.data


@pytest.mark.parametrize("codec", CODECS)
def test_every_flipped_byte_is_reported_as_a_checksum_mismatch(codec: Codec) -> None:
    enc = encode(SAMPLE, codec)
    for pos in range(0, len(enc.data), 7):
        damaged = bytearray(enc.data)
        damaged[pos] ^= 0x40
        with pytest.raises(IntegrityError, match="checksum does not match") as info:
            b"".join(decode_stream(chunked(bytes(damaged), 64), claim_of(SAMPLE, enc.data)))
        assert KEY in info.value.message


@pytest.mark.parametrize("codec", CODECS)
def test_damage_under_a_rewritten_claim_never_completes_with_wrong_bytes(codec: Codec) -> None:
    # As if the manifest had been rewritten to match the damaged stored bytes: the stream either fails or
    # gives back exactly the original.
    enc = encode(SAMPLE, codec)
    for cut in range(0, len(enc.data), 5):
        stored = enc.data[:cut]
        with pytest.raises(IntegrityError):
            b"".join(decode_stream(chunked(stored, 100), claim_of(SAMPLE, stored)))
    for pos in range(len(enc.data)):
        damaged = bytearray(enc.data)
        damaged[pos] ^= 0x55
        with contextlib.suppress(IntegrityError):
            assert b"".join(decode_stream([bytes(damaged)], claim_of(SAMPLE, bytes(damaged)))) == SAMPLE


@pytest.mark.parametrize("codec", CODECS)
def test_trailing_bytes_are_refused(codec: Codec) -> None:
    enc = encode(SAMPLE, codec)
    stored = enc.data + b"garbage!"
    with pytest.raises(IntegrityError, match=r"after the end|invalid"):
        b"".join(decode_stream(chunked(stored, 50), claim_of(SAMPLE, stored)))


@pytest.mark.parametrize("codec", CODECS)
def test_real_bytes_over_the_claim_are_refused_before_they_are_held(codec: Codec) -> None:
    """200 MiB of plain bytes under a claim of 1 MiB: refused after about 1 MiB, nothing more is allocated."""
    plain_size = 200 * 1024 * 1024
    stored = _zeros(codec, plain_size)
    claim = claim_of(b"", stored, plain_size=1024 * 1024, plain_sha256="0" * 64)
    yielded = 0
    tracemalloc.start()
    try:
        with pytest.raises(IntegrityError, match="expands beyond the 1048576 bytes recorded"):
            for chunk in decode_stream(chunked(stored, 64 * 1024), claim):
                yielded += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert yielded <= 1024 * 1024
    assert peak < 40 * 1024 * 1024  # a zstd step may expand to a few blocks; never the 200 MiB


def test_stored_bytes_past_the_claim_stop_the_read() -> None:
    enc = encode(SAMPLE)
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        yield enc.data
        while True:
            pulled += 1
            yield b"\x00" * 65536

    with pytest.raises(IntegrityError, match="holds more than"):
        b"".join(decode_stream(endless(), claim_of(SAMPLE, enc.data)))
    assert pulled <= 2


def _zeros(codec: Codec, size: int) -> bytes:
    """``size`` zero bytes compressed, made block by block (the plain bytes are never whole either)."""
    import zlib

    import zstandard

    comp: Any = zlib.compressobj(6, zlib.DEFLATED, 31) if codec == "gzip" else \
        zstandard.ZstdCompressor().compressobj(size=size)
    block = b"\x00" * (1024 * 1024)
    return b"".join([*(comp.compress(block) for _ in range(size // len(block))), comp.flush()])
