"""compat.md, "Commands and flags the original has": aliases, flags and teardown, through the CLI."""

from __future__ import annotations

import textwrap

import httpx
import yaml

from tests.compat.originals import live, ok
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle
from tests.support.tiers import on_tier

CONFIG = textwrap.dedent("""\
    version: "1"
    roles:
      - name: Fremen
      - name: Naib
    categories:
      - name: Sietch
        permissions:
          Fremen: {allow: [VIEW_CHANNEL]}
    channels:
      - name: chat
        category: Sietch
      - name: lounge
        type: voice
        userLimit: 5
""")


def _applied(gaib: CliRunner) -> None:
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG, encoding="utf-8")
    ok(gaib("server", "apply", "--auto-approve", "--managed-only"))


def test_aliases_of_the_original(gaib: CliRunner, guild: EmulatorHandle) -> None:
    on_tier(gaib, "premium")  # several on-demand backups today
    _applied(gaib)
    assert ok(gaib("server", "st", "list", "--json")).data["serial"] >= 1
    assert ok(gaib("server", "ws", "list", "--json")).data["current"] == "default"
    assert [t["name"] for t in ok(gaib("server", "th", "ls", "--json")).data["themes"]] == ["basic", "sietch"]
    assert ok(gaib("server", "lock-status", "--json")).data["locked"] is False
    ok(gaib("server", "backup", "create"))
    ok(gaib("server", "backup", "create"))
    listed = ok(gaib("server", "backup", "ls", "-l", "1", "--json")).data
    assert len(listed["backups"]) == 1 and listed["next_cursor"]
    ok(gaib("server", "backup", "rm", listed["backups"][0]["id"], "--yes"))
    assert len(ok(gaib("server", "backup", "list", "--json")).data["backups"]) == 1
    shown = ok(gaib("server", "--help")).stdout
    assert "workspace, ws" in shown and "state, st" in shown and "theme, th" in shown


def test_plan_diff_flags(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _applied(gaib)
    (gaib.cwd / "discord-server.yaml").write_text(
        CONFIG.replace("Fremen: {allow: [VIEW_CHANNEL]}", "Fremen: {allow: [VIEW_CHANNEL, SEND_MESSAGES]}")
        .replace("userLimit: 5", "userLimit: 6"), encoding="utf-8")
    full = ok(gaib("server", "diff", "--managed-only", "--json")).data
    assert {c["address"] for c in full["changes"]} == {"discord_category.sietch", "discord_channel.lounge"}
    quiet = ok(gaib("server", "diff", "--no-permissions", "--json")).data
    assert [c["address"] for c in quiet["changes"]] == ["discord_channel.lounge"]
    assert ok(gaib("server", "plan", "--managed-only", "--json")).data["summary"]["update"] == 2


def test_destroy_target_by_address_and_by_kind(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _applied(gaib)
    r = ok(gaib("server", "destroy", "-t", "discord_channel.chat", "--yes", "--json"))
    assert r.data["result"]["deleted"] == ["discord_channel.chat"]
    r = ok(gaib("server", "destroy", "--target", "role", "--yes", "--json"))
    assert sorted(r.data["result"]["deleted"]) == ["discord_role.fremen", "discord_role.naib"]
    assert [x["name"] for x in live(guild)[0]] == ["@everyone"]
    assert sorted(c["name"] for c in live(guild)[1]) == ["Sietch", "lounge"]
    r = gaib("server", "destroy", "-t", "discord_channel.nowhere", "--yes", "--json")
    assert r.exit_code == 6 and r.error["code"] == "ADDRESS_NOT_FOUND"


def test_export_flags_and_json(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _applied(gaib)
    httpx.post(f"{guild.base_url}/guilds/{guild.guild_id}/roles", json={"name": "Hand Made"},
               headers=guild.auth_headers())
    doc = ok(gaib("server", "export", "--json")).data  # the config itself
    assert doc["version"] == "1.0" and "Hand Made" in [r["name"] for r in doc["roles"]]
    assert doc["channels"][0] == {"name": "lounge", "type": "voice", "bitrate": 64000, "userLimit": 5}
    everything = ok(gaib("server", "export", "--include-unmanaged")).stdout
    assert "Hand Made" in everything
    managed = yaml.safe_load(ok(gaib("server", "export", "--managed-only")).stdout)
    assert sorted(r["name"] for r in managed["roles"]) == ["Fremen", "Naib"]  # not the hand-made one


def test_init_workspace_and_state_flags(gaib: CliRunner, guild: EmulatorHandle) -> None:
    ok(gaib("server", "init", "-t", "basic"))
    assert yaml.safe_load((gaib.cwd / "discord-server.yaml").read_text())["theme"] == {"name": "basic"}
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG, encoding="utf-8")
    ok(gaib("server", "workspace", "new", "staging"))
    ok(gaib("server", "apply", "--auto-approve"))
    ok(gaib("server", "workspace", "use", "default"))
    shown = ok(gaib("server", "workspace", "show", "staging", "--json")).data
    assert (shown["name"], shown["current"], shown["resources"]) == ("staging", False, 5)
    r = gaib("server", "workspace", "rm", "staging", "--yes", "--json")
    assert r.exit_code == 6 and r.error["code"] == "WORKSPACE_NOT_EMPTY"
    ok(gaib("server", "workspace", "rm", "staging", "-f", "--yes"))  # -f is --force here, as in the original
    assert ok(gaib("server", "workspace", "ls", "--json")).data["workspaces"][0]["name"] == "default"
    ok(gaib("server", "apply", "--auto-approve"))
    r = gaib("server", "state", "rm", "discord_role.naib", tty=True, input="n\n")
    assert r.exit_code == 6  # asked on a terminal, and refused
    ok(gaib("server", "state", "rm", "-y", "discord_role.naib", tty=True))
    assert "discord_role.naib" not in ok(gaib("server", "state", "ls")).stdout


def test_teardown_removes_every_object_and_says_so(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _applied(gaib)
    hand = httpx.post(f"{guild.base_url}/guilds/{guild.guild_id}/channels", json={"name": "hand-made"},
                      headers=guild.auth_headers()).json()
    r = ok(gaib("server", "teardown", "--dry-run", "--json"))
    assert r.data["plan"]["summary"] == {"channels": 3, "categories": 1, "roles": 2, "total": 6}
    assert len(live(guild)[1]) == 4  # a dry run deletes nothing
    r = gaib("server", "teardown", "--json")
    assert r.exit_code == 6 and "--confirm-teardown" in r.error["message"]
    r = gaib("server", "teardown", "--confirm-teardown", "--json")
    assert r.exit_code == 6  # no terminal, no --yes
    r = gaib("server", "teardown", "--confirm-teardown", tty=True, input="Wrong Name\n")
    assert r.exit_code == 6 and len(live(guild)[1]) == 4
    r = ok(gaib("server", "teardown", "--confirm-teardown", tty=True, input="Test Guild\n"))
    assert "Teardown complete: 6 deleted, 5 forgotten" in r.stdout
    roles, chans = live(guild)
    assert [x["name"] for x in roles] == ["@everyone"] and chans == []
    assert hand["id"] not in {c["id"] for c in chans}
    assert ok(gaib("server", "state", "ls", "--json")).data["resources"] == []
    backups = ok(gaib("server", "backup", "list", "--json")).data["backups"]
    assert backups[0]["message"] == "before teardown" and backups[0]["resources"] == 5
    # the state backup restores what Gaib managed; apply then re-creates it
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG, encoding="utf-8")
    assert ok(gaib("server", "plan", "--json")).data["summary"]["create"] == 5
