"""Snapshots of the sietch theme and of a maximum-size guild: create, download, compare, restore --apply;
and of a community (emojis, bans, messages: :mod:`bench.snapshot_community`).

The emulator runs with Discord-like rate limits (``--rate-limits discord``); gaib runs as a subprocess
(``python -m gaib``) in a temporary project on the local store, so every figure includes process start-up.
Requests are counted from the emulator's request log.

Targets (issue 9, 16): ``snapshot create`` makes exactly the 2 reads of the guild and the 4 of its community
(settings, emojis, stickers, bans) for a server without images (plus the storage writes);
``restore --apply`` after deleting k objects makes k creates plus at most one position request per kind
(reported as requests / lower bound, where the lower bound is k creates + the 6 reads of the plan + the 6
reads under the lock + the 6 reads of the pre-restore snapshot).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from tests.support.discord.control import advance_clock
from tests.support.emulator import EmulatorHandle, running_emulator

from bench.common import Report
from bench.common import run_gaib as _gaib
from bench.snapshot_community import community_scenario
from gaib.iac.limitcache import FILE_NAME

READS = 2  # the guild object (with its roles) and the channels, sent together
COMMUNITY_READS = 4  # settings, emojis, stickers, the first page of bans (a server without images)




def _max_config() -> str:
    """250 roles (the top 249 plus @everyone is Discord's limit of 250), 10 categories x 49 channels + 10
    voice channels = 500 channels, overwrites on every category and on every 5th channel."""
    lines = ['version: "1.0"', "roles:"]
    lines += [f"  - name: role-{i:03d}\n    color: \"#{(i * 997) % 0xFFFFFF:06x}\"" for i in range(249)]
    lines.append("categories:")
    for c in range(10):
        lines.append(f"  - name: Category {c}\n    permissions:\n      role-{c:03d}: {{allow: [VIEW_CHANNEL]}}")
    lines.append("channels:")
    for c in range(10):
        for n in range(48):
            extra = f"\n    permissions:\n      role-{n:03d}: {{allow: [SEND_MESSAGES]}}" if n % 5 == 0 else ""
            lines.append(f"  - name: c{c}-chat-{n:02d}\n    category: Category {c}{extra}")
        lines.append(f"  - name: c{c}-voice\n    type: voice\n    category: Category {c}")
    return "\n".join(lines) + "\n"


def _writes(requests: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in requests:
        key = f"{r['method']} {r['route']}"
        out[key] = out.get(key, 0) + 1
    return out


def _raid(emu: EmulatorHandle, k_roles: int, k_channels: int) -> int:
    """Delete k roles and k channels (the least-positioned managed ones) behind Gaib's back."""
    headers = emu.auth_headers()
    roles = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/roles", headers=headers).json()
    chans = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/channels", headers=headers).json()
    victims_r = [r for r in roles if r["id"] != emu.guild_id][:k_roles]
    victims_c = [c for c in chans if c["type"] != 4][:k_channels]
    urls = [f"{emu.base_url}/guilds/{emu.guild_id}/roles/{r['id']}" for r in victims_r]
    urls += [f"{emu.base_url}/channels/{c['id']}" for c in victims_c]
    for url in urls:
        while True:  # a raider is rate limited too
            r = httpx.delete(url, headers=headers)
            if r.status_code != 429:
                r.raise_for_status()
                break
            time.sleep(float(r.json().get("retry_after", 1.0)))
    return len(urls)


def _scenario(label: str, config: str, k_roles: int, k_channels: int, report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="gaib-bench-") as tmp, \
            running_emulator(args=("--rate-limits", "discord")) as emu:
        project = Path(tmp)
        (project / "discord-server.yaml").write_text(config)
        _gaib(project, emu, "server", "apply", "--auto-approve")
        _gaib(project, emu, "server", "tier", "set", "premium", "--yes")  # two on-demand snapshots today
        seen = len(emu.requests())
        t_create, snap = _gaib(project, emu, "server", "snapshot", "create", "-m", "bench")
        create_requests = emu.requests()[seen:]
        sid = snap["id"]
        t_download, _ = _gaib(project, emu, "server", "snapshot", "download", sid, "-o", "copy")
        _, second = _gaib(project, emu, "server", "snapshot", "create")
        t_compare, _ = _gaib(project, emu, "server", "snapshot", "compare", sid, second["id"])
        k = _raid(emu, k_roles, k_channels)
        # The restore comes two days later: the max guild's creation used Discord's 250 role creates
        # per 48 h and 500 channel creates per 24 h. The emulator's clock moves; gaib's does not, so its
        # limits cache (still counting those creates) goes, as on the machine of an operator restoring.
        advance_clock(emu, 48 * 3600 + 60)
        (project / ".gaib" / FILE_NAME).unlink(missing_ok=True)
        seen = len(emu.requests())
        t_restore, restored = _gaib(project, emu, "server", "snapshot", "restore", sid, "--apply", "--yes")
        requests = emu.requests()[seen:]
        _, plan = _gaib(project, emu, "server", "plan")
    writes = {route: n for route, n in _writes(requests).items() if not route.startswith("GET")}
    creates = sum(n for route, n in writes.items() if route.startswith("POST"))
    positions = sum(n for route, n in writes.items() if route.startswith("PATCH /guilds"))
    stats = restored["result"]["apply"]
    # Every change the restore had to make: a create per deleted object, an update per survivor that
    # differs (e.g. overwrites that named a deleted role), one request per kind reordered, and the reads.
    lower = len(stats["created"]) + len(stats["updated"]) + len(stats["reordered"]) + 3 * (READS + COMMUNITY_READS)
    rows = report.rows
    reads = sum(1 for r in create_requests if r["method"] == "GET")
    repeated = {route: n for route, n in _writes(create_requests).items() if n > 1}
    rows.append([label, "snapshot create", f"{t_create:.2f} s",
                 f"{len(create_requests)} Discord requests ({reads} reads)"
                 + (f" repeated: {repeated}" if repeated else ""),
                 f"{snap['stored_size'] / 1024:.1f} KiB stored / {snap['plain_size'] / 1024:.1f} KiB plain",
                 "yes" if len(create_requests) == READS + COMMUNITY_READS else "NO"])
    rows.append([label, "snapshot download", f"{t_download:.2f} s", "0 Discord requests", "9 files + manifest", ""])
    rows.append([label, "snapshot compare", f"{t_compare:.2f} s", "0 Discord requests", "", ""])
    rows.append([label, f"restore --apply (k={k})", f"{t_restore:.2f} s",
                 f"{len(requests)} requests / lower bound {lower} = {len(requests) / lower:.2f}",
                 f"{creates} creates, {positions} position requests, "
                 f"{sum(writes.values()) - creates - positions} updates of survivors",
                 "yes" if creates == k and positions <= 2 and plan["empty"] else "NO"])


def run() -> Report:
    report = Report("snapshots (emulator with Discord rate limits, local store, process start-up included)",
                    ["guild", "step", "wall time", "requests", "detail", "target met"])
    _scenario("sietch", 'version: "1.0"\ntheme:\n  name: sietch\n', 2, 5, report)
    _scenario("max (249 roles, 10 cat, 490 ch)", _max_config(), 20, 40, report)
    report.notes.append("restore lower bound = creates + updates of objects that differ + one request per kind "
                        "reordered + 3 looks at the server (plan, pre-restore snapshot, plan under the lock) of "
                        "2 structure and 4 community reads each")
    report.notes.append("target: create = only the live server's reads: 2 structure (the issue's 3: guild, roles, "
                        "channels; the guild read carries its roles) + 4 community reads (no images); restore = k "
                        "creates + <= 1 position request per kind, and plan is empty afterwards")
    community_scenario(report, _gaib)
    return report
