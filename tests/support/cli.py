"""Drive the gaib CLI in-process with an injected environment; returns output, exit code and JSON."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gaib.cli.app import main
from gaib.cli.context import Env, utc_now


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def data(self) -> Any:
        doc = self.json
        assert doc["success"] is True, doc
        return doc["data"]

    @property
    def error(self) -> dict[str, Any]:
        doc = self.json
        assert doc["success"] is False, doc
        return dict(doc["error"])


@dataclass
class CliRunner:
    cwd: Path
    environ: dict[str, str] = field(default_factory=dict)
    clock: Callable[[], datetime] = utc_now

    def __call__(self, *args: str, input: str | None = None, tty: bool = False,
                 env: Mapping[str, str] | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        environ = {**self.environ, **(env or {})}
        e = Env(stdout=out, stderr=err, stdin=io.StringIO(input or ""), environ=environ,
                cwd=self.cwd, clock=self.clock, stdin_is_tty=tty)
        code = main(list(args), env=e)
        return Result(code, out.getvalue(), err.getvalue())
