"""Everything that speaks HTTP to Discord lives here; the rest of Gaib works on gaib.discord.models."""
