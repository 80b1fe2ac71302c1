"""compat.md, "State and workspaces": the original's state files work in every command, as they are."""

from __future__ import annotations

import json
import textwrap

from tests.compat.originals import cycle, live, ok, original_state, seed_live, write_state
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle

# A config as the original's users write it: display names with spaces and emoji, lower-case channels.
CONFIG = textwrap.dedent("""\
    version: "1"
    roles:
      - name: Naib 🌙
        color: "#C8A04A"
        hoist: true
        permissions: [KICK_MEMBERS, MANAGE_MESSAGES]
      - name: Fremen
        color: "#5865F2"
        permissions: [VIEW_CHANNEL, SEND_MESSAGES]
    categories:
      - name: The Gathering
        permissions:
          "@everyone": {deny: [SEND_MESSAGES]}
          Naib 🌙: {allow: [SEND_MESSAGES]}
    channels:
      - name: welcome
        category: The Gathering
        topic: Say hi
      - name: sietch-voice
        type: voice
        category: The Gathering
        bitrate: 64000
        userLimit: 10
      - name: off-topic
        slowmode: 5
""")
STATE = ".gaib/workspaces/default/terraform.tfstate"


def _seeded(gaib: CliRunner, guild: EmulatorHandle) -> dict[str, object]:
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG, encoding="utf-8")
    seed_live(gaib)
    doc = original_state(guild)
    naib = next(r for r in doc["resources"] if r["name"] == "Naib 🌙")  # type: ignore[index]
    naib["instances"][0]["attributes"]["icon"] = None  # a key Gaib does not know
    doc["future"] = {"kept": True}
    write_state(gaib.cwd / STATE, doc)
    return doc


def test_an_original_state_plans_clean_and_survives_apply_backup_and_restore(gaib: CliRunner,
                                                                             guild: EmulatorHandle) -> None:
    doc = _seeded(gaib, guild)
    first = cycle(gaib)
    assert first["empty"] is True, first  # the original's state and objects are recognised as they are
    written = json.loads((gaib.cwd / STATE).read_text(encoding="utf-8"))
    assert written["lineage"] == doc["lineage"] and written["serial"] > 3
    assert written["future"] == {"kept": True}  # unknown top-level keys kept
    naib = next(r for r in written["resources"] if r["name"] == "Naib 🌙")
    # still the original's form, so the original keeps reading it
    assert naib["provider"] == "discord" and naib["instances"][0]["schema_version"] == 1
    attrs = naib["instances"][0]["attributes"]
    assert attrs["color"] == "#C8A04A" and attrs["permissions"] == ["KICK_MEMBERS", "MANAGE_MESSAGES"]
    assert "icon" in attrs  # unknown attribute keys kept
    voice = next(r for r in written["resources"] if r["name"] == "sietch-voice")["instances"][0]["attributes"]
    assert (voice["type"], voice["parent_name"], voice["userLimit"]) == ("voice", "The Gathering", 10)


