"""snapshot compare and restore dry runs show permission changes per role and per permission by Discord's
names (text and JSON), never raw bit sets cut into look-alikes."""

from __future__ import annotations

from typing import Any

from tests.support.cli import CliRunner
from tests.support.raid_config import CONFIG
from tests.support.tiers import on_tier

# Member gains ATTACH_FILES as a role; on Info, @everyone's SEND_MESSAGES moves from deny to allow and
# Member's overwrite gains ATTACH_FILES.
CHANGED = (CONFIG.replace("permissions: [VIEW_CHANNEL, SEND_MESSAGES]",
                          "permissions: [VIEW_CHANNEL, SEND_MESSAGES, ATTACH_FILES]")
           .replace('"@everyone": {deny: [SEND_MESSAGES]}', '"@everyone": {allow: [SEND_MESSAGES]}')
           .replace("Member: {allow: [VIEW_CHANNEL]}", "Member: {allow: [VIEW_CHANNEL, ATTACH_FILES]}"))


def _snapshot(snap: CliRunner, config: str) -> str:
    (snap.cwd / "discord-server.yaml").write_text(config)
    applied = snap("server", "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    made = snap("server", "snapshot", "create", "--json")
    assert made.exit_code == 0, made.stdout
    return str(made.data["id"])


def _perms(items: list[dict[str, Any]]) -> list[tuple[str, str, str, str, str]]:
    return [(p["field"], p["target"], p["permission"], p["before"], p["after"]) for p in items]


def test_compare_and_restore_dry_run_show_permissions_by_name(snap: CliRunner) -> None:
    on_tier(snap, "premium")  # two on-demand snapshots in one day
    first = _snapshot(snap, CONFIG)
    second = _snapshot(snap, CHANGED)

    text = snap("server", "snapshot", "compare", first, second).stdout
    assert ("  ~ role Member\n"
            "      permissions:\n"
            "        + ATTACH_FILES\n") in text, text
    assert ("  ~ category Info\n"
            "      overwrites:\n"
            "        @everyone:\n"
            "          ~ SEND_MESSAGES: deny -> allow\n"
            "        Member:\n"
            "          + ATTACH_FILES (allow)\n") in text, text
    assert "..." not in text
    diff = snap("server", "snapshot", "compare", first, second, "--json").data
    assert _perms(diff["roles"]["changed"][0]["permissions"]) == [
        ("permissions", "Member", "ATTACH_FILES", "none", "allow")]
    assert _perms(diff["categories"]["changed"][0]["permissions"]) == [
        ("permission_overwrites", "@everyone", "SEND_MESSAGES", "deny", "allow"),
        ("permission_overwrites", "Member", "ATTACH_FILES", "none", "allow")]

    # Restoring the first snapshot undoes exactly that: Discord's side and the state's, both by name.
    dry = snap("server", "snapshot", "restore", first, "--dry-run")
    assert dry.exit_code == 0, dry.stdout
    assert ("    ~ discord_role.member\n"
            "        permissions:\n"
            "          - ATTACH_FILES\n") in dry.stdout, dry.stdout
    assert ("    ~ discord_category.info\n"
            "        permission_overwrites:\n"
            "          @everyone:\n"
            "            ~ SEND_MESSAGES: allow -> deny\n"
            "          Member:\n"
            "            - ATTACH_FILES (allow)\n") in dry.stdout, dry.stdout
    state_part = dry.stdout.split("State (serial")[1]
    assert ("  ~ discord_role.member\n"
            "      permissions:\n"
            "        - ATTACH_FILES\n") in state_part, state_part
    assert ("  ~ discord_category.info\n"
            "      permission_overwrites:\n"
            "        @everyone:\n"
            "          ~ SEND_MESSAGES: allow -> deny\n"
            "        Member:\n"
            "          - ATTACH_FILES (allow)\n") in state_part, state_part
    plan = snap("server", "snapshot", "restore", first, "--dry-run", "--json").data["plan"]
    by_address = {c["address"]: c for c in plan["discord"]["changes"]}
    assert _perms(by_address["discord_category.info"]["permissions"]) == [
        ("permission_overwrites", "@everyone", "SEND_MESSAGES", "allow", "deny"),
        ("permission_overwrites", "Member", "ATTACH_FILES", "allow", "none")]
    state_changes = {c["address"]: c for c in plan["state"]["diff"]["changed"]}
    assert _perms(state_changes["discord_role.member"]["permissions"]) == [
        ("permissions", "Member", "ATTACH_FILES", "allow", "none")]
