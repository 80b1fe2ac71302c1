"""Where the shared Discord API reference lives: beside the repository (as CI lays it out), or as set."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def discord_api_dir() -> Path:
    """``shared/discord-api``: $GAIB_DISCORD_API_DIR, else the nearest ``shared/`` beside an ancestor."""
    env = os.environ.get("GAIB_DISCORD_API_DIR")
    candidates = [Path(env)] if env else []
    candidates += [parent / "shared" / "discord-api" for parent in REPO.parents]
    candidates.append(Path("/work/shared/discord-api"))
    for c in candidates:
        if (c / "validate_pairs.py").is_file():
            return c
    raise FileNotFoundError("shared/discord-api/validate_pairs.py not found beside the repository; "
                            "set GAIB_DISCORD_API_DIR")


VALIDATOR = discord_api_dir() / "validate_pairs.py"
