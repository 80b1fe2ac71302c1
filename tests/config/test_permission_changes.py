"""Permission changes by Discord's names: roles, overwrites of roles and members, unknown bits."""

from __future__ import annotations

from gaib.config.permissions import (
    PERMISSIONS,
    overwrite_changes,
    permission_label,
    permission_lines,
    role_permission_changes,
)

VIEW, SEND, ATTACH = PERMISSIONS["VIEW_CHANNEL"], PERMISSIONS["SEND_MESSAGES"], PERMISSIONS["ATTACH_FILES"]


def test_role_permissions_are_named_and_unknown_bits_numbered() -> None:
    changes = role_permission_changes("Naib", VIEW | SEND, VIEW | ATTACH | (1 << 47) | (1 << 60))
    assert [(c.permission, c.before, c.after) for c in changes] == [
        ("SEND_MESSAGES", "allow", "none"), ("ATTACH_FILES", "none", "allow"), ("BIT_47", "none", "allow"),
        ("BIT_60", "none", "allow")]
    assert permission_lines(changes) == ["- SEND_MESSAGES", "+ ATTACH_FILES", "+ BIT_47", "+ BIT_60"]
    assert permission_label(15) == "ATTACH_FILES" and role_permission_changes("Naib", 8, 8) == []


def test_overwrites_per_role_and_member() -> None:
    old = {("role", "Naib"): (VIEW | SEND, ATTACH), ("member", "80351110224678912"): (0, SEND),
           ("role", "@everyone"): (0, VIEW)}
    new = {("role", "Naib"): (VIEW | ATTACH, 0), ("role", "Fedaykin"): (VIEW, 0),
           ("role", "@everyone"): (0, VIEW), ("member", "80351110224678912"): (SEND, SEND)}
    changes = overwrite_changes(old, new)
    assert [(c.target_type, c.target, c.permission, c.before, c.after) for c in changes] == [
        ("role", "Fedaykin", "VIEW_CHANNEL", "none", "allow"),
        ("role", "Naib", "SEND_MESSAGES", "allow", "none"),
        ("role", "Naib", "ATTACH_FILES", "deny", "allow"),
        ("member", "80351110224678912", "SEND_MESSAGES", "deny", "allow+deny")]
    assert permission_lines(changes) == [
        "Fedaykin:", "  + VIEW_CHANNEL (allow)",
        "Naib:", "  - SEND_MESSAGES (allow)", "  ~ ATTACH_FILES: deny -> allow",
        "member 80351110224678912:", "  ~ SEND_MESSAGES: deny -> allow+deny"]
    assert changes[0].to_dict() == {"field": "permission_overwrites", "target": "Fedaykin", "target_type": "role",
                                    "permission": "VIEW_CHANNEL", "before": "none", "after": "allow"}
