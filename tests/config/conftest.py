from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gaib.errors import ConfigError
from gaib.themes.effective import LoadedConfig, load_config

Loader = Callable[..., LoadedConfig]


@pytest.fixture
def load(tmp_path: Path) -> Loader:
    """Write text to discord-server.yaml in a fresh folder and load it (no HOME themes)."""

    def run(text: str | bytes, environ: dict[str, str] | None = None,
            name: str = "discord-server.yaml") -> LoadedConfig:
        path = tmp_path / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return load_config(path, environ=environ or {}, project_dir=tmp_path, home=None)

    return run


@pytest.fixture
def load_error(load: Loader) -> Callable[..., ConfigError]:
    def run(text: str | bytes, environ: dict[str, str] | None = None) -> ConfigError:
        with pytest.raises(ConfigError) as exc:
            load(text, environ)
        return exc.value

    return run
