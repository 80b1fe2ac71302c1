"""Theme search, variables, merge rules and the built-in themes."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from gaib.config.desired import to_desired
from gaib.config.permissions import PERMISSIONS
from gaib.errors import ConfigError
from gaib.themes.effective import LoadedConfig, load_config
from gaib.themes.loader import ThemeSearch, discover, find_theme
from tests.support.themes import BODY, MANIFEST, make_theme


def load(tmp_path: Path, text: str, home: Path | None = None, environ: dict[str, str] | None = None) -> LoadedConfig:
    path = tmp_path / "discord-server.yaml"
    path.write_text('version: "1.0"\n' + text)
    return load_config(path, environ=environ or {}, project_dir=tmp_path, home=home)


def fails(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, text, environ=environ)
    assert exc.value.exit_code == 2
    return exc.value.message


def test_variables_are_substituted_with_their_types(tmp_path: Path) -> None:
    make_theme(tmp_path / "themes")
    loaded = load(tmp_path, "theme:\n  name: town\n  variables: {guild: Arrakeen, slow: '30', adult: 'yes'}\n")
    cfg = loaded.config
    assert cfg.theme is None and loaded.source.theme is not None
    assert cfg.roles[0].color == 0x123456
    chat = cfg.channels[0]
    assert chat.topic == "Welcome to Arrakeen! ${literal}"
    assert chat.slowmode == 30 and chat.nsfw is True
    assert loaded.theme is not None
    assert (loaded.theme.name, loaded.theme.version, loaded.theme.origin) == ("town", "1.2.0", "project")
    assert loaded.theme.variables == {"accent": "#123456", "guild": "Arrakeen", "slow": 30, "adult": True}


def test_user_variables_may_come_from_the_environment(tmp_path: Path) -> None:
    make_theme(tmp_path / "themes")
    loaded = load(tmp_path, "theme:\n  name: town\n  variables: {guild: '${GUILD}'}\n", environ={"GUILD": "Tabr"})
    assert loaded.config.channels[0].topic.startswith("Welcome to Tabr!")  # type: ignore[union-attr]


def test_variable_errors(tmp_path: Path) -> None:
    make_theme(tmp_path / "themes")
    msg = fails(tmp_path, "theme: town\n")
    assert ":2: theme: theme 'town' needs the variable 'guild' (string)" in msg
    msg = fails(tmp_path, "theme:\n  name: town\n  variables:\n    guild: arrakeen\n")
    assert ":5: theme.variables.guild: variable 'guild': 'arrakeen' does not match the pattern" in msg
    msg = fails(tmp_path, "theme:\n  name: town\n  variables: {guild: Tabr, acent: '#fff'}\n")
    assert "theme.variables.acent: theme 'town' has no variable 'acent'; did you mean 'accent'?" in msg
    msg = fails(tmp_path, "theme:\n  name: town\n  variables: {guild: Tabr, slow: fast}\n")
    assert "variable 'slow': expected an integer, got 'fast'" in msg


def test_undeclared_variable_in_body_is_kept_and_located(tmp_path: Path) -> None:
    """A ${name} the theme does not declare stays as written (the original's rule), with a located
    warning and a did-you-mean (issue 13; it used to be an error)."""
    make_theme(tmp_path / "themes", body=BODY.replace("${guild}", "${gild}"))
    loaded = load(tmp_path, "theme:\n  name: town\n  variables: {guild: Tabr}\n")
    assert loaded.config.channels[0].topic == "Welcome to ${gild}! ${literal}"
    shown = [str(w) for w in loaded.warnings]
    assert str(tmp_path / "themes" / "town" / "server.yaml") + ":16: channels[0].topic: '${gild}' is not a " \
        "variable with a value in this theme; did you mean 'guild'?; kept as written" in shown
    make_theme(tmp_path / "t2", name="town", body=BODY.replace("${guild}", "${HOME:-x}"))
    rendered = find_theme("town", ThemeSearch(project_dir=None, home=None, builtin_dir=tmp_path / "t2")).render(
        {"guild": "A", "accent": "#000000", "slow": 1, "adult": False})
    assert rendered.body.channels[0].topic == "Welcome to ${HOME:-x}! ${literal}"


@pytest.mark.parametrize(("manifest", "what"), [
    (MANIFEST.replace('"{version}"', '"1.0"'), "invalid version '1.0'"),
    (MANIFEST.replace("type: int", "type: integer"), "unknown variable type 'integer'"),
    (MANIFEST.replace('default: "#123456"', "default: blue"), "invalid colour 'blue'"),
    (MANIFEST.replace("  slow:", "  Slow-Mode:"), "invalid variable name 'Slow-Mode'"),
])
def test_bad_manifests(tmp_path: Path, manifest: str, what: str) -> None:
    make_theme(tmp_path / "themes", manifest=manifest)
    assert what in fails(tmp_path, "theme:\n  name: town\n  variables: {guild: Tabr}\n")


def test_folder_must_match_manifest_name(tmp_path: Path) -> None:
    d = make_theme(tmp_path / "themes")
    d.rename(tmp_path / "themes" / "city")
    msg = fails(tmp_path, "theme: city\n")
    assert "the manifest names 'town' but the folder is 'city'" in msg


def test_merge_user_overrides_fields_and_adds_items(tmp_path: Path) -> None:
    make_theme(tmp_path / "themes")
    text = ("theme:\n  name: town\n  variables: {guild: Tabr}\n"
            "roles:\n  - name: staff\n    color: '#ff0000'\n  - name: Guest\n"
            "categories:\n  - name: Hall\n    permissions:\n      Member: {deny: [SEND_MESSAGES]}\n"
            "      Guest: {allow: [VIEW_CHANNEL]}\n"
            "channels:\n  - name: chat\n    category: Hall\n    topic: mine\n  - name: chat\n")
    cfg = load(tmp_path, text).config
    assert [r.name for r in cfg.roles] == ["Staff", "Member", "Guest"]  # the theme's spelling stays
    staff = cfg.roles[0]
    assert staff.color == 0xFF0000  # from the user
    assert staff.permissions == PERMISSIONS["KICK_MEMBERS"] and staff.hoist  # kept from the theme
    hall = cfg.categories[0].permissions
    assert list(hall) == ["@everyone", "Member", "Staff", "Guest"]
    # merged key by key (the original's rule): the theme's allow stays, the user's deny is added
    assert hall["Member"].allow == PERMISSIONS["VIEW_CHANNEL"] and hall["Member"].deny == PERMISSIONS["SEND_MESSAGES"]
    assert hall["Staff"].allow == PERMISSIONS["VIEW_CHANNEL"] | PERMISSIONS["MANAGE_MESSAGES"]
    assert [(c.category, c.name, c.topic) for c in cfg.channels] == [
        ("Hall", "chat", "mine"), ("Hall", "rules", None), (None, "chat", None)]
    assert cfg.channels[0].slowmode == 5


def test_exclude_removes_theme_items_and_what_depends_on_them(tmp_path: Path) -> None:
    make_theme(tmp_path / "themes")
    base = "theme:\n  name: town\n  variables: {guild: Tabr}\n  exclude:\n"
    cfg = load(tmp_path, base + "    roles: [member]\n    channels: [rules]\n").config
    assert [r.name for r in cfg.roles] == ["Staff"]
    assert list(cfg.categories[0].permissions) == ["@everyone", "Staff"]
    assert [c.name for c in cfg.channels] == ["chat"]
    cfg = load(tmp_path, base + "    categories: [Hall]\n").config
    assert cfg.categories == [] and cfg.channels == []
    msg = fails(tmp_path, base + "    channels: [{name: rulez, category: Hall}]\n")
    assert ":6: theme.exclude.channels[0]: the theme has no channel 'rulez'; did you mean 'rules'?" in msg


def test_user_reference_errors_inside_merged_config_point_at_user_file(tmp_path: Path) -> None:
    make_theme(tmp_path / "themes")
    msg = fails(tmp_path, "theme:\n  name: town\n  variables: {guild: Tabr}\n  exclude: {roles: [Member]}\n"
                          "channels:\n  - name: x\n    category: Hal\n    permissions:\n      Member: {}\n")
    lines = msg.splitlines()
    assert lines[0].endswith("discord-server.yaml:8: channels[0].category: undefined category 'Hal'; "
                             "did you mean 'Hall'?")
    assert lines[1].endswith("discord-server.yaml:10: channels[0].permissions.Member: undefined role 'Member' "
                             "(defined roles: 'Staff')")


def test_search_order_and_versions(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_theme(tmp_path / "themes", version="2.0.0")
    make_theme(home / ".gaib" / "themes", version="1.4.1")
    search = ThemeSearch(project_dir=tmp_path, home=home)
    assert find_theme("town", search).origin == "project"
    assert find_theme("town", search, "^1.0").origin == "home"
    assert find_theme("town", search, "~1.4").version == "1.4.1"
    assert find_theme("town", search, "2.0.0").version == "2.0.0"
    with pytest.raises(ConfigError, match=r"found 2.0.0 \(project\), 1.4.1 \(home\)"):
        find_theme("town", search, "^3")
    loaded = load(tmp_path, "theme:\n  name: town\n  version: ^1.2\n  variables: {guild: Tabr}\n", home=home)
    assert loaded.theme is not None and loaded.theme.origin == "home"
    # the built-in themes come first (the original's order); source: local picks the project's
    make_theme(tmp_path / "themes", name="basic", version="9.0.0")
    assert find_theme("basic", search).origin == "builtin"
    assert find_theme("basic", search, "^9.0").origin == "project"
    assert find_theme("basic", search, source="local").origin == "project"
    assert any("set theme.source: local" in w for w in find_theme("basic", search).warnings)


@pytest.mark.parametrize("bad", ["../etc", "a/b", "", ".hidden", "x" * 65, "tëst"])
def test_hostile_theme_names(bad: str) -> None:
    with pytest.raises(ConfigError, match="invalid theme name"):
        find_theme(bad, ThemeSearch())


def test_discover_reports_broken_themes(tmp_path: Path) -> None:
    make_theme(tmp_path / "themes")
    broken = tmp_path / "themes" / "bad"
    broken.mkdir()
    (broken / "theme.yaml").write_bytes(b"\xff\xfe")
    themes, bad = discover(ThemeSearch(project_dir=tmp_path))
    assert [t.name for t in themes] == ["basic", "sietch", "town"]
    assert [(b.name, b.origin) for b in bad] == [("bad", "project")]
    assert "not UTF-8" in bad[0].error


def test_sietch_builtin(tmp_path: Path) -> None:
    loaded = load(tmp_path, "theme:\n  name: sietch\n  version: ^1.0\n")
    cfg = loaded.config
    assert (len(cfg.roles), len(cfg.categories), len(cfg.channels)) == (15, 9, 23)
    assert loaded.warnings == []
    assert loaded.theme is not None and loaded.theme.origin == "builtin"
    by_cat: dict[str | None, int] = {}
    for c in cfg.channels:
        by_cat[c.category] = by_cat.get(c.category, 0) + 1
    assert set(by_cat) == {c.name for c in cfg.categories}  # every category has channels
    # tiers: a higher tier sees every category a lower one sees
    tiers = ["Pilgrim", "Water Bearer", "Fremen", "Sandrider", "Fedaykin"]
    view = PERMISSIONS["VIEW_CHANNEL"]

    def sees(role: str) -> set[str]:
        return {c.name for c in cfg.categories
                if c.name == "The Gathering" or (role in c.permissions and c.permissions[role].allow & view)}

    seen = [sees(t) for t in tiers]
    assert all(a < b for a, b in itertools.pairwise(seen))
    assert "Fedaykin Warren" in seen[-1] and "Fedaykin Warren" not in seen[-2]
    assert all(c.permissions["@everyone"].deny & view for c in cfg.categories if c.name != "The Gathering")
    d = to_desired(cfg)
    assert {ch.type.name for ch in d.channels} == {"TEXT", "VOICE", "ANNOUNCEMENT", "STAGE", "FORUM"}


def test_sietch_variables(tmp_path: Path) -> None:
    cfg = load(tmp_path, "theme:\n  name: sietch\n  variables: {community_name: Tabr, general_slowmode: 0, "
                         "memes_nsfw: true, naib_color: '#fff'}\n").config
    chans = {c.name: c for c in cfg.channels}
    assert chans["rules"].topic is not None and "Tabr" in chans["rules"].topic
    assert chans["general"].slowmode == 0 and chans["desert-memes"].nsfw is True
    assert cfg.roles[0].name == "Naib" and cfg.roles[0].color == 0xFFFFFF


def test_basic_builtin(tmp_path: Path) -> None:
    loaded = load(tmp_path, "theme: basic\n")
    cfg = loaded.config
    assert (len(cfg.roles), len(cfg.categories), len(cfg.channels)) == (3, 3, 5)
    assert loaded.warnings == []
    assert [c.name for c in cfg.channels] == ["welcome", "announcements", "general", "Lounge", "staff-chat"]
