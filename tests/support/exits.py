"""How a command may fail: only with a documented exit code, never with INTERNAL_ERROR or a traceback."""

from __future__ import annotations

from gaib.errors import (
    EXIT_CONFIG,
    EXIT_DISCORD,
    EXIT_GENERAL,
    EXIT_INVALID_INPUT,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_STATE,
)
from tests.support.cli import Result

DOCUMENTED_EXITS = {EXIT_OK, EXIT_CONFIG, EXIT_STATE, EXIT_DISCORD, EXIT_LOCKED, EXIT_INVALID_INPUT}
"""Exit codes a damaged file or an odd setting may give; 1 is allowed only with a non-internal code."""


def assert_documented(result: Result) -> None:
    """The command failed (or not) the documented way: a known exit code, never INTERNAL_ERROR."""
    assert "Traceback" not in result.stderr, result.stderr
    assert "INTERNAL_ERROR" not in result.stdout + result.stderr, result.stdout + result.stderr
    if result.exit_code == EXIT_GENERAL:
        return  # STORAGE_* errors (exit 1) are documented; INTERNAL_ERROR was excluded above
    assert result.exit_code in DOCUMENTED_EXITS, (result.exit_code, result.stdout, result.stderr)
