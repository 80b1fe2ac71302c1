"""Small, valid, distinct image files for tests and benchmarks (PNG and GIF), made from a seed."""

from __future__ import annotations

import random
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(seed: int, side: int = 32, *, noise: bool = False) -> bytes:
    """A ``side`` x ``side`` RGB PNG whose pixels depend on ``seed`` (``noise``: incompressible pixels,
    so the file is about ``3 * side * side`` bytes)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(side):
        if noise:
            rows.append(b"\x00" + rng.randbytes(3 * side))
        else:
            color = bytes(rng.randrange(256) for _ in range(3))
            rows.append(b"\x00" + color * side)
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + _chunk(b"IEND", b""))


def gif(seed: int) -> bytes:
    """A 1x1 GIF89a whose single colour depends on ``seed`` (an "animated" emoji for Discord's purposes)."""
    rng = random.Random(seed)
    palette = bytes(rng.randrange(256) for _ in range(3)) + b"\x00\x00\x00"
    return (b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + palette
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00\x3b")
