"""``ObjectStore.stream``: an object read chunk by chunk, never whole, on every adapter."""

from __future__ import annotations

import random

import pytest

from gaib.errors import InvalidName, NotFound
from tests.support.storage.backends import Backend

KEY = "snapshots/1/20261125T170312042Z-a1b2c3d4/bans.json.gz"


def test_stream_yields_the_bytes_in_chunks_no_larger_than_asked(backend: Backend) -> None:
    data = random.Random(3).randbytes(300_000)
    backend.store.put(KEY, data)
    chunks = list(backend.store.stream(KEY, chunk_size=64 * 1024))
    assert b"".join(chunks) == data
    assert len(chunks) >= 5 and all(0 < len(c) <= 64 * 1024 for c in chunks)
    backend.store.put("exports/1/empty.yaml", b"")
    assert b"".join(backend.store.stream("exports/1/empty.yaml")) == b""


def test_a_missing_object_is_not_found_before_any_chunk(backend: Backend) -> None:
    with pytest.raises(NotFound):
        backend.store.stream(KEY)  # at the call, not at the first chunk
    with pytest.raises(InvalidName):
        backend.store.stream("../etc/passwd")


def test_a_stream_left_half_read_can_be_closed(backend: Backend) -> None:
    backend.store.put(KEY, b"x" * 200_000)
    stream = backend.store.stream(KEY, chunk_size=1000)
    assert next(iter(stream)) == b"x" * 1000
    getattr(stream, "close", lambda: None)()
    assert backend.store.get(KEY) == b"x" * 200_000
