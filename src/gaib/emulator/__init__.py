"""A local Discord REST API emulator (stdlib only): a real HTTP server for tests, demos and dry runs.

Run it with ``python -m gaib.emulator --port 0 --guild-id ID --guild-name NAME --token TOKEN``
(its first stdout line is the base URL) or in-process::

    with Emulator(guild_id="1100000000000000001", token="t") as emu:
        client = SomeClient(emu.base_url, token="t")

See ``gaib.emulator.api`` for the order of checks, ``gaib.emulator.recorder`` for what is recorded,
``gaib.emulator.stores`` for the guild's state, ``gaib.emulator.ratelimit`` for Discord's limits as
the ``discord`` profile enforces them (figures and sources in ``gaib.discord.limits``), and
docs/emulator.md for the options and control endpoints.
"""

from gaib.emulator.faults import FAULT_KINDS, FaultConfig, FaultConfigError
from gaib.emulator.server import DEFAULT_GUILD_ID, DEFAULT_GUILD_NAME, Emulator, EmulatorConfigError
from gaib.emulator.stores.records import DataFileError

__all__ = [
    "DEFAULT_GUILD_ID",
    "DEFAULT_GUILD_NAME",
    "FAULT_KINDS",
    "DataFileError",
    "Emulator",
    "EmulatorConfigError",
    "FaultConfig",
    "FaultConfigError",
    "main",
]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m gaib.emulator``; returns the exit code."""
    from gaib.emulator.__main__ import main as run

    return run(argv)
