"""init, import and state pull through the CLI against the emulated guild."""

from __future__ import annotations

import textwrap

import httpx

from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle

CONFIG = textwrap.dedent("""
    version: "1.0"
    roles:
      - name: Elders
        color: "#336699"
    categories:
      - name: Hall
    channels:
      - name: notices
        category: Hall
""")


def _post(emu: EmulatorHandle, path: str, body: dict[str, object]) -> dict[str, object]:
    r = httpx.post(f"{emu.base_url}/guilds/{emu.guild_id}/{path}", json=body, headers=emu.auth_headers())
    r.raise_for_status()
    result: dict[str, object] = r.json()
    return result


def test_init_writes_a_config_and_refuses_to_overwrite(gaib: CliRunner) -> None:
    r = gaib("server", "init", "--theme", "basic", "--json")
    assert r.exit_code == 0, r.stdout
    text = (gaib.cwd / "discord-server.yaml").read_text()
    assert "name: basic" in text
    assert gaib("server", "plan", "--json").data["summary"]["create"] > 0
    again = gaib("server", "init", "--json")
    assert again.exit_code == 6 and again.error["code"] == "ALREADY_EXISTS"
    assert (gaib.cwd / "discord-server.yaml").read_text() == text
    unknown = gaib("server", "init", "--theme", "nope", "--force", "--json")
    assert unknown.exit_code == 2
    assert (gaib.cwd / "discord-server.yaml").read_text() == text


def test_import_attaches_a_live_object_and_plan_then_keeps_it(gaib: CliRunner, guild: EmulatorHandle) -> None:
    role = _post(guild, "roles", {"name": "Elders", "color": 0x336699, "permissions": "0"})
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    r = gaib("server", "import", "discord_role.elders", str(role["id"]), "--json")
    assert r.exit_code == 0, r.stdout
    assert r.data["serial"] == 1
    shown = gaib("server", "state", "show", "discord_role.elders", "--json").data
    assert shown["instances"][0]["attributes"]["id"] == role["id"]
    plan = gaib("server", "plan", "--json").data
    assert "discord_role.elders" not in {c["address"] for c in plan["changes"]}
    # importing it again, or another object under a taken address, is refused with nothing written
    dup = gaib("server", "import", "discord_role.elders_again", str(role["id"]), "--json")
    assert dup.exit_code == 6 and dup.error["code"] == "ALREADY_EXISTS"
    missing = gaib("server", "import", "discord_role.ghost", "1234567890123", "--json")
    assert missing.exit_code == 6 and missing.error["code"] == "DISCORD_OBJECT_NOT_FOUND"
    bad = gaib("server", "import", "discord_role.x", "../1", "--json")
    assert bad.exit_code == 6 and bad.error["code"] == "INVALID_NAME"
    assert gaib("server", "state", "ls", "--json").data["serial"] == 1


def test_state_pull_refreshes_and_forgets_what_was_deleted_by_hand(gaib: CliRunner, guild: EmulatorHandle) -> None:
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    state = gaib("server", "state", "ls", "--json").data
    ids = {r["address"]: r["id"] for r in state["resources"]}
    httpx.delete(f"{guild.base_url}/channels/{ids['discord_channel.notices']}", headers=guild.auth_headers())
    httpx.patch(f"{guild.base_url}/guilds/{guild.guild_id}/roles/{ids['discord_role.elders']}",
                json={"name": "Elders of the Sietch"}, headers=guild.auth_headers())
    r = gaib("server", "state", "pull", "--json")
    assert r.exit_code == 0, r.stdout
    assert r.data["forgotten"] == ["discord_channel.notices"]
    assert r.data["serial"] == state["serial"] + 1
    after = gaib("server", "state", "show", "discord_role.elders", "--json").data
    assert after["instances"][0]["attributes"]["name"] == "Elders of the Sietch"
    # nothing changed since: a second pull writes nothing
    assert gaib("server", "state", "pull", "--json").data["serial"] == state["serial"] + 1
    # and the plan puts the server back as configured
    plan = gaib("server", "plan", "--json").data
    assert {(c["action"], c["address"]) for c in plan["changes"]} == {
        ("create", "discord_channel.notices"), ("update", "discord_role.elders")}


def test_without_a_token_plan_is_a_configuration_error(cli: CliRunner) -> None:
    (cli.cwd / "discord-server.yaml").write_text(CONFIG)
    r = cli("server", "plan", "--json", env={"DISCORD_GUILD_ID": "1100000000000000001"})
    assert r.exit_code == 2 and r.error["code"] == "SETTING_MISSING"


def test_a_wrong_token_is_exit_4_and_never_shown(gaib: CliRunner) -> None:
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    secret = "wrong-token-abcdef123456"
    r = gaib("server", "plan", "--json", env={"DISCORD_BOT_TOKEN": secret})
    assert r.exit_code == 4 and r.error["code"] == "DISCORD_INVALID_TOKEN"
    assert secret not in r.stdout + r.stderr


def test_init_writes_yaml_that_round_trips_any_server_name(gaib: CliRunner) -> None:
    from gaib.themes.effective import load_config

    names = ['Bob "the" place', "key: value # not a comment", "it's ${HOME} and $${x}", "Ünïcødé 🌵 Sietch",
             "- [list] {map} & *anchor !tag", "  spaced  "]
    for name in names:
        r = gaib("server", "init", "--name", name, "--theme", "basic", "--force", "--json")
        assert r.exit_code == 0, r.stdout
        loaded = load_config(gaib.cwd / "discord-server.yaml", environ={"HOME": "/home/x"}, project_dir=gaib.cwd)
        assert loaded.source.server is not None and loaded.source.server.name == name, name
        assert loaded.source.theme is not None and loaded.source.theme.name == "basic"
