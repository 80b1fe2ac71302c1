"""The server config (``discord-server.yaml``): schema, loading, dumping, permissions, desired state.

Import the submodules (gaib.config.load, .dump, .desired, .permissions, .schema); this package
imports nothing heavy on its own so the CLI starts fast.
"""
