"""plan / apply / re-plan / export / destroy against the emulated guild, through the CLI."""

from __future__ import annotations

import textwrap

from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle

CONFIG = textwrap.dedent("""
    version: "1.0"
    server:
      name: Test
    roles:
      - name: Admin
        color: "#ff0000"
        permissions: [ADMINISTRATOR]
        hoist: true
      - name: Member
        permissions: [VIEW_CHANNEL, SEND_MESSAGES]
    categories:
      - name: Info
        permissions:
          "@everyone": {deny: [SEND_MESSAGES]}
      - name: Voice
    channels:
      - name: rules
        category: Info
        topic: Read me
      - name: chat
        category: Info
        slowmode: 5
        permissions:
          Member: {allow: [SEND_MESSAGES]}
      - name: lounge
        type: voice
        category: Voice
        user_limit: 10
""")


def _mutating(emu: EmulatorHandle) -> list[dict[str, object]]:
    return [r for r in emu.requests() if r["method"] != "GET"]


def test_apply_converges_and_reapply_only_reads(gaib: CliRunner, guild: EmulatorHandle) -> None:
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    plan = gaib("server", "plan", "--json")
    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert plan.data["summary"]["create"] == 7
    r = gaib("server", "apply", "--auto-approve", "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert len(r.data["result"]["created"]) == 7
    after = gaib("server", "plan", "--json")
    assert after.data["empty"] is True, after.data
    before = len(guild.requests())
    again = gaib("server", "apply", "--auto-approve", "--json")
    assert again.exit_code == 0
    new = guild.requests()[before:]
    assert new and all(req["method"] == "GET" for req in new)
    state = gaib("server", "state", "ls", "--json").data
    assert len(state["resources"]) == 7


def test_changes_update_in_place_keeping_ids(gaib: CliRunner, guild: EmulatorHandle) -> None:
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    ids = {r["address"]: r["id"] for r in gaib("server", "state", "ls", "--json").data["resources"]}
    changed = CONFIG.replace("topic: Read me", "topic: Read me twice").replace("slowmode: 5", "slowmode: 10")
    (gaib.cwd / "discord-server.yaml").write_text(changed)
    plan = gaib("server", "plan", "--json").data
    assert {c["address"] for c in plan["changes"]} == {"discord_channel.rules", "discord_channel.chat"}
    assert all(c["action"] == "update" for c in plan["changes"])
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    ids2 = {r["address"]: r["id"] for r in gaib("server", "state", "ls", "--json").data["resources"]}
    assert ids2 == ids
    assert gaib("server", "plan", "--json").data["empty"] is True


def test_removed_items_are_deleted_and_unmanaged_ones_untouched(gaib: CliRunner, guild: EmulatorHandle) -> None:
    import httpx

    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    # a role made by hand is neither in the config nor in the state
    hand = httpx.post(f"{guild.base_url}/guilds/{guild.guild_id}/roles", json={"name": "Hand made"},
                      headers=guild.auth_headers()).json()
    smaller = CONFIG.replace("  - name: Member\n    permissions: [VIEW_CHANNEL, SEND_MESSAGES]\n", "")
    smaller = smaller.replace("    permissions:\n      Member: {allow: [SEND_MESSAGES]}\n", "")
    assert "Member" not in smaller
    (gaib.cwd / "discord-server.yaml").write_text(smaller)
    r = gaib("server", "apply", "--auto-approve", "--json")
    assert r.exit_code == 0, r.stdout
    assert r.data["result"]["deleted"] == ["discord_role.member"]
    roles = httpx.get(f"{guild.base_url}/guilds/{guild.guild_id}/roles", headers=guild.auth_headers()).json()
    names = {x["name"] for x in roles}
    assert "Hand made" in names and "Member" not in names and hand["id"] in {x["id"] for x in roles}
    assert gaib("server", "plan", "--json").data["empty"] is True


def test_export_reapplies_with_zero_changes(gaib: CliRunner, guild: EmulatorHandle) -> None:
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    exported = gaib("server", "export", "-o", "exported.yaml")
    assert exported.exit_code == 0, exported.stderr
    r = gaib("server", "plan", "-f", "exported.yaml", "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert r.data["empty"] is True, r.data


def test_destroy_removes_everything_managed(gaib: CliRunner, guild: EmulatorHandle) -> None:
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    refused = gaib("server", "destroy", "--json")
    assert refused.exit_code == 6
    r = gaib("server", "destroy", "--yes", "--json")
    assert r.exit_code == 0, r.stdout
    assert len(r.data["result"]["deleted"]) == 7
    assert gaib("server", "state", "ls", "--json").data["resources"] == []


def test_adopts_live_objects_by_name_instead_of_duplicating(gaib: CliRunner, guild: EmulatorHandle) -> None:
    import httpx

    made = httpx.post(f"{guild.base_url}/guilds/{guild.guild_id}/roles", json={"name": "admin"},
                      headers=guild.auth_headers()).json()
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    plan = gaib("server", "plan", "--json").data
    adopt = [c for c in plan["changes"] if c["action"] == "adopt"]
    assert [(c["address"], c["id"]) for c in adopt] == [("discord_role.admin", made["id"])]
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    roles = httpx.get(f"{guild.base_url}/guilds/{guild.guild_id}/roles", headers=guild.auth_headers()).json()
    assert [x["name"] for x in roles].count("Admin") == 1
    assert gaib("server", "state", "show", "discord_role.admin", "--json").data["instances"][0]["attributes"]["id"] \
        == made["id"]


def test_text_channel_names_discord_rewrites_still_converge(gaib: CliRunner, guild: EmulatorHandle) -> None:
    import httpx

    config = textwrap.dedent("""
        version: "1.0"
        categories:
          - name: Town Square
        channels:
          - name: Welcome Chat
            category: Town Square
          - name: Big  News
            type: announcement
          - name: Voice Lounge
            type: voice
            category: Town Square
    """)
    (gaib.cwd / "discord-server.yaml").write_text(config)
    r = gaib("server", "apply", "--auto-approve", "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    live = httpx.get(f"{guild.base_url}/guilds/{guild.guild_id}/channels", headers=guild.auth_headers()).json()
    assert sorted(c["name"] for c in live) == ["Town Square", "Voice Lounge", "big-news", "welcome-chat"]
    assert gaib("server", "plan", "--json").data["empty"] is True
    # Any spelling Discord stores the same way is the same channel: no change, same id.
    (gaib.cwd / "discord-server.yaml").write_text(config.replace("Welcome Chat", "WELCOME   chat"))
    assert gaib("server", "plan", "--json").data["empty"] is True
    # Written the way Discord stores it, with a topic added: one update in place, same address.
    (gaib.cwd / "discord-server.yaml").write_text(config.replace("Welcome Chat", "welcome-chat").replace(
        "  - name: welcome-chat\n    category: Town Square", "  - name: welcome-chat\n    category: Town Square\n"
        "    topic: hello"))
    plan = gaib("server", "plan", "--json").data
    assert [(c["action"], c["address"], [f["field"] for f in c["changes"]]) for c in plan["changes"]] == \
        [("update", "discord_channel.welcome_chat", ["topic"])]
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    assert gaib("server", "plan", "--json").data["empty"] is True


def test_a_leftover_whose_delete_fails_stays_managed_until_it_is_deleted(gaib: CliRunner,
                                                                         guild: EmulatorHandle) -> None:
    both = 'version: "1.0"\nroles:\n  - name: Mod Team\n  - name: mod-team\n'
    (gaib.cwd / "discord-server.yaml").write_text(both)
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    ids = {r["name"]: r["id"] for r in gaib("server", "state", "ls", "--json").data["resources"]}
    # Removing "Mod Team" hands its address (discord_role.mod_team) to "mod-team"; make its delete fail.
    (gaib.cwd / "discord-server.yaml").write_text('version: "1.0"\nroles:\n  - name: mod-team\n')
    done = len(guild.requests())
    guild.set_faults(on_requests=range(done + 3, done + 12), kinds=["5xx"])  # after the 2 reads
    r = gaib("server", "apply", "--auto-approve", "--json")
    guild.set_faults(rate=0.0)
    assert r.exit_code == 8, r.stdout
    state = {res["address"]: res["id"] for res in gaib("server", "state", "ls", "--json").data["resources"]}
    assert state["discord_role.mod_team"] == ids["mod-team"]
    assert ids["Mod Team"] in state.values()  # still managed, under a parking address
    plan = gaib("server", "plan", "--json").data
    assert [(c["action"], c["id"]) for c in plan["changes"]] == [("delete", ids["Mod Team"])]
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    assert gaib("server", "plan", "--json").data["empty"] is True
    final = gaib("server", "state", "ls", "--json").data["resources"]
    assert [(res["address"], res["id"]) for res in final] == [("discord_role.mod_team", ids["mod-team"])]


def test_apply_after_every_object_vanished_recreates_them_and_converges(gaib: CliRunner,
                                                                         guild: EmulatorHandle) -> None:
    """A raid (here: the emulator's reset) deletes everything behind Gaib's back: apply re-creates each
    object once, the state holds only the new ids, and right after it plan is empty, text and JSON alike."""
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    old_ids = {r["id"] for r in gaib("server", "state", "ls", "--json").data["resources"]}
    guild.reset()
    again = gaib("server", "apply", "--auto-approve", "--json")
    assert again.exit_code == 0, again.stdout
    assert len(again.data["result"]["created"]) == 7
    state = gaib("server", "state", "ls", "--json").data["resources"]
    assert len(state) == 7 and not {r["id"] for r in state} & old_ids
    assert not [r["address"] for r in state if "__replaced_" in r["address"]]
    plan = gaib("server", "plan", "--json").data
    assert plan["empty"] is True and plan["summary"]["forget"] == 0, plan
    assert gaib("server", "plan").stdout.strip() == "No changes. The server matches the configuration."


def test_a_channel_is_created_as_soon_as_its_own_category_exists(gaib: CliRunner, guild: EmulatorHandle) -> None:
    """Channels wait for their own category only, not for every category (one request at a time shows
    the order the steps ran in): a level less to wait for at every apply that creates categories."""
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    r = gaib("server", "apply", "--auto-approve", "--json", env={"GAIB_DISCORD_CONCURRENCY": "1"})
    assert r.exit_code == 0, r.stdout + r.stderr
    created = [a for a in r.data["result"]["created"] if not a.startswith("discord_role.")]
    assert created == ["discord_category.info", "discord_channel.rules", "discord_channel.chat",
                       "discord_category.voice", "discord_channel.lounge"]
    assert gaib("server", "plan", "--json").data["empty"] is True
