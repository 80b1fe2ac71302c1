"""Secrets named in stored settings (the bot token a backup schedule names), read at run time."""
