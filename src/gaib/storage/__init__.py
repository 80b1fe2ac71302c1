"""Backup storage: the ``ObjectStore`` and ``Catalog`` ports (``gaib.storage.base``), their key layout
(``gaib.storage.keys``, the only place that builds keys), safe document updates
(``gaib.storage.documents``) and the adapters (``local``/``sqlite_catalog``, ``s3``/``dynamodb``), which
only the composition root opens (``gaib.storage.open``). Importing this package imports nothing else,
so a service that uses the ports never loads an adapter.
"""
