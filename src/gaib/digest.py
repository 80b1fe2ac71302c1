"""SHA-256 of the small texts Gaib checks on every run (manifests, document generations, lock names).

``hashlib`` loads OpenSSL when first imported, which alone costs a listing about a fifth of bare Python's
start-up; CPython's own SHA-256 (``_sha2``, named ``_sha256`` before 3.12) gives the same digest
without it. Whichever is present is used, else ``hashlib``. Large data (bundle parts, files) goes
through ``hashlib``, which is faster on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_SHA256: list[Callable[[bytes], Any]] = []


def _constructor() -> Callable[[bytes], Any]:
    if not _SHA256:
        import importlib

        for name in ("_sha2", "_sha256"):  # CPython 3.12+, then 3.11
            try:
                _SHA256.append(importlib.import_module(name).sha256)
                break
            except (ImportError, AttributeError):
                continue
        else:
            import hashlib

            _SHA256.append(hashlib.sha256)
    return _SHA256[0]


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 lowercase hex digits (as ``hashlib.sha256(data).hexdigest()``)."""
    return str(_constructor()(data).hexdigest())
