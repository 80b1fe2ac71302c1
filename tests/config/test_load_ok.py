"""Valid configs load to the values a person wrote; dump_config writes them back unchanged."""

from __future__ import annotations

from collections.abc import Callable

from gaib.config.dump import dump_config
from gaib.config.permissions import PERMISSIONS
from gaib.config.schema import MANAGED_MARKER
from gaib.themes.effective import LoadedConfig, parse_config

Load = Callable[..., LoadedConfig]

FULL = """\
version: "1.0"
server:
  name: "${SERVER_NAME:-Arrakis}"
  description: Desert planet
roles:
  - name: Moderator
    color: "#FFAA00"
    permissions: [KICK_MEMBERS, MANAGE_MESSAGES]
    hoist: true
    mentionable: true
    position: 5
  - name: Bot
    color: 255
    permissions: "3072"
categories:
  - name: General
    position: 0
    permissions:
      "@everyone": {deny: [VIEW_CHANNEL]}
      Moderator: {allow: [VIEW_CHANNEL, SEND_MESSAGES]}
channels:
  - name: general
    category: General
    topic: "Talk. Costs $${PRICE} or $5"
    slowmode: ${SLOW:-10}
  - name: Voice Chat
    type: voice
    category: General
    bitrate: 64000
    user_limit: 12
  - name: lobby
"""


def test_full_config_values(load: Load) -> None:
    cfg = load(FULL, {"SLOW": "30"}).config
    assert cfg.server is not None and cfg.server.name == "Arrakis"
    mod, bot = cfg.roles
    assert mod.color == 0xFFAA00 and mod.permissions == PERMISSIONS["KICK_MEMBERS"] | PERMISSIONS["MANAGE_MESSAGES"]
    assert (mod.hoist, mod.mentionable, mod.position) == (True, True, 5)
    assert bot.color == 255 and bot.permissions == 3072 and bot.position is None
    ow = cfg.categories[0].permissions
    assert ow["@everyone"].deny == PERMISSIONS["VIEW_CHANNEL"] and ow["@everyone"].allow == 0
    general, voice, lobby = cfg.channels
    assert general.topic == "Talk. Costs ${PRICE} or $5"
    assert general.slowmode == 30
    assert (voice.type, voice.bitrate, voice.user_limit) == ("voice", 64000, 12)
    assert lobby.category is None and lobby.type == "text"


def test_env_default_and_set_values(load: Load) -> None:
    assert load(FULL).config.channels[0].slowmode == 10
    assert load(FULL, {"SERVER_NAME": "Caladan"}).config.server.name == "Caladan"  # type: ignore[union-attr]
    # an empty variable falls back to the default
    assert load(FULL, {"SERVER_NAME": ""}).config.server.name == "Arrakis"  # type: ignore[union-attr]


def test_env_values_are_not_yaml(load: Load) -> None:
    """A value cannot inject structure or be re-interpolated."""
    value = "x\nroles:\n  - name: y ${HOME}"
    cfg = load('version: "1.0"\nchannels:\n  - name: a\n    topic: "${T}"\n', {"T": value, "HOME": "/h"}).config
    assert cfg.roles == [] and cfg.channels[0].topic == value


def test_managed_marker_names_load_unchanged(load: Load) -> None:
    text = (f'version: "1.0"\nroles:\n  - name: "Naib {MANAGED_MARKER}"\ncategories:\n'
            f'  - name: "The Gathering {MANAGED_MARKER}"\nchannels:\n  - name: welcome\n'
            f'    category: "The Gathering {MANAGED_MARKER}"\n    topic: "Hello {MANAGED_MARKER}"\n'
            f'    permissions:\n      "Naib {MANAGED_MARKER}": {{allow: [SEND_MESSAGES]}}\n')
    loaded = load(text)
    cfg = loaded.config
    assert cfg.roles[0].name == "Naib [managed-by:arrakis-iac]"
    assert cfg.channels[0].topic == "Hello [managed-by:arrakis-iac]"
    assert list(cfg.channels[0].permissions) == ["Naib [managed-by:arrakis-iac]"]
    assert parse_config(dump_config(cfg), environ={}).config == cfg


def test_version_spellings(load: Load) -> None:
    for v in ('"1.0"', "1.0", '"1"', "1"):
        assert load(f"version: {v}\n").config.version == "1.0"
    assert load("roles: []\n").config.version == "1.0"


def test_yaml_anchors_and_merge_keys(load: Load) -> None:
    text = ('version: "1.0"\nroles: [{name: A}, {name: B}]\ncategories:\n  - name: C\n    permissions:\n'
            '      A: &rw {allow: [VIEW_CHANNEL, SEND_MESSAGES]}\n      B: {<<: *rw, deny: [ATTACH_FILES]}\n')
    perms = load(text).config.categories[0].permissions
    assert perms["A"].allow == perms["B"].allow == 3072
    assert perms["B"].deny == PERMISSIONS["ATTACH_FILES"]


def test_warnings_are_returned_not_raised(load: Load) -> None:
    text = ('version: "1.0"\nroles:\n  - name: Boss\n    permissions: [ADMINISTRATOR]\ncategories:\n  - name: C\n'
            '    permissions:\n      "@everyone": {allow: [MANAGE_MESSAGES, MENTION_EVERYONE]}\n'
            'channels:\n  - name: General Chat\n    category: C\n')
    loaded = load(text)
    texts = [str(w) for w in loaded.warnings]
    assert len(texts) == 3
    assert texts[0].endswith(":4: roles[0].permissions: role 'Boss' is granted ADMINISTRATOR: it bypasses every "
                             "channel overwrite")
    assert '@everyone is allowed MANAGE_MESSAGES, MENTION_EVERYONE' in texts[1]
    assert "'General Chat' would become 'general-chat'" in texts[2]


def test_dump_is_clean_and_stable(load: Load) -> None:
    cfg = load(FULL).config
    text = dump_config(cfg)
    assert text == dump_config(parse_config(text, environ={}).config)
    assert parse_config(text, environ={}).config == cfg
    assert "color: '#ffaa00'" in text
    assert "      - KICK_MEMBERS\n      - MANAGE_MESSAGES\n" in text
    assert "topic: Talk. Costs $${PRICE} or $5" in text
    keys = [line.split(":")[0].strip() for line in text.splitlines() if not line.startswith(" ")]
    assert keys == ["version", "server", "roles", "categories", "channels"]
    role_keys = [line.strip().lstrip("- ").split(":")[0] for line in text.split("categories:")[0].splitlines()
                 if line.startswith(("  - ", "    ")) and not line.startswith("      ")]
    assert role_keys[:6] == ["name", "color", "permissions", "hoist", "mentionable", "position"]


def test_dump_keeps_theme_reference(load: Load) -> None:
    text = ('version: "1.0"\ntheme:\n  name: basic\n  version: "^1.0"\n  variables: {community_name: "Dunes ${X:-}"}\n'
            '  exclude: {channels: [Lounge]}\n')
    loaded = load(text)
    again = parse_config(dump_config(loaded.source), environ={})
    assert again.source == loaded.source
    assert again.config == loaded.config
