"""The raid benchmark (issue 22, item 8): snapshot create and restore of a community with 10,000 members
holding roles, a forum with tags and 50 posts, AutoMod rules, onboarding and scheduled events.

The emulator enforces Discord's limits (``--rate-limits discord``) with 150 ms of latency on every request
(as :mod:`bench.apply`); gaib runs as a subprocess on the local store. The members are seeded through the
emulator's control route (``POST /_emulator/members``, 1,000 a batch); the forum, its posts, the rules,
events and onboarding through the API, a 429 moving the emulator's clock instead of the seeder sleeping,
so setting up spends none of the windows the restore needs. ``GAIB_BENCH_RAID_MEMBERS`` sets the member
count (default 10,000).

Figures, all from one run:

* ``snapshot create``: wall time, Discord requests (the member pages among them), bytes stored;
* the raid: the role most members hold deleted, the forum (and so its posts) deleted, an AutoMod rule and
  an event deleted, the onboarding reset;
* ``restore --dry-run``: the request estimate and the time Discord's limits impose;
* ``restore --apply``: requests / lower bound and wall time; the member restore's wall time (from the
  emulator's log: first to last member edit) against the global-limit floor (members to edit / 50 per
  second).

The lower bound is what the restore cannot do without: one look at the raided server (the requests of the
dry run, which reads what the restore compares: structure, community, members, safety parts; and the thread
listings, which the dry run skips for a deleted forum: as many as snapshot create made, less the deleted
forum's), and the writes: the role re-created and put back in its place (create + one position
request), the forum re-created, one ``POST /channels/{forum}/threads`` per post (it carries the first
message), the AutoMod rule, the event, the onboarding ``PUT``, and one member edit per member who held the
role (the edit carries the whole role list).
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tests.support.discord.control import advance_clock, control, set_latency
from tests.support.emulator import EmulatorHandle, running_emulator

from bench.common import Report, run_gaib

LATENCY_MS = 150
MEMBERS = int(os.environ.get("GAIB_BENCH_RAID_MEMBERS", "10000"))
POSTS = 50
HALLS = 6
GLOBAL_PER_SECOND = 50  # Discord's global limit (gaib.emulator.ratelimit)
MEMBER_ROUTE = "/guilds/{guild_id}/members/{user_id}"
FIRST_USER = 700_000_000_000_000_000


def _config() -> str:
    lines = ['version: "1.0"', "server:", "  name: Raided", "roles:",
             "  - name: Admin", "    permissions: [ADMINISTRATOR]", "    hoist: true",
             "  - name: Moderator", "    permissions: [KICK_MEMBERS, BAN_MEMBERS]",
             "  - name: Member", "    permissions: [VIEW_CHANNEL, SEND_MESSAGES]"]
    lines += [f"  - name: Level {n}" for n in range(1, 5)]
    lines += ["categories:", "  - name: Info", "  - name: Voice", "channels:",
              "  - name: rules", "    category: Info", "    topic: Read me",
              "  - name: chat", "    category: Info", "  - name: lounge", "    type: voice", "    category: Voice"]
    lines += [f"  - name: hall-{n}" for n in range(HALLS)]
    return "\n".join(lines) + "\n"


def _gaib(project: Path, emu: EmulatorHandle, *args: str) -> tuple[float, Any]:
    return run_gaib(project, emu, *args, timeout=3600)  # a restore of 10,000 members takes minutes


def _call(emu: EmulatorHandle, method: str, path: str, body: Any = None) -> Any:
    """One API request as a bot (the seeder or the raider) makes it; a 429 moves the emulator's clock."""
    while True:
        r = httpx.request(method, f"{emu.base_url}{path}", headers=emu.auth_headers(), json=body, timeout=30)
        if r.status_code != 429:
            r.raise_for_status()
            return r.json() if r.content else None
        advance_clock(emu, float(r.json().get("retry_after", 1.0)))


