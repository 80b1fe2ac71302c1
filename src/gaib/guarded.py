"""Ports that refuse to store a secret: the composition root's last line of defence.

:class:`gaib.wiring.App` wraps the state backend, the object store and the catalog of a run whose
environment holds a bot token (or webhook token) in these guards. Each checks what is about to be
written — a state, an object's bytes (compressed parts are looked into), a catalog item — and raises
:class:`gaib.errors.SecretRefused` (exit 2) naming where the token is, before the adapter writes
anything. Every other call goes straight to the adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gaib.secretguard import SecretFinder, check_bytes, check_value

if TYPE_CHECKING:  # an annotation: a run that writes no state never loads the model
    from gaib.state.model import State


class _Guarded:
    def __init__(self, inner: Any, finder: SecretFinder) -> None:
        self._inner = inner
        self._finder = finder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class GuardedStateBackend(_Guarded):
    """A ``StateBackend`` whose ``put`` refuses a state holding a secret."""

    def put(self, state: State, *, expected_serial: int | None) -> None:
        check_value(self._finder, state.to_dict(), f"state of workspace '{state.workspace}'")
        self._inner.put(state, expected_serial=expected_serial)


class GuardedObjectStore(_Guarded):
    """An ``ObjectStore`` whose ``put`` and ``replace`` refuse bytes holding a secret."""

    def put(self, key: str, data: bytes, **kwargs: Any) -> Any:
        check_bytes(self._finder, bytes(data), f"object {key}")
        return self._inner.put(key, data, **kwargs)

    def replace(self, key: str, data: bytes, **kwargs: Any) -> Any:
        check_bytes(self._finder, bytes(data), f"object {key}")
        return self._inner.replace(key, data, **kwargs)


class GuardedCatalog(_Guarded):
    """A ``Catalog`` whose ``put_if_absent``, ``put_sequenced`` and ``update`` refuse an item holding a secret."""

    def put_if_absent(self, pk: str, sk: str, item: Mapping[str, Any]) -> None:
        check_value(self._finder, item, f"catalog item {pk}/{sk}")
        self._inner.put_if_absent(pk, sk, item)

    def put_sequenced(self, pk: str, sk: str, item: Mapping[str, Any], *, counter_sk: str) -> Any:
        check_value(self._finder, item, f"catalog item {pk}/{sk}")
        return self._inner.put_sequenced(pk, sk, item, counter_sk=counter_sk)

    def update(self, pk: str, sk: str, changes: Mapping[str, Any]) -> Any:
        check_value(self._finder, changes, f"catalog item {pk}/{sk}")
        return self._inner.update(pk, sk, changes)


def unguarded(port: Any) -> Any:
    """The adapter behind a guard (``port`` itself when it is not guarded): for reading what the
    adapter is (an S3 state backend's bucket and key), never for writing past the guard."""
    return port._inner if isinstance(port, _Guarded) else port
