"""What every store of one guild shares: the guild id, the snowflake generator, the clock and the revision.

``revision`` only grows: a store calls :meth:`GuildContext.changed` after it applied a change (never
for a refused request), and the server saves the data file when the revision moved since its last save.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gaib.emulator.snowflake import SnowflakeGenerator


@dataclass
class GuildContext:
    guild_id: str
    ids: SnowflakeGenerator
    clock: Callable[[], float]
    revision: int = 0

    def changed(self) -> None:
        self.revision += 1
