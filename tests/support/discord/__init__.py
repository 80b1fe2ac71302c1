"""Helpers that talk to the bundled Discord emulator over HTTP: its control routes (``control``), clients
of its Discord API for the emulator's own tests (``api``), and a guild as a person sees it (``guild``)."""