def test_every_state_command_takes_display_name_addresses(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _seeded(gaib, guild)
    listed = ok(gaib("server", "state", "ls")).stdout.splitlines()
    assert "'discord_category.The Gathering'" in listed and "'discord_role.Naib 🌙'" in listed
    shown = ok(gaib("server", "state", "show", "discord_category.The Gathering", "--json")).data
    assert shown["instances"][0]["attributes"]["name"] == "The Gathering"
    assert "position" in shown["instances"][0]["attributes"] and "type" not in shown["instances"][0]["attributes"]
    # case-insensitive and quoted spellings name the same resource
    assert ok(gaib("server", "state", "show", "'discord_category.the gathering'", "--json")).data["name"] == \
        "The Gathering"
    diff = ok(gaib("server", "diff", "--json")).data
    assert diff["empty"] is True
    ok(gaib("server", "state", "mv", "discord_channel.off-topic", "discord_channel.Off Topic 🏜"))
    assert ok(gaib("server", "plan", "--json")).data["empty"] is True  # same object, found by its new address
    off_id = next(c["id"] for c in live(guild)[1] if c["name"] == "off-topic")
    ok(gaib("server", "state", "rm", "-y", "discord_channel.Off Topic 🏜"))
    plan = ok(gaib("server", "plan", "--json")).data
    assert [(c["action"], c["id"]) for c in plan["changes"]] == [("adopt", off_id)]
    ok(gaib("server", "import", "discord_channel.off-topic", off_id))
    assert ok(gaib("server", "plan", "--json")).data["empty"] is True
    # destroy one resource, then the rest
    r = ok(gaib("server", "destroy", "-t", "discord_channel.sietch-voice", "--yes", "--json"))
    assert r.data["result"]["deleted"] == ["discord_channel.sietch-voice"]
    assert "sietch-voice" not in {c["name"] for c in live(guild)[1]}
    r = ok(gaib("server", "destroy", "--yes", "--json"))
    assert len(r.data["result"]["deleted"]) == 5
    roles, chans = live(guild)
    assert [x["name"] for x in roles] == ["@everyone"] and chans == []
    written = json.loads((gaib.cwd / STATE).read_text(encoding="utf-8"))
    assert written["resources"] == [] and written["lineage"] == "mkkwjaig-f82hi8dm"


def test_new_objects_get_display_name_addresses_in_an_original_state(gaib: CliRunner, guild: EmulatorHandle) -> None:
    _seeded(gaib, guild)
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG + "  - name: water-rites\n    category: the gathering\n",
                                                  encoding="utf-8")
    plan = ok(gaib("server", "plan", "--json")).data
    assert [(c["action"], c["address"]) for c in plan["changes"] if c["action"] != "update"] == \
        [("create", "discord_channel.water-rites")]
    ok(gaib("server", "apply", "--auto-approve"))
    written = json.loads((gaib.cwd / STATE).read_text(encoding="utf-8"))
    new = next(r for r in written["resources"] if r["name"] == "water-rites")
    assert new["provider"] == "discord"
    assert new["instances"][0]["attributes"]["type"] == "text"
    assert new["instances"][0]["attributes"]["parent_name"] == "The Gathering"
    assert ok(gaib("server", "plan", "--json")).data["empty"] is True


def test_current_workspace_file_is_read_and_written(gaib: CliRunner, guild: EmulatorHandle) -> None:
    """`.gaib/.current-workspace` names the workspace (the original's file, no newline); Gaib reads
    it and writes it back when switching, so both tools agree."""
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG, encoding="utf-8")
    seed_live(gaib)
    del gaib.environ["DISCORD_GUILD_ID"]
    gaib.environ["GAIB_WORKSPACE"] = ""
    write_state(gaib.cwd / ".gaib" / "workspaces" / "staging" / "terraform.tfstate",
                original_state(guild, workspace="staging"))
    current = gaib.cwd / ".gaib" / ".current-workspace"
    current.write_text("staging", encoding="utf-8")
    shown = ok(gaib("server", "workspace", "show", "--json", "-g", guild.guild_id)).data
    assert shown["name"] == "staging" and shown["source"].endswith(".current-workspace")
    assert shown["resources"] == 6
    cycle(gaib, "-g", guild.guild_id)
    assert (gaib.cwd / ".gaib" / "workspaces" / "default").exists() is False  # all of it ran in staging
    ok(gaib("server", "workspace", "use", "default"))
    assert current.read_text(encoding="utf-8") == "default"
    ok(gaib("server", "ws", "select", "staging"))  # the original's alias and command name
    assert current.read_text(encoding="utf-8") == "staging"
    assert ok(gaib("server", "ws", "show", "default", "--json")).data["current"] is False


MARKER = "[managed-by:arrakis-iac]"


def test_the_originals_topic_marker_is_no_change_and_is_kept(gaib: CliRunner, guild: EmulatorHandle) -> None:
    """The original appends its marker to the topics of channels it creates (and reads a channel
    without it as unmanaged): such topics plan clean, keep the marker on update, and channels Gaib
    creates in the original's state get it too."""
    import httpx

    _seeded(gaib, guild)
    for chan in live(guild)[1]:
        if chan["type"] == 0:
            topic = f"{chan['topic']} {MARKER}" if chan.get("topic") else MARKER
            httpx.patch(f"{guild.base_url}/channels/{chan['id']}", json={"topic": topic},
                        headers=guild.auth_headers()).raise_for_status()
    assert ok(gaib("server", "plan", "--json")).data["empty"] is True
    (gaib.cwd / "discord-server.yaml").write_text(
        CONFIG.replace("    slowmode: 5", "    slowmode: 9") + "  - name: spice-market\n", encoding="utf-8")
    ok(gaib("server", "apply", "--auto-approve"))
    topics = {c["name"]: c.get("topic") for c in live(guild)[1]}
    assert topics["off-topic"] == MARKER and topics["welcome"] == f"Say hi {MARKER}"
    assert topics["spice-market"] == MARKER
    assert ok(gaib("server", "plan", "--json")).data["empty"] is True
