"""The community benchmark of ``bench/run.py snapshot``: a server with 50 emojis, 1,000 bans and 20 channels
x 100 messages (issue 16).

The emulator enforces Discord's limits (``--rate-limits discord``); gaib runs as a subprocess on the local
store. The server's emojis, bans and history are seeded through the emulator's control routes, so setting up
spends none of Discord's windows. Figures:

* ``snapshot create --messages 100``: wall time, Discord requests (API and CDN), stored size (the bundle's
  own parts, and the images in ``media/``);
* a second snapshot of the unchanged server: what it adds to storage (its own parts; images: nothing);
* the raid (10 emojis deleted, 500 bans lifted, the icon reset, 2 channels with 100 messages each deleted),
  then ``restore --dry-run --messages`` (its request estimate and the time the limits impose) and
  ``restore --apply --messages``: requests / lower bound and wall time. The lower bound is what the restore
  cannot do without: one look at the server (guild and channels, settings, emojis, stickers, bans pages),
  the writes (2 channel creates, 10 emoji creates, the settings, one bulk ban per 200 users) and, per
  channel replayed into, one history check, the webhook, one message per saved message and the delete.
"""

from __future__ import annotations

import base64
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from tests.support.discord.control import advance_clock, control
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.images import png

from bench.common import Report

CHANNELS = 20
MESSAGES = 100
EMOJIS = 50
BANS = 1000
RAID_EMOJIS = 10
RAID_UNBANS = 500
RAID_CHANNELS = 2


def _config() -> str:
    lines = ['version: "1.0"', "categories:", "  - name: Talk", "channels:"]
    lines += [f"  - name: room-{i:02d}\n    category: Talk" for i in range(CHANNELS)]
    return "\n".join(lines) + "\n"


def _seed(emu: EmulatorHandle) -> None:
    headers = emu.auth_headers()
    icon = png(4242, 96, noise=True)
    r = httpx.patch(f"{emu.base_url}/guilds/{emu.guild_id}", headers=headers,
                    json={"icon": "data:image/png;base64," + base64.b64encode(icon).decode()})
    r.raise_for_status()
    control(emu, "POST", "/emojis", [{"name": f"emoji_{i:02d}",
                                      "image": base64.b64encode(png(i, 48, noise=True)).decode()}
                                     for i in range(EMOJIS)])
    control(emu, "POST", "/bans", [{"user": {"id": str(700_000_000_000_000_000 + i), "username": f"raider{i}"},
                                    "reason": "spam"} for i in range(BANS)])
    channels = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/channels", headers=headers).json()
    for c in (c for c in channels if c["type"] == 0):
        control(emu, "POST", f"/channels/{c['id']}/messages", [
            {"author": {"id": str(800_000_000_000_000_000 + (i % 25)), "username": f"member{i % 25}",
                        "global_name": f"Member {i % 25}", "avatar": f"{i % 25:032x}"},
             "content": f"message {i} in {c['name']}: " + "lorem ipsum dolor sit amet " * (1 + i % 5)}
            for i in range(MESSAGES)])


def _call(emu: EmulatorHandle, method: str, path: str, body: Any = None) -> None:
    while True:  # a raider is rate limited too; the emulator's clock moves instead of the raider sleeping
        r = httpx.request(method, f"{emu.base_url}{path}", headers=emu.auth_headers(), json=body)
        if r.status_code != 429:
            r.raise_for_status()
            return
        advance_clock(emu, float(r.json().get("retry_after", 1.0)))


def _raid(emu: EmulatorHandle) -> None:
    g = emu.guild_id
    emojis = httpx.get(f"{emu.base_url}/guilds/{g}/emojis", headers=emu.auth_headers()).json()
    for e in emojis[:RAID_EMOJIS]:
        _call(emu, "DELETE", f"/guilds/{g}/emojis/{e['id']}")
    for i in range(RAID_UNBANS):
        _call(emu, "DELETE", f"/guilds/{g}/bans/{700_000_000_000_000_000 + i}", {})
    _call(emu, "PATCH", f"/guilds/{g}", {"icon": None})
    channels = httpx.get(f"{emu.base_url}/guilds/{g}/channels", headers=emu.auth_headers()).json()
    for c in [c for c in channels if c["type"] == 0][:RAID_CHANNELS]:
        _call(emu, "DELETE", f"/channels/{c['id']}")


def _count(requests: list[dict[str, Any]]) -> tuple[int, int]:
    cdn = sum(1 for r in requests if r["route"] == "/cdn")
    return len(requests) - cdn, cdn


