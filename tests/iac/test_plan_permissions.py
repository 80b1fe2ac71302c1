"""plan shows permission changes per role and per permission by Discord's names, never cut into look-alikes."""

from __future__ import annotations

import textwrap

from tests.support.cli import CliRunner

BEFORE = textwrap.dedent("""
    version: "1.0"
    roles:
      - name: Naib
        permissions: [VIEW_CHANNEL, SEND_MESSAGES, READ_MESSAGE_HISTORY]
      - name: Fedaykin
    categories:
      - name: The Gathering
        permissions:
          "@everyone": {deny: [VIEW_CHANNEL]}
          Naib: {allow: [VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, READ_MESSAGE_HISTORY], deny: [ATTACH_FILES]}
          Fedaykin: {allow: [VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, READ_MESSAGE_HISTORY]}
    channels:
      - name: council
        category: The Gathering
        topic: TOPIC
""")
LONG_TOPIC = "The council meets at dusk in the great hall; " * 8


def _config(after: bool) -> str:
    if not after:
        return BEFORE.replace("TOPIC", LONG_TOPIC + "bring water")
    return (BEFORE.replace("Naib: {allow: [VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, READ_MESSAGE_HISTORY], "
                           "deny: [ATTACH_FILES]}",
                           "Naib: {allow: [VIEW_CHANNEL, EMBED_LINKS, READ_MESSAGE_HISTORY, ATTACH_FILES]}")
            .replace("Fedaykin: {allow: [VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, READ_MESSAGE_HISTORY]}",
                     "Fedaykin: {allow: [VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, READ_MESSAGE_HISTORY], "
                     "deny: [MENTION_EVERYONE]}")
            .replace("permissions: [VIEW_CHANNEL, SEND_MESSAGES, READ_MESSAGE_HISTORY]",
                     "permissions: [VIEW_CHANNEL, READ_MESSAGE_HISTORY, ATTACH_FILES, 140737488355328]")
            .replace("TOPIC", LONG_TOPIC + "bring spice"))


def test_plan_shows_each_permission_that_changes_by_name(gaib: CliRunner) -> None:
    (gaib.cwd / "discord-server.yaml").write_text(_config(after=False))
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    (gaib.cwd / "discord-server.yaml").write_text(_config(after=True))

    text = gaib("server", "plan").stdout
    assert ("  ~ discord_role.naib\n"
            "      permissions:\n"
            "        - SEND_MESSAGES\n"
            "        + ATTACH_FILES\n"
            "        + BIT_47\n") in text, text
    assert ("  ~ discord_category.the_gathering\n"
            "      permission_overwrites:\n"
            "        Fedaykin:\n"
            "          + MENTION_EVERYONE (deny)\n"
            "        Naib:\n"
            "          - SEND_MESSAGES (allow)\n"
            "          ~ ATTACH_FILES: deny -> allow\n") in text, text
    assert "..." not in text and "'allow': '" not in text  # no raw bit sets, nothing cut
    # A long value wraps: every character of both topics is there, on lines of at most 100 columns.
    assert all(len(line) <= 100 for line in text.splitlines())
    lines = text.splitlines()
    start = lines.index("      topic:")
    block = [ln for ln in lines[start + 1:] if ln.startswith("        ")]
    labels = [ln[8:13] for ln in block if ln[8:13].strip()]
    assert labels == ["old: ", "new: "]
    joined = "".join(ln[13:] for ln in block)
    assert joined == repr(LONG_TOPIC + "bring water") + repr(LONG_TOPIC + "bring spice")

    plan = gaib("server", "plan", "--json").data
    changes = {c["address"]: c for c in plan["changes"]}
    assert changes["discord_role.naib"]["permissions"] == [
        {"field": "permissions", "target": "Naib", "target_type": "role", "permission": p, "before": b, "after": a}
        for p, b, a in (("SEND_MESSAGES", "allow", "none"), ("ATTACH_FILES", "none", "allow"),
                        ("BIT_47", "none", "allow"))]
    assert [(p["target"], p["permission"], p["before"], p["after"])
            for p in changes["discord_category.the_gathering"]["permissions"]] == [
        ("Fedaykin", "MENTION_EVERYONE", "none", "deny"), ("Naib", "SEND_MESSAGES", "allow", "none"),
        ("Naib", "ATTACH_FILES", "deny", "allow")]
    assert changes["discord_channel.council"]["permissions"] == []
