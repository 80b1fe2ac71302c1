"""Every broken config fails with ConfigError (exit 2) naming file:line and the field path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gaib.errors import ConfigError, ConfigNotFound
from gaib.themes.effective import LoadedConfig, load_config

Err = Callable[..., ConfigError]

GOOD_ROLES = """\
version: "1.0"
roles:
  - name: Moderator
    color: "#112233"
  - name: Member
"""


def first(err: ConfigError) -> str:
    return err.message.splitlines()[0]


def test_bad_color_names_line_and_path(load_error: Err) -> None:
    err = load_error(GOOD_ROLES + "  - name: VIP\n    hoist: true\n    color: gold\n")
    assert first(err).endswith("discord-server.yaml:8: roles[2].color: invalid colour 'gold'; "
                               "expected \"#RRGGBB\" or an integer 0-16777215")
    assert err.exit_code == 2
    detail = err.details["errors"][0]
    assert (Path(detail["file"]).name, detail["line"], detail["path"]) == ("discord-server.yaml", 8, "roles[2].color")


def test_unknown_keys_are_warnings_with_a_suggestion(load: Callable[..., LoadedConfig]) -> None:
    """The original Gaib ignores keys it does not know, so Gaib warns (located, with a did-you-mean)
    instead of refusing the file (issue 13)."""
    loaded = load(GOOD_ROLES + "  - name: VIP\n    colour: '#ffffff'\nchanels: []\n")
    shown = [str(w) for w in loaded.warnings]
    assert any(w.endswith("discord-server.yaml:7: roles[2].colour: unknown key 'colour' ignored; did you mean "
                          "'color'?") for w in shown)
    assert any(w.endswith("discord-server.yaml:8: chanels: unknown key 'chanels' ignored; did you mean "
                          "'channels'?") for w in shown)
    assert loaded.config.roles[2].color == 0


def test_unknown_permission_points_at_the_item(load_error: Err) -> None:
    err = load_error('version: "1.0"\nroles:\n  - name: A\n    permissions:\n      - VIEW_CHANNEL\n'
                     '      - MANAGE_MESAGES\n')
    assert first(err).endswith(":6: roles[0].permissions[1]: unknown permission 'MANAGE_MESAGES'; "
                               "did you mean 'MANAGE_MESSAGES'?")


def test_all_problems_are_listed(load_error: Err) -> None:
    err = load_error('version: "1.0"\nroles:\n  - name: A\n    color: 99999999\n  - {name: B, hoist: maybe}\n'
                     'channels:\n  - {name: x, slowmode: 30000, type: txt}\n')
    lines = err.message.splitlines()
    assert len(lines) == 4
    assert "roles[0].color" in lines[0] and "out of range" in lines[0]
    assert "roles[1].hoist" in lines[1]
    assert any("channels[0].type: unknown channel type 'txt'; did you mean 'text'?" in x for x in lines)
    assert any("channels[0].slowmode" in x and "21600" in x for x in lines)
    assert len(err.details["errors"]) == 4


def test_missing_name(load_error: Err) -> None:
    err = load_error('version: "1.0"\nroles:\n  - color: "#ffffff"\n')
    assert first(err).endswith("discord-server.yaml:3: roles[0].name: missing required key 'name'")


def test_undefined_category_and_role_references(load_error: Err) -> None:
    err = load_error(GOOD_ROLES + "categories:\n  - name: General\n    permissions:\n"
                     "      Moderatr: {allow: [VIEW_CHANNEL]}\nchannels:\n  - name: chat\n"
                     "    category: Generl\n  - name: x\n    category: Nowhere\n")
    lines = err.message.splitlines()
    assert lines[0].endswith(":9: categories[0].permissions.Moderatr: undefined role 'Moderatr'; "
                             "did you mean 'Moderator'?")
    assert lines[1].endswith(":12: channels[0].category: undefined category 'Generl'; did you mean 'General'?")
    assert "undefined category 'Nowhere' (defined categories: 'General')" in lines[2]


def test_duplicate_names(load_error: Err) -> None:
    err = load_error(GOOD_ROLES + "  - name: moderator\n")
    assert first(err).endswith(":6: roles[2].name: duplicate role 'moderator' (also roles[0])")
    err = load_error('version: "1.0"\ncategories:\n  - name: A\n  - name: a\n')
    assert "duplicate category 'a'" in err.message


def test_channels_duplicate_only_within_a_category(load: Callable[..., object], load_error: Err) -> None:
    base = 'version: "1.0"\ncategories: [{name: A}, {name: B}]\nchannels:\n'
    load(base + "  - {name: chat, category: A}\n  - {name: chat, category: B}\n  - {name: chat}\n")
    err = load_error(base + "  - {name: chat, category: A}\n  - {name: Chat, category: A, type: voice}\n")
    assert "channels[1].name: duplicate channel 'Chat' in category 'A'" in err.message


def test_everyone_is_not_a_role(load_error: Err) -> None:
    err = load_error('version: "1.0"\nroles:\n  - name: "@everyone"\n')
    assert "roles[0].name" in err.message and "default role" in err.message


def test_limits(load_error: Err) -> None:
    roles = "".join(f"  - name: r{i}\n" for i in range(251))
    assert "251 roles; Discord allows at most 250" in load_error('version: "1.0"\nroles:\n' + roles).message
    chans = "".join(f"  - {{name: c{i}, category: A}}\n" for i in range(51))
    err = load_error('version: "1.0"\ncategories: [{name: A}]\nchannels:\n' + chans)
    assert "category 'A' has more than 50 channels" in err.message
    cats = "".join(f"  - name: k{i}\n" for i in range(20))
    chans = "".join(f"  - {{name: c{i}, category: k{i % 20}}}\n" for i in range(481))
    err = load_error('version: "1.0"\ncategories:\n' + cats + "channels:\n" + chans)
    assert "501 channels and categories; Discord allows at most 500" in err.message


def test_name_and_topic_lengths(load_error: Err) -> None:
    assert "at most 100 characters" in load_error('version: "1.0"\nroles:\n  - name: ' + "x" * 101 + "\n").message
    assert "at least 1 character" in load_error('version: "1.0"\nroles:\n  - name: ""\n').message
    err = load_error('version: "1.0"\nchannels:\n  - name: a\n    topic: ' + "t" * 1025 + "\n")
    assert "channels[0].topic: topic is 1025 characters; a text channel allows 1024" in err.message


def test_voice_only_fields_on_text(load: Callable[..., LoadedConfig], load_error: Err) -> None:
    loaded = load('version: "1.0"\nchannels:\n  - {name: a, bitrate: 64000}\n')
    assert any("channels[0].bitrate: bitrate applies only to voice and stage channels, not text; ignored"
               in str(w) for w in loaded.warnings)
    err = load_error('version: "1.0"\nchannels:\n  - {name: a, type: voice, user_limit: 100}\n')
    assert "channels[0].user_limit" in err.message


def test_allow_and_deny_overlap(load_error: Err) -> None:
    err = load_error('version: "1.0"\ncategories:\n  - name: A\n    permissions:\n'
                     '      "@everyone": {allow: [VIEW_CHANNEL], deny: [VIEW_CHANNEL]}\n')
    assert 'categories[0].permissions["@everyone"]: VIEW_CHANNEL both allowed and denied' in err.message


def test_missing_env_var_is_named(load_error: Err) -> None:
    """In a file using Gaib's own syntax (here ${NAME:-default}) an unset variable stays an error."""
    err = load_error('version: "1.0"\nserver:\n  name: "${SERVER_NAME}"\n  description: "${DESC:-none}"\n')
    assert first(err).endswith(":3: server.name: environment variable SERVER_NAME is not set "
                            "(use ${SERVER_NAME:-default} to give a default)")


