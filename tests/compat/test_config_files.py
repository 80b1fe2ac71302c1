"""compat.md, "discord-server.yaml": one file per fact, each loading, planning, applying, converging,
backing up and restoring through the CLI against the emulated guild."""

from __future__ import annotations

import textwrap

import yaml

from tests.compat.originals import cycle, live, ok
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle
from tests.support.tiers import on_tier


def _write(gaib: CliRunner, text: str, name: str = "discord-server.yaml") -> None:
    (gaib.cwd / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_version_spellings_and_empty_files(gaib: CliRunner, guild: EmulatorHandle) -> None:
    """`version: "1"` or "1.0"; an empty or comment-only file is an empty config (with a warning)."""
    on_tier(gaib, "premium")  # several on-demand backups today
    _write(gaib, 'version: "1"\nroles:\n  - name: Fremen\n')
    cycle(gaib)
    _write(gaib, "# nothing here yet\n")
    r = ok(gaib("server", "plan", "--json"))
    assert "the file is empty" in r.stderr
    assert [c["action"] for c in r.data["changes"]] == ["delete"]  # the empty config manages nothing
    cycle(gaib)
    assert [x["name"] for x in live(guild)[0]] == ["@everyone"]
    _write(gaib, "")
    assert ok(gaib("server", "plan", "--json")).data["empty"] is True


def test_server_id_is_the_guild_when_none_is_given(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _write(gaib, f"""\
        version: "1.0"
        server:
          id: "{guild.guild_id}"
          name: Arrakis Test
          description: Where the spice flows
        roles:
          - name: Fremen
        """)
    del gaib.environ["DISCORD_GUILD_ID"]
    cycle(gaib)
    assert sorted(x["name"] for x in live(guild)[0]) == ["@everyone", "Fremen"]
    r = gaib("server", "plan", "--json", env={"DISCORD_GUILD_ID": "1100000000000000999"})
    assert r.exit_code == 2
    assert "DISCORD_GUILD_ID is 1100000000000000999" in r.error["message"]
    assert f"server.id is {guild.guild_id}" in r.error["message"]


def test_a_theme_reference_with_source_and_variables(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _write(gaib, """\
        version: "1.0"
        theme:
          name: basic
          source: builtin
          variables:
            community_name: Sietch Tabr
            general_slowmode: 5
        """)
    cycle(gaib)
    chans = {c["name"]: c for c in live(guild)[1]}
    assert chans["general"]["rate_limit_per_user"] == 5
    assert "Sietch Tabr" in chans["welcome"]["topic"]


def test_roles_as_the_original_writes_them(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _write(gaib, """\
        version: "1.0"
        roles:
          - name: Naib
            color: "#C8A04A"
            hoist: true
            mentionable: true
            permissions: [KICK_MEMBERS, BAN_MEMBERS, MANAGE_MESSAGES]
            position: 3
          - name: Fremen
            color: "#abc"
            permissions: []
          - name: Pilgrim
        """)
    cycle(gaib)
    roles = {r["name"]: r for r in live(guild)[0]}
    assert roles["Naib"]["color"] == 0xC8A04A and roles["Naib"]["hoist"] and roles["Naib"]["mentionable"]
    assert roles["Fremen"]["color"] == 0xAABBCC and roles["Pilgrim"]["color"] == 0
    assert int(roles["Naib"]["permissions"]) == (1 << 1) | (1 << 2) | (1 << 13)


def test_categories_and_every_channel_field(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _write(gaib, """\
        version: "1.0"
        roles:
          - name: Fremen
        categories:
          - name: The Gathering
            position: 0
            permissions:
              "@everyone": {deny: [SEND_MESSAGES]}
              Fremen: {allow: [SEND_MESSAGES, VIEW_CHANNEL]}
          - name: Stage
            position: 1
        channels:
          - name: rules
            type: text
            category: The Gathering
            topic: Read me first
            nsfw: false
            slowmode: 30
            position: 0
          - name: announcements
            type: announcement
            category: The Gathering
          - name: council
            type: voice
            category: Stage
            bitrate: 64000
            userLimit: 12
          - name: town-hall
            type: stage
            category: Stage
          - name: ideas
            type: forum
            nsfw: true
            permissions:
              Fremen: {deny: [SEND_MESSAGES]}
        """)
    cycle(gaib)
    chans = {c["name"]: c for c in live(guild)[1]}
    assert chans["council"]["user_limit"] == 12 and chans["council"]["bitrate"] == 64000
    assert chans["rules"]["rate_limit_per_user"] == 30 and chans["rules"]["topic"] == "Read me first"
    assert chans["ideas"]["nsfw"] is True and chans["town-hall"]["type"] == 13
    # export writes the one documented spelling, userLimit, which both tools read
    exported = ok(gaib("server", "export")).stdout
    assert "userLimit: 12" in exported and "user_limit" not in exported


def test_references_match_case_insensitively(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _write(gaib, """\
        version: "1.0"
        roles:
          - name: Moderator
        categories:
          - name: General
            permissions:
              moderator: {allow: [MANAGE_MESSAGES]}
        channels:
          - name: chat
            category: general
            permissions:
              MODERATOR: {allow: [SEND_MESSAGES]}
        """)
    cycle(gaib)
    roles, chans = live(guild)
    mod = next(r["id"] for r in roles if r["name"] == "Moderator")
    cats = [c for c in chans if c["type"] == 4]
    chat = next(c for c in chans if c["name"] == "chat")
    assert len(cats) == 1 and chat["parent_id"] == cats[0]["id"]  # one category, not a second one
    assert {o["id"] for o in chat["permission_overwrites"]} == {mod}


def test_unknown_keys_warn_with_a_suggestion_and_the_rest_applies(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _write(gaib, """\
        version: "1.0"
        metadata: {owner: ops}
        roles:
          - name: Fremen
            colour: "#ff0000"
        channels:
          - name: chat
            slowmod: 5
        """)
    r = ok(gaib("server", "plan", "--json"))
    assert "unknown key 'colour' ignored; did you mean 'color'?" in r.stderr
    assert "unknown key 'slowmod' ignored; did you mean 'slowmode'?" in r.stderr
    assert "unknown key 'metadata' ignored" in r.stderr
    assert r.data["summary"]["create"] == 2
    cycle(gaib)


def test_unset_variables_stay_literal_and_export_escapes_them(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _write(gaib, """\
        version: "1.0"
        channels:
          - name: market
            topic: "Water costs ${PRICE} a litre"
        """)
    r = ok(gaib("server", "plan", "--json"))
    assert "environment variable PRICE is not set; kept as literal text" in r.stderr
    cycle(gaib)
    assert next(c for c in live(guild)[1] if c["name"] == "market")["topic"] == "Water costs ${PRICE} a litre"
    ok(gaib("server", "export", "-o", "exported.yaml"))
    text = (gaib.cwd / "exported.yaml").read_text(encoding="utf-8")
    assert "$${PRICE}" in text
    assert yaml.safe_load(text)["channels"][0]["topic"] == "Water costs $${PRICE} a litre"
    r = ok(gaib("server", "plan", "-f", "exported.yaml", "--json"))
    assert r.data["empty"] is True and "PRICE" not in r.stderr
    # with the variable set, Gaib interpolates it (what Gaib does better)
    r = ok(gaib("server", "plan", "--json", env={"PRICE": "5 spice"}))
    assert [f["new"] for c in r.data["changes"] for f in c["changes"]] == ["Water costs 5 spice a litre"]
