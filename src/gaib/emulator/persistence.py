"""The emulator's data file (``--data FILE``): the guild loaded at start and saved after each change.

Saves are atomic (a temporary file in the same folder, fsynced, then renamed over the target) and
happen only when the guild's revision moved since the last save. The document's format is
:mod:`gaib.emulator.stores.datafile`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from gaib.emulator.guild import GuildState


class DataFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._saved_revision = -1

    def load(self, state: GuildState) -> None:
        """Load the guild from the file if it exists (a missing file is an empty guild).

        Raises OSError, UnicodeDecodeError, json.JSONDecodeError or DataFileError, changing nothing.
        """
        if self.path.exists():
            state.load_json(json.loads(self.path.read_text(encoding="utf-8")))
        self._saved_revision = -1

    def save_if_changed(self, state: GuildState) -> None:
        """Atomically rewrite the file (temp file + rename) if the guild changed since the last save."""
        if state.revision == self._saved_revision:
            return
        target = self.path
        fd, tmp = tempfile.mkstemp(prefix=".emulator-", suffix=".tmp", dir=target.parent or Path("."))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state.to_json(), handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._saved_revision = state.revision
