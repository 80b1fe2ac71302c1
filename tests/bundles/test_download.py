"""Where a download goes: the path as a shell reads it, checked before anything is read or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaib.bundles.download import resolve_target
from gaib.errors import AlreadyExists, InvalidInput


def test_tilde_is_expanded_only_at_the_start(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    cwd.mkdir()
    assert resolve_target(cwd, "~", home=home) == home.resolve()
    assert resolve_target(cwd, "~/snap", home=home) == home.resolve() / "snap"
    assert resolve_target(cwd, "a/~/b", home=home) == cwd.resolve() / "a" / "~" / "b"
    assert resolve_target(cwd, "../elsewhere", home=home) == tmp_path.resolve() / "elsewhere"


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b", "x" * 5000, "~no-such-user-gaib/snap"])
def test_unusable_paths_are_invalid_input(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        resolve_target(tmp_path, bad, home=tmp_path)
    assert err.value.exit_code == 6 and err.value.hint
    if bad.startswith("~"):
        assert "no user 'no-such-user-gaib'" in err.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_file_or_a_non_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine").write_text("x")
    with pytest.raises(InvalidInput, match="is a file"):
        resolve_target(tmp_path, "file", force=True)
    with pytest.raises(AlreadyExists) as err:
        resolve_target(tmp_path, "full")
    assert "--force" in (err.value.hint or "")
    assert resolve_target(tmp_path, "full", force=True) == (tmp_path / "full").resolve()
