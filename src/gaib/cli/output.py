"""Rendering: JSON envelopes for machines, plain or rich text for people.

With ``--json`` stdout holds exactly one object, ``{"success": true, "data": ...}`` or
``{"success": false, "error": {"code", "message", "suggestion"}}``; everything else (progress,
warnings) goes to stderr. Rich is imported only when a table is drawn, to keep start-up fast.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gaib.cli.context import Env
from gaib.cli.text import json_safe, printable
from gaib.errors import GaibError
from gaib.redact import redact, secrets_from


def to_json(value: Any) -> str:
    """Indented JSON; characters a terminal would act on are escaped (the data is unchanged)."""
    return json_safe(json.dumps(value, indent=2, sort_keys=False, default=str, ensure_ascii=False))


@dataclass
class Output:
    env: Env
    json_mode: bool = False
    quiet: bool = False
    color: bool = True
    secrets: list[str] = field(default_factory=list)
    """Secrets known beyond the environment's (a bot token read from gaib.yaml): never shown."""

    def _clean(self, text: str) -> str:
        extra = [self.env.environ.get("DISCORD_TOKEN", ""), *self.secrets]  # the original's variable name
        return redact(text, [*secrets_from(self.env.environ), *(s for s in extra if len(s) >= 4)])

    def _line(self, text: str) -> str:
        """A message for people: secrets redacted, control characters escaped (newlines kept)."""
        return printable(self._clean(text), keep_newlines=True)

    # --- stderr: progress and notes ---------------------------------------------------------------
    def info(self, message: str) -> None:
        """A progress line on stderr; silenced by --quiet."""
        if not self.quiet:
            self.env.stderr.write(self._line(message) + "\n")
            self.env.stderr.flush()

    def warn(self, message: str) -> None:
        """A warning on stderr; shown even with --quiet."""
        self.env.stderr.write(f"warning: {self._line(message)}\n")
        self.env.stderr.flush()

    # --- stdout: the result ------------------------------------------------------------------------
    def result(self, data: Any, text: str | None = None) -> None:
        """Emit the command's result: the JSON envelope, or ``text`` for people (if any)."""
        if self.json_mode:
            self.env.stdout.write(self._clean(to_json({"success": True, "data": data})) + "\n")
        elif text is not None and not (self.quiet and not text):
            self.env.stdout.write(self._clean(text if text.endswith("\n") else text + "\n"))
        self.env.stdout.flush()

    def error(self, err: GaibError) -> None:
        if self.json_mode:
            self.env.stdout.write(self._clean(to_json({"success": False, "error": err.to_dict()})) + "\n")
            self.env.stdout.flush()
        else:
            self.env.stderr.write(self._line(f"Error [{err.error_code}]: {err.message}") + "\n")
            if err.hint:
                self.env.stderr.write(self._line(f"  Suggestion: {err.hint}") + "\n")
            self.env.stderr.flush()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
        """Render a table for people: rich on a colour terminal, aligned plain text otherwise."""
        cells = [[printable(c) for c in row] for row in rows]
        if self.color and _isatty(self.env.stdout):
            from io import StringIO

            from rich.console import Console
            from rich.table import Table
            from rich.text import Text

            table = Table(title=printable(title) if title else None)
            for h in headers:
                table.add_column(h)
            for row in cells:
                table.add_row(*(Text(c) for c in row))  # Text: user text is never read as rich markup
            buf = StringIO()
            Console(file=buf, force_terminal=True, width=160).print(table)
            return buf.getvalue()
        widths = [len(h) for h in headers]
        for row in cells:
            for i, c in enumerate(row):
                widths[i] = max(widths[i], len(c))
        lines = [printable(title)] if title else []
        lines.append("  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip())
        lines.extend("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in cells)
        return "\n".join(lines)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
