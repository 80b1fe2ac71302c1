"""Put a test's server on a tier through the real command (tests that make several on-demand backups or
snapshots in one UTC day need premium: the free tier allows one of each)."""

from __future__ import annotations

from tests.support.cli import CliRunner


def on_tier(cli: CliRunner, tier: str = "premium") -> None:
    result = cli("server", "tier", "set", tier, "--yes", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
