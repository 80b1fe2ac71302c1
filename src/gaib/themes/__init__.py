"""Themes: reusable server layouts (manifest + body) found by name, rendered with variables, merged
under a user's config. See gaib.themes.loader, gaib.themes.apply and docs/config.md."""
