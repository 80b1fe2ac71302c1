"""The codec: round trips, determinism, and that no damaged byte ever decodes."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from gaib.bundles.codec import CODECS, Codec, decode, detect_codec, encode
from gaib.errors import EXIT_STATE, IntegrityError

KEY = "state/123/default/backup.20261125T170312042Z-a1b2c3d4.json.gz"
SAMPLE = json.dumps(
    {"version": 4, "serial": 7, "lineage": "d0c8", "resources": [{"name": "rôle-✓", "id": "1" * 18}]}
).encode()


def _decode(stored: bytes, plain_sha: str, stored_sha: str | None = None, **kw: int) -> bytes:
    return decode(
        stored,
        expected_plain_sha256=plain_sha,
        expected_stored_sha256=stored_sha if stored_sha is not None else hashlib.sha256(stored).hexdigest(),
        key=KEY,
        **kw,
    )


@pytest.mark.parametrize("codec", CODECS)
@given(plain=st.binary(max_size=4096))
@settings(max_examples=60, deadline=None)
def test_round_trip_restores_the_exact_bytes(codec: Codec, plain: bytes) -> None:
    enc = encode(plain, codec)
    assert enc.codec == codec
    assert enc.plain_size == len(plain) and enc.stored_size == len(enc.data)
    assert enc.plain_sha256 == hashlib.sha256(plain).hexdigest()
    assert enc.stored_sha256 == hashlib.sha256(enc.data).hexdigest()
    assert decode(enc.data, expected_plain_sha256=enc.plain_sha256,
                  expected_stored_sha256=enc.stored_sha256, key=KEY) == plain


def test_gzip_is_the_default_and_standard_tools_read_it() -> None:
    enc = encode(SAMPLE)
    assert enc.codec == "gzip"
    assert gzip.decompress(enc.data) == SAMPLE
    assert enc.data[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    assert detect_codec(enc.data) == "gzip"


def test_zstd_output_is_standard_zstd() -> None:
    enc = encode(SAMPLE, "zstd")
    assert zstandard.ZstdDecompressor().decompress(enc.data) == SAMPLE
    assert detect_codec(enc.data) == "zstd"


@pytest.mark.parametrize("codec", CODECS)
def test_encoding_is_deterministic(codec: Codec) -> None:
    assert encode(SAMPLE * 50, codec) == encode(SAMPLE * 50, codec)


@pytest.mark.parametrize("codec", CODECS)
def test_every_single_byte_flip_is_detected(codec: Codec) -> None:
    enc = encode(SAMPLE, codec)
    for pos in range(len(enc.data)):
        for mask in (0x01, 0x80, 0xFF):
            damaged = bytearray(enc.data)
            damaged[pos] ^= mask
            with pytest.raises(IntegrityError) as info:
                decode(bytes(damaged), expected_plain_sha256=enc.plain_sha256,
                       expected_stored_sha256=enc.stored_sha256, key=KEY)
            assert KEY in info.value.message
            assert info.value.exit_code == EXIT_STATE


@pytest.mark.parametrize("codec", CODECS)
def test_every_truncation_is_detected_even_with_a_matching_stored_checksum(codec: Codec) -> None:
    # The recorded stored checksum is recomputed over the cut bytes, so the decompressor and the
    # plain checksum must catch it on their own.
    enc = encode(SAMPLE * 20, codec)
    for cut in range(len(enc.data)):
        stored = enc.data[:cut]
        with pytest.raises(IntegrityError) as info:
            _decode(stored, enc.plain_sha256)
        assert KEY in info.value.message


@pytest.mark.parametrize("codec", CODECS)
def test_damage_under_a_matching_stored_checksum_never_yields_wrong_bytes(codec: Codec) -> None:
    # As if the manifest had been rewritten to match damaged bytes: decoding must either fail with
    # IntegrityError or give back exactly the original (a flipped gzip mtime/OS byte is harmless).
    enc = encode(SAMPLE * 20, codec)
    failures = 0
    for pos in range(len(enc.data)):
        damaged = bytearray(enc.data)
        damaged[pos] ^= 0x55
        try:
            assert _decode(bytes(damaged), enc.plain_sha256) == SAMPLE * 20
        except IntegrityError as exc:
            assert KEY in exc.message
            failures += 1
    assert failures >= len(enc.data) - 8


@pytest.mark.parametrize("codec", CODECS)
def test_trailing_bytes_are_refused(codec: Codec) -> None:
    enc = encode(SAMPLE, codec)
    with pytest.raises(IntegrityError, match=r"after the end|invalid"):
        _decode(enc.data + b"garbage!", enc.plain_sha256)


@pytest.mark.parametrize("stored", [b"", b"{\"plain\": \"json\"}", b"PK\x03\x04zip", b"\x1f", b"\x28\xb5\x2f"])
def test_unknown_magic_is_refused(stored: bytes) -> None:
    with pytest.raises(IntegrityError, match="neither gzip nor zstd"):
        _decode(stored, hashlib.sha256(stored).hexdigest())


def test_a_wrong_plain_checksum_is_refused() -> None:
    enc = encode(SAMPLE)
    with pytest.raises(IntegrityError, match="content checksum"):
        decode(enc.data, expected_plain_sha256="0" * 64, expected_stored_sha256=enc.stored_sha256, key=KEY)


def test_stored_checksum_is_checked_before_decompressing() -> None:
    bomb = encode(b"\x00" * (8 * 1024 * 1024))
    with pytest.raises(IntegrityError, match="checksum does not match") as info:
        decode(bomb.data, expected_plain_sha256=bomb.plain_sha256, expected_stored_sha256="f" * 64,
               key=KEY, max_plain_size=1024)
    assert "expands" not in info.value.message


@pytest.mark.parametrize("codec", CODECS)
def test_decompression_bomb_is_stopped(codec: Codec) -> None:
    bomb = encode(b"\x00" * (16 * 1024 * 1024), codec)
    assert bomb.stored_size < 100_000
    with pytest.raises(IntegrityError, match=r"expands|declares"):
        decode(bomb.data, expected_plain_sha256=bomb.plain_sha256, expected_stored_sha256=bomb.stored_sha256,
               key=KEY, max_plain_size=1024 * 1024)
    # the same object under a limit it fits is fine
    assert len(decode(bomb.data, expected_plain_sha256=bomb.plain_sha256,
                      expected_stored_sha256=bomb.stored_sha256, key=KEY)) == 16 * 1024 * 1024


def test_zstd_bomb_without_a_declared_size_is_stopped_while_streaming() -> None:
    plain = b"\x00" * (16 * 1024 * 1024)
    stored = zstandard.ZstdCompressor(write_content_size=False).compress(plain)
    assert zstandard.frame_content_size(stored) == -1
    with pytest.raises(IntegrityError, match="expands beyond"):
        _decode(stored, hashlib.sha256(plain).hexdigest(), max_plain_size=1024 * 1024)
