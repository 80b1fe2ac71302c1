"""Backup storage: the ``ObjectStore`` and ``Catalog`` ports, their key layout and adapters.

``open_storage`` picks the adapters; ``gaib.storage.keys`` builds every key;
``update_document`` changes a stored document safely under concurrent writers. AWS adapters live in
``gaib.storage.aws`` (boto3 is imported only when one is made).
"""

from gaib.storage.base import (
    COUNTER_FIELD,
    DEFAULT_CONTENT_TYPE,
    EXPIRES_FIELD,
    TIER_INDEX,
    TIER_INDEX_FIELD,
    Catalog,
    CeilingReached,
    Conflict,
    Item,
    KeyPage,
    NotFound,
    ObjectInfo,
    ObjectStore,
    Page,
    StorageError,
    StoredDocument,
)
from gaib.storage.documents import update_document
from gaib.storage.open import DEFAULT_ROOT, DEFAULT_TABLE, open_storage

__all__ = [
    "COUNTER_FIELD",
    "DEFAULT_CONTENT_TYPE",
    "DEFAULT_ROOT",
    "DEFAULT_TABLE",
    "EXPIRES_FIELD",
    "TIER_INDEX",
    "TIER_INDEX_FIELD",
    "Catalog",
    "CeilingReached",
    "Conflict",
    "Item",
    "KeyPage",
    "NotFound",
    "ObjectInfo",
    "ObjectStore",
    "Page",
    "StorageError",
    "StoredDocument",
    "open_storage",
    "update_document",
]
