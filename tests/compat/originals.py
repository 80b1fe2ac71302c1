"""Writing files the way the original TypeScript Gaib writes them, and the cycle every one must pass.

Nothing here uses Gaib to produce the original's files: the state is built from the live (emulated)
guild by hand, in the original's shape (display-name resources, colours as hex, permissions as
lists, channel types as words, ``parent_name``), as /work/shared/compat.md describes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from gaib.config.permissions import permission_names
from tests.support.cli import CliRunner, Result
from tests.support.emulator import EmulatorHandle

CHANNEL_WORDS = {0: "text", 2: "voice", 5: "announcement", 13: "stage", 15: "forum"}


def live(guild: EmulatorHandle) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The emulated guild's roles and channels, as Discord's API returns them."""
    base = f"{guild.base_url}/guilds/{guild.guild_id}"
    roles = httpx.get(f"{base}/roles", headers=guild.auth_headers()).json()
    chans = httpx.get(f"{base}/channels", headers=guild.auth_headers()).json()
    return roles, chans


def original_state(guild: EmulatorHandle, *, serial: int = 3, lineage: str = "mkkwjaig-f82hi8dm",
                   workspace: str = "default", only: set[str] | None = None) -> dict[str, Any]:
    """The state document the original Gaib would have written for the live guild (every role but
    @everyone, every category and channel; or only the ids in ``only``)."""
    roles, chans = live(guild)
    cats = {c["id"]: c["name"] for c in chans if c["type"] == 4}
    resources: list[dict[str, Any]] = []

    def add(rtype: str, name: str, attrs: dict[str, Any]) -> None:
        if only is None or attrs["id"] in only:
            resources.append({"type": rtype, "name": name, "provider": "discord",
                              "instances": [{"schema_version": 1, "attributes": attrs}]})

    for r in roles:
        if r["id"] == guild.guild_id:
            continue
        names, _ = permission_names(int(r["permissions"]))
        add("discord_role", r["name"], {"id": r["id"], "name": r["name"], "color": f"#{r['color']:06X}",
                                        "hoist": r["hoist"], "mentionable": r["mentionable"], "permissions": names})
    for c in chans:
        if c["type"] == 4:
            add("discord_category", c["name"], {"id": c["id"], "name": c["name"], "position": c["position"]})
    for c in chans:
        if c["type"] == 4:
            continue
        attrs: dict[str, Any] = {"id": c["id"], "name": c["name"], "type": CHANNEL_WORDS[c["type"]],
                                 "parent_name": cats.get(c.get("parent_id") or ""), "topic": c.get("topic"),
                                 "nsfw": bool(c.get("nsfw")), "slowmode": c.get("rate_limit_per_user") or 0,
                                 "position": c["position"]}
        if c["type"] in (2, 13):
            attrs.update({"bitrate": c.get("bitrate"), "userLimit": c.get("user_limit")})
        if attrs["topic"] is None:
            del attrs["topic"]
        add("discord_channel", c["name"], attrs)
    return {"version": 1, "serial": serial, "lineage": lineage, "workspace": workspace, "outputs": {},
            "lastModified": "2025-11-02T10:20:30.123Z", "resources": resources}


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def seed_live(gaib: CliRunner, config_args: tuple[str, ...] = ()) -> None:
    """Create the config's objects in the emulated guild without leaving Gaib's state behind (as if
    the original had applied it): an apply into a scratch state folder that is then removed."""
    import shutil

    ok(gaib("server", "apply", "--auto-approve", "--state-path", ".scratch", *config_args))
    shutil.rmtree(gaib.cwd / ".scratch")


def write_state(path: Path, doc: dict[str, Any]) -> None:
    """Write a state the way the original does (``JSON.stringify(state, null, 2)``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")


def cycle(gaib: CliRunner, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """load -> plan -> apply -> clean plan -> backup -> change the state -> restore -> clean plan.

    ``args`` go to every command (``-f FILE``, ``-w WS``); returns the first plan's data. Asserts at
    each step what a person would check: the apply converges, the restore brings back what was
    backed up (same lineage, serial moved forward) and the plan is clean again.
    """
    first = ok(gaib("server", "plan", *args, "--json", env=env)).data
    ok(gaib("server", "apply", "--auto-approve", *args, "--json", env=env))
    clean = ok(gaib("server", "plan", *args, "--json", env=env)).data
    assert clean["empty"] is True, clean
    before = ok(gaib("server", "state", "ls", *args, "--json", env=env)).data
    backup = ok(gaib("server", "backup", "create", "-m", "compat", *args, "--json", env=env)).data
    if before["resources"]:
        gone = before["resources"][0]["address"]
        ok(gaib("server", "state", "rm", gone, "--yes", *args, "--json", env=env))
    restored = ok(gaib("server", "backup", "restore", backup["id"], "--yes", *args, "--json", env=env)).data
    after = ok(gaib("server", "state", "ls", *args, "--json", env=env)).data
    assert [(r["address"], r["id"]) for r in after["resources"]] == \
        [(r["address"], r["id"]) for r in before["resources"]]
    assert after["lineage"] == before["lineage"] and after["serial"] > before["serial"]
    assert restored["result"]["new_serial"] == after["serial"]
    assert ok(gaib("server", "plan", *args, "--json", env=env)).data["empty"] is True
    return dict(first)
