"""The Discord REST endpoints Gaib uses, in groups (guild, roles, channels, emojis, stickers, bans, messages,
webhooks), each a small class that holds the :class:`~gaib.discord.transport.Transport` and turns port
calls into routes and bodies; :class:`gaib.discord.client.DiscordClient` composes them. Nothing here
imports httpx: every request goes through the transport, so its contract (rate limits, retries,
redaction) holds for every endpoint."""
