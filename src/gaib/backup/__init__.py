"""Backup services: codec, backups, restore, snapshots, theme registry, tiers, scheduler, notify."""