def _later(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def _seed(emu: EmulatorHandle) -> dict[str, Any]:
    """The community around the applied config; returns the ids the raid needs."""
    g = f"/guilds/{emu.guild_id}"
    roles = {r["name"]: r["id"] for r in _call(emu, "GET", f"{g}/roles")}
    channels = {c["name"]: c["id"] for c in _call(emu, "GET", f"{g}/channels")}
    member, levels = roles["Member"], [roles[f"Level {n}"] for n in range(1, 5)]
    holders = 0
    for start in range(0, MEMBERS, 1000):
        batch = []
        for i in range(start, min(start + 1000, MEMBERS)):
            held = [levels[i % 4]] + ([roles["Moderator"]] if i % 100 == 0 else [])
            if i % 10 != 0:  # nine in ten hold Member: the role the raid deletes
                held.append(member)
                holders += 1
            batch.append({"id": str(FIRST_USER + i), "username": f"user{i}", "roles": held,
                          **({"nick": f"Nick {i}"} if i % 7 == 0 else {})})
        control(emu, "POST", "/members", {"members": batch})
    control(emu, "POST", "/guild", {"premium_tier": 1})
    control(emu, "POST", "/guild", {"features": ["COMMUNITY"]})
    _call(emu, "PATCH", g, {"rules_channel_id": channels["rules"], "public_updates_channel_id": channels["chat"]})
    forum = _call(emu, "POST", f"{g}/channels", {
        "name": "help", "type": 15, "parent_id": channels["Info"], "topic": "Ask here",
        "available_tags": [{"name": "bug", "emoji_name": "🐛"}, {"name": "idea"}, {"name": "answered",
                                                                                 "moderated": True}],
        "default_reaction_emoji": {"emoji_name": "👍"}, "default_sort_order": 1, "default_forum_layout": 2})
    tags = [t["id"] for t in forum["available_tags"]]
    for n in range(POSTS):
        _call(emu, "POST", f"/channels/{forum['id']}/threads", {
            "name": f"Question {n:02d}", "applied_tags": [tags[n % 3]],
            "message": {"content": f"Question {n}: " + "how do I do this? " * (1 + n % 4)}})
    rules = [_call(emu, "POST", f"{g}/auto-moderation/rules", body)["id"] for body in (
        {"name": "No links", "event_type": 1, "trigger_type": 1, "enabled": True, "exempt_roles": [member],
         "exempt_channels": [channels["chat"]], "trigger_metadata": {"keyword_filter": ["http*", "discord.gg"]},
         "actions": [{"type": 1, "metadata": {"custom_message": "No links here"}}]},
        {"name": "Mentions", "event_type": 1, "trigger_type": 5, "enabled": True,
         "trigger_metadata": {"mention_total_limit": 5}, "actions": [{"type": 1}]},
        {"name": "Presets", "event_type": 1, "trigger_type": 4, "enabled": True,
         "trigger_metadata": {"presets": [1, 2]}, "actions": [{"type": 1}]})]
    events = [_call(emu, "POST", f"{g}/scheduled-events", {
        "name": f"Meetup {n}", "privacy_level": 2, "entity_type": 3, "entity_metadata": {"location": f"Hall {n}"},
        "scheduled_start_time": _later(10 + n), "scheduled_end_time": _later(10.1 + n)})["id"] for n in range(5)]
    halls = [channels[f"hall-{n}"] for n in range(HALLS)]
    _call(emu, "PUT", f"{g}/onboarding", {
        "enabled": True, "mode": 0, "default_channel_ids": [channels["chat"], *halls],
        "prompts": [{"id": "1", "title": "What brings you here?", "single_select": True, "options": [
            {"title": "Games", "role_ids": [member], "channel_ids": [channels["chat"]], "emoji_name": "🎮"},
            {"title": "Level up", "role_ids": [levels[0]], "channel_ids": [halls[0]], "emoji_name": "⭐"}]}]})
    return {"member": member, "forum": forum["id"], "rule": rules[0], "event": events[0], "holders": holders}


def _raid(emu: EmulatorHandle, ids: dict[str, Any]) -> None:
    g = f"/guilds/{emu.guild_id}"
    _call(emu, "DELETE", f"{g}/roles/{ids['member']}")
    _call(emu, "DELETE", f"/channels/{ids['forum']}")
    _call(emu, "DELETE", f"{g}/auto-moderation/rules/{ids['rule']}")
    _call(emu, "DELETE", f"{g}/scheduled-events/{ids['event']}")
    _call(emu, "PUT", f"{g}/onboarding", {"enabled": False, "prompts": [], "default_channel_ids": []})


def _routes(requests: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in requests:
        key = f"{r['method']} {r['route']}"
        out[key] = out.get(key, 0) + 1
    return out


def _api(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["route"] != "/cdn"]


def _kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def run() -> Report:
    with tempfile.TemporaryDirectory(prefix="gaib-bench-") as tmp, \
            running_emulator(args=("--rate-limits", "discord", "--latency-ms", str(LATENCY_MS))) as emu:
        set_latency(emu, LATENCY_MS)
        project = Path(tmp)
        (project / "discord-server.yaml").write_text(_config())
        _gaib(project, emu, "server", "apply", "--auto-approve")
        _gaib(project, emu, "server", "tier", "set", "premium", "--yes")  # the restore's own snapshot too
        ids = _seed(emu)
        seen = len(emu.requests())
        t_create, snap = _gaib(project, emu, "server", "snapshot", "create", "-m", "before the raid")
        create_requests = _api(emu.requests()[seen:])
        _raid(emu, ids)
        seen = len(emu.requests())
        t_dry, dry = _gaib(project, emu, "server", "snapshot", "restore", snap["id"], "--dry-run")
        look = _api(emu.requests()[seen:])
        seen = len(emu.requests())
        started = time.perf_counter()
        _t, restored = _gaib(project, emu, "server", "snapshot", "restore", snap["id"], "--apply", "--yes")
        t_restore = time.perf_counter() - started
        requests = emu.requests()[seen:]
        _t, after = _gaib(project, emu, "server", "snapshot", "restore", snap["id"], "--dry-run")
        g = f"/guilds/{emu.guild_id}"
        live_roles = {r["name"]: r["id"] for r in _call(emu, "GET", f"{g}/roles")}
        sample = _call(emu, "GET", f"{g}/members/{FIRST_USER + 1}")
        forum = next(c for c in _call(emu, "GET", f"{g}/channels") if c["name"] == "help")
        posts = [t for t in _call(emu, "GET", f"{g}/threads/active")["threads"] if t["parent_id"] == forum["id"]]

    holders = ids["holders"]
    counts = snap["counts"]
    create_routes = _routes(create_requests)
    pages = create_routes.get("GET /guilds/{guild_id}/members", 0)
    api_requests = _api(requests)
    edits = [r for r in api_requests if r["route"] == MEMBER_ROUTE and r["method"] == "PATCH"]
    refused = sum(1 for r in api_requests if r["status"] == 429)
    member_seconds = (edits[-1]["time"] - edits[0]["time"]) if len(edits) > 1 else 0.0
    floor = holders / GLOBAL_PER_SECOND
    writes = 2 + 1 + POSTS + 1 + 1 + 1 + holders
    # The dry run plans the posts of a deleted forum without listing threads; the restore must list them
    # (the active ones, and the archived ones of each channel that holds threads, the deleted forum no more).
    thread_reads = (create_routes.get("GET /guilds/{guild_id}/threads/active", 0)
                    + create_routes.get("GET /channels/{channel_id}/threads/archived/public", 0) - 1)
    lower = len(look) + thread_reads + writes
    extras = dry["plan"]["extras"]
    members_plan = dry["plan"]["members"]
    result = restored["result"]
    ok_back = (live_roles["Member"] in sample["roles"] and len(forum["available_tags"]) == 3
               and len(posts) == POSTS and result["members"]["changed"] == holders and not result["members"]["failed"]
               and after["plan"]["members"]["change"] == 0)

    report = Report(f"raid on a community of {MEMBERS:,} members ({LATENCY_MS} ms per request, Discord's limits, "
                    "local store, process start-up included)",
                    ["step", "wall time", "requests", "detail", "ratio"])
    rows = report.rows
    firsts = create_routes.get("GET /channels/{channel_id}/messages", 0)
    rows.append(["snapshot create", f"{t_create:.1f} s",
                 f"{len(create_requests)} API ({pages} member pages, {firsts} message reads: post first messages)",
                 f"{_kib(snap['stored_size'])} stored / {_kib(snap['plain_size'])} plain; {counts.get('members')} "
                 f"members, {counts.get('threads')} threads, {counts.get('automod_rules')} rules, "
                 f"{counts.get('events')} events", ""])
    rows.append(["raid", "", "5 requests", f"role held by {holders:,} members, forum + {POSTS} posts, 1 AutoMod "
                 "rule, 1 event, onboarding reset", ""])
    # The plan gives the members' requests and time floor in their own part, apart from the other parts'.
    estimate = extras["requests"]["total"] + sum(members_plan["requests"].values())
    rows.append(["restore --dry-run", f"{t_dry:.1f} s",
                 f"estimate {extras['requests']['total']} + {sum(members_plan['requests'].values()):,} members",
                 f"members to edit {members_plan['change']:,}; limits impose >= {extras['time_floor_seconds']:.0f} s "
                 f"+ members {members_plan['time_floor_seconds']:.0f} s",
                 f"estimate / actual = {estimate / max(1, len(api_requests)):.2f}"])
    rows.append(["restore --apply", f"{t_restore:.1f} s", f"{len(api_requests)} API / lower bound {lower}",
                 f"{result['members']['changed']:,} members given the role back, "
                 f"{len(result['extras']['threads']['created'])} posts, 429s: {refused}; all back: "
                 f"{'yes' if ok_back else 'NO'}",
                 f"{len(api_requests) / lower:.3f}"])
    rows.append(["  member restore", f"{member_seconds:.1f} s", f"{len(edits):,} PATCH",
                 f"global-limit floor {holders:,} / {GLOBAL_PER_SECOND} per s = {floor:.0f} s",
                 f"{member_seconds / floor:.2f} x floor" if floor else ""])
    report.notes.append(f"lower bound = one look at the raided server ({len(look)} requests: what the dry run "
                        f"reads, + {thread_reads} thread listings: the active threads and the archived ones per "
                        f"channel, as snapshot create lists them, less the deleted forum's) "
                        f"+ {writes:,} writes (role create + position, forum create, {POSTS} post "
                        f"creates carrying their first message, AutoMod rule, event, onboarding PUT, "
                        f"{holders:,} member edits)")
    report.notes.append("restore by route: " + ", ".join(
        f"{k} {v}" for k, v in sorted(_routes(api_requests).items(), key=lambda kv: -kv[1])[:12]))
    report.notes.append(f"members: GAIB_BENCH_RAID_MEMBERS={MEMBERS}; member restore time from the emulator's log "
                        "(first to last member edit)")
    return report