@pytest.mark.parametrize("expr", ["${}", "${1ABC}", "${A-b}", "${A"])
def test_bad_env_expressions(load_error: Err, expr: str) -> None:
    err = load_error(f'version: "1.0"\nroles:\n  - name: "x{expr}"\n')
    assert ":3: roles[0].name:" in err.message


@pytest.mark.parametrize(("text", "line", "what"), [
    ('version: "1.0"\nroles: [\n  {name: a\n', 4, "YAML syntax error"),
    ("- just\n- a list\n", 1, "expected a mapping at the top level, found a list"),
    ("just text\n", 1, "expected a mapping at the top level, found a scalar"),
    ('version: "1.0"\nroles: []\nroles: []\n', 3, "duplicate key 'roles' (first given on line 2)"),
    ('version: "1.0"\n---\nversion: "1.0"\n', 2, "YAML syntax error"),
    ('version: "1.0"\nroles: !!python/object:os.system {}\n', 2, "unsupported YAML tag"),
    ('version: "1.0"\nroles:\n  - name: !!python/name:os.system\n', 3, "cannot read value"),
    ('version: "2.0"\n', 1, "unsupported config version '2.0'"),
    ('version: "1.0"\nroles:\n  - name: "a\\tb"\n', 3, "control character"),
])
def test_malformed_yaml(load_error: Err, text: str, line: int, what: str) -> None:
    err = load_error(text)
    assert f"discord-server.yaml:{line}:" in first(err)
    assert what in err.message


