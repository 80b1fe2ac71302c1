from __future__ import annotations

import pytest

from gaib.semver import parse_range, parse_version


@pytest.mark.parametrize(("rng", "version", "ok"), [
    ("1.2.3", "1.2.3", True), ("1.2.3", "1.2.4", False), ("=1.2.3", "1.2.3", True),
    ("^1.0", "1.9.9", True), ("^1.0", "2.0.0", False), ("^1.2.3", "1.2.2", False),
    ("^0.2", "0.2.5", True), ("^0.2", "0.3.0", False), ("^0.0.3", "0.0.4", False),
    ("~1.2", "1.2.9", True), ("~1.2", "1.3.0", False), ("~1", "1.7.0", True),
    ("1", "1.4.0", True), ("1.2", "1.2.7", True), ("1.2", "1.3.0", False),
    ("*", "7.0.0", True), ("^1.0", "1.1.0-beta.1", False), ("1.1.0-beta.1", "1.1.0-beta.1", True),
])
def test_ranges(rng: str, version: str, ok: bool) -> None:
    assert parse_range(rng).matches(parse_version(version)) is ok


def test_precedence() -> None:
    assert parse_version("1.0.0-alpha") < parse_version("1.0.0-alpha.1") < parse_version("1.0.0-beta")
    assert parse_version("1.0.0-rc.1") < parse_version("1.0.0") < parse_version("1.0.1")
    assert parse_version("1.0.0-2") < parse_version("1.0.0-10")


@pytest.mark.parametrize("bad", ["1", "1.0", "01.0.0", "1.0.0.0", "v1.0.0", "latest", "", "1.0.0-"])
def test_invalid_versions(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_version(bad)


@pytest.mark.parametrize("bad", [">=1.0", "^1.x", "latest", "1.0.0 - 2.0.0", "^1.0.0-beta", "=1.2"])
def test_invalid_ranges(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_range(bad)
