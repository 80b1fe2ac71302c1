"""Rendering: JSON envelopes for machines, plain or rich text for people.

With ``--json`` stdout holds exactly one object, ``{"success": true, "data": ...}`` or
``{"success": false, "error": {"code", "message", "suggestion"}}``; everything else (progress,
warnings) goes to stderr. Rich is imported only when a table is drawn, and json, the text escaping
and the redaction only when something is written, to keep start-up (``gaib --help``) fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gaib.cli.context import Env
    from gaib.errors import GaibError


def to_json(value: Any) -> str:
    """Indented JSON; characters a terminal would act on are escaped (the data is unchanged)."""
    import json

    from gaib.cli.text import json_safe

    return json_safe(json.dumps(value, indent=2, sort_keys=False, default=str, ensure_ascii=False))


class Output:
    """Where a command's result, progress and errors go, and how (``--json``, ``--quiet``, colour)."""

    def __init__(self, env: Env, json_mode: bool = False, quiet: bool = False, color: bool | None = None,
                 secrets: list[str] | None = None) -> None:
        self.env = env
        self.json_mode = json_mode
        self.quiet = quiet
        self._color = color
        self.secrets: list[str] = list(secrets or [])
        """Secrets known beyond the environment's (a bot token read from gaib.yaml): never shown."""

    @property
    def color(self) -> bool:
        """Colours allowed: as given (``--no-color`` sets False), else unless ``NO_COLOR`` is set."""
        if self._color is None:
            self._color = not self.env.environ.get("NO_COLOR")
        return self._color

    @color.setter
    def color(self, value: bool) -> None:
        self._color = value

    def _clean(self, text: str) -> str:
        from gaib.redact import redact, secrets_from

        extra = [self.env.environ.get("DISCORD_TOKEN", ""), *self.secrets]  # the original's variable name
        return redact(text, [*secrets_from(self.env.environ), *(s for s in extra if len(s) >= 4)])

    def _line(self, text: str) -> str:
        """A message for people: secrets redacted, control characters escaped (newlines kept)."""
        from gaib.cli.text import printable

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
        from gaib.cli.text import printable

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