def test_binary_garbage(load_error: Err) -> None:
    err = load_error(b'version: "1.0"\nroles:\n\xff\xfe\x00\x01garbage\n')
    assert ":3: not UTF-8 text" in err.message
    err = load_error(b'version: "1.0"\n\x00\x00\x00')
    assert ":2: contains a NUL byte" in err.message
    err = load_error(b'version: "1.0"\nname: a\x07b\n')
    assert ":2:" in err.message and "unreadable character" in err.message


def test_huge_file_is_refused_before_parsing(load_error: Err) -> None:
    err = load_error(b'version: "1.0"\n# ' + b"x" * (10 * 1024 * 1024) + b"\n")
    assert "discord-server.yaml:1: the file is 10.0 MB; a config may be at most 4 MB" in err.message


def test_alias_bomb_is_refused(load_error: Err) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    err = load_error("\n".join(lines) + "\n")
    assert "expands to more than" in err.message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigNotFound) as exc:
        load_config(tmp_path / "nope.yaml", environ={})
    assert exc.value.exit_code == 2
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, environ={})


def test_theme_reference_errors_are_located(load_error: Err) -> None:
    err = load_error('version: "1.0"\ntheme: seitch\n')
    assert first(err).endswith(":2: theme.name: theme 'seitch' not found; did you mean 'sietch'?")
    err = load_error('version: "1.0"\ntheme:\n  name: sietch\n  version: "^2.0"\n')
    assert ":4: theme.version: no version of theme 'sietch' matches ^2.0; found 1.0.0 (builtin)" in err.message
    err = load_error('version: "1.0"\ntheme:\n  name: sietch\n  version: "latest"\n')
    assert ":4: theme.version: invalid version range 'latest'" in err.message
    err = load_error('version: "1.0"\ntheme: ../../etc\n')
    assert ":2: theme.name: invalid theme name" in err.message


def test_a_stage_takes_10000_users_and_a_voice_channel_99(load: Callable[..., LoadedConfig], load_error: Err) -> None:
    """A stage channel with more than 99 seats used to make every snapshot of the server fail (its export
    did not load back); media channels are a channel type of their own (issue 22)."""
    ok = load('version: "1.0"\nchannels:\n  - name: Town hall\n    type: stage\n    user_limit: 5000\n'
              "  - name: gallery\n    type: media\n    topic: Pictures only\n")
    assert [(c.type, c.user_limit) for c in ok.config.channels] == [("stage", 5000), ("media", None)]
    err = load_error('version: "1.0"\nchannels:\n  - name: lounge\n    type: voice\n    user_limit: 100\n')
    assert "a voice channel allows at most 99" in first(err)
