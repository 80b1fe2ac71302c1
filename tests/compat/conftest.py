"""The original-Gaib compatibility suite's CLI: the shared ``gaib`` runner on the emulated guild, with no
HOME themes."""

from __future__ import annotations

import pytest

from tests.support.cli import CliRunner


@pytest.fixture
def gaib(gaib: CliRunner) -> CliRunner:
    """A CLI runner pointed at the emulated guild, with no HOME themes."""
    gaib.environ["HOME"] = str(gaib.cwd / "home")
    return gaib