def _kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def community_scenario(report: Report, gaib: Any) -> None:
    """Run the scenario and add its rows to ``report``; ``gaib(project, emu, *args)`` runs the CLI."""
    with tempfile.TemporaryDirectory(prefix="gaib-bench-") as tmp, \
            running_emulator(args=("--rate-limits", "discord")) as emu:
        project = Path(tmp)
        (project / "discord-server.yaml").write_text(_config())
        gaib(project, emu, "server", "apply", "--auto-approve")
        # Two on-demand snapshots in one day: the premium tier (the free tier allows one a day); the
        # 100 messages per channel are within what both tiers keep.
        gaib(project, emu, "server", "tier", "set", "premium", "--yes")
        _seed(emu)
        seen = len(emu.requests())
        t_create, first = gaib(project, emu, "server", "snapshot", "create", "--messages", str(MESSAGES))
        api, cdn = _count(emu.requests()[seen:])
        seen = len(emu.requests())
        t_second, second = gaib(project, emu, "server", "snapshot", "create", "--messages", str(MESSAGES))
        api2, cdn2 = _count(emu.requests()[seen:])
        _raid(emu)
        t_dry, dry = gaib(project, emu, "server", "snapshot", "restore", first["id"], "--dry-run", "--messages")
        seen = len(emu.requests())
        started = time.perf_counter()
        _t, restored = gaib(project, emu, "server", "snapshot", "restore", first["id"], "--apply", "--messages",
                            "--yes")
        t_restore = time.perf_counter() - started
        requests = emu.requests()[seen:]
    extras = dry["plan"]["extras"]
    counts = first["counts"]
    rows = report.rows
    label = f"{EMOJIS} emojis, {BANS} bans, {CHANNELS} ch x {MESSAGES} msgs"
    rows.append([label, "snapshot create --messages 100", f"{t_create:.2f} s",
                 f"{api} API + {cdn} CDN requests",
                 f"{_kib(first['stored_size'])} parts ({counts['messages']} messages) + {_kib(first['media_size'])} "
                 f"images", "yes" if counts["messages"] == CHANNELS * MESSAGES and counts["emojis"] == EMOJIS
                 else "NO"])
    rows.append([label, "second snapshot, unchanged", f"{t_second:.2f} s", f"{api2} API + {cdn2} CDN requests",
                 f"adds {_kib(second['stored_size'])} parts + {_kib(second['media_added'])} images",
                 "yes" if second["media_added"] == 0 else "NO"])
    replayed = RAID_CHANNELS * MESSAGES
    lower = (2 + 4 + BANS // 1000 + 1) + RAID_CHANNELS + RAID_EMOJIS + 1 \
        + -(-RAID_UNBANS // 200) + RAID_CHANNELS * 3 + replayed
    api_requests, cdn_requests = _count(requests)
    refused = sum(1 for r in requests if r["status"] == 429)
    result = restored["result"]["extras"]
    ok = (result["community"]["banned"] == RAID_UNBANS and len(result["community"]["created"]) == RAID_EMOJIS
          and result["messages"]["sent"] == replayed and refused == 0)
    rows.append([label, "restore --dry-run --messages", f"{t_dry:.2f} s",
                 f"estimate {extras['requests']['total']} requests",
                 f"limits impose >= {extras['time_floor_seconds']:.0f} s "
                 f"(messages {extras['time_floor_parts']['messages']:.0f} s)", ""])
    rows.append([label, f"restore --apply --messages (raid: {RAID_EMOJIS} emojis, {RAID_UNBANS} bans, icon, "
                        f"{RAID_CHANNELS} ch)", f"{t_restore:.1f} s",
                 f"{api_requests} API + {cdn_requests} CDN / lower bound {lower} = "
                 f"{(api_requests + cdn_requests) / lower:.2f}",
                 f"{result['messages']['sent']} messages replayed, {result['community']['banned']} bans, "
                 f"{len(result['community']['created'])} emojis, 429s: {refused}", "yes" if ok else "NO"])
    report.notes.append(f"community lower bound = one look at the server (2 + 4 + bans pages + icon) + "
                        f"{RAID_CHANNELS} channel creates + {RAID_EMOJIS} emoji creates + settings + bulk bans of "
                        f"200 + per replayed channel (history check, webhook create, webhook delete) + "
                        f"{replayed} webhook messages")
    report.notes.append("the replay's wall time is Discord's 30 webhook messages per minute per channel "
                        "(channels run side by side)")
