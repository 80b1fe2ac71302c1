"""The effective config: one ``discord-server.yaml`` with its theme merged in, checked as a whole.

This sits above both ``gaib.config`` (reading one file) and the theme loader, so neither imports
the other's upper half: config never imports themes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gaib.config.load import DEFAULT_FILE, read_config
from gaib.config.schema import ServerConfig
from gaib.config.source import Problem, raise_problems, read_file
from gaib.config.validate import Locator, canonical_references, check_config, document_locator
from gaib.themes.apply import AppliedTheme, apply_theme
from gaib.themes.loader import ThemeSearch


@dataclass(frozen=True)
class LoadedConfig:
    """A loaded config.

    ``config`` is what to deploy: the theme's items merged in and ``config.theme`` cleared, so
    ``dump_config(config)`` stands alone. ``source`` is the file as written (theme reference kept).
    """

    config: ServerConfig
    source: ServerConfig
    filename: str
    warnings: list[Problem] = field(default_factory=list)
    theme: AppliedTheme | None = None


def load_config(
    path: str | Path,
    *,
    environ: Mapping[str, str],
    project_dir: Path | None = None,
    home: Path | None = None,
    project_file: bool = False,
) -> LoadedConfig:
    """Load and check a config file, merging in its theme.

    Themes are searched in the built-in ones, then ``project_dir/themes`` (default: the file's
    folder), then ``home/.gaib/themes`` (skipped when ``home`` is None). ``project_file``: the file
    is a ``gaib.yaml`` holding the config beside its settings. Raises ConfigNotFound if the file is
    missing and ConfigError for anything wrong in it or its theme.
    """
    file = Path(path)
    name, raw = read_file(file, display=str(path))
    return parse_config(raw, filename=name, environ=environ,
                        project_dir=project_dir if project_dir is not None else file.parent, home=home,
                        project_file=project_file)


def parse_config(
    raw: bytes | str,
    *,
    filename: str = DEFAULT_FILE,
    environ: Mapping[str, str],
    project_dir: Path | None = None,
    home: Path | None = None,
    project_file: bool = False,
) -> LoadedConfig:
    """Like :func:`load_config` for text already read; ``filename`` is only used in messages."""
    doc, source = read_config(raw, filename=filename, environ=environ, project_file=project_file)
    warnings: list[Problem] = list(doc.warnings)
    locate: Locator = document_locator(doc)
    config = source
    applied = None
    if source.theme is not None:
        merged = apply_theme(doc, source, ThemeSearch(project_dir=project_dir, home=home))
        config, locate, applied = merged.config, merged.locate, merged.applied
        warnings.extend(merged.warnings)
    config, reference_warnings = canonical_references(config, locate)
    errors, check_warnings = check_config(config, locate)
    raise_problems(errors)
    return LoadedConfig(config=config, source=source, filename=filename,
                        warnings=warnings + reference_warnings + check_warnings, theme=applied)
