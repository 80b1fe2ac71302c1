"""Gaib: Discord servers as code, kept safe with backups, snapshots and rollback."""

__version__ = "0.1.0"
