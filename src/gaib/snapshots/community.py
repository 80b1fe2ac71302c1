"""The community side of ``snapshot restore``: reading what the live server has, planning, applying, and
counting what it costs (requests and the time Discord's limits impose).

:func:`load_for_restore` reads the snapshot's community parts, every image they need and (``messages``)
the saved messages, verifying each before anything is planned, so a damaged image or message part is
exit 3 before any Discord write. :func:`plan` predicts the work against the live server for
``--dry-run`` and the confirmation (re-created objects have no id yet); :func:`apply` runs it, under the
restore's lock, after the roles and channels are back: it maps the snapshot's role and channel ids to the
ids they have now (from the state the restore just wrote), re-reads the live community and applies only
what differs (:mod:`gaib.snapshots.community_plan`, :mod:`gaib.snapshots.community_apply`), then the
AutoMod rules, onboarding, welcome screen, events and sounds (:mod:`gaib.snapshots.safety`; exempt roles
and channels, option roles and channels, welcome and event channels under their ids now), then replays
messages into re-created channels (:mod:`gaib.snapshots.replay`). Before the community it puts back what
the config does not hold of roles and channels (:mod:`gaib.snapshots.channel_fields`), after the replay
the missing threads and forum posts (:mod:`gaib.snapshots.threads`). Which of these parts are restored is
the :class:`gaib.snapshots.selection.Selection` given (default: every part; ``messages`` with
``messages``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gaib.bundles.media import MediaStore, sha256_hex
from gaib.discord import limits as L
from gaib.discord.community import GUILD_IMAGES, emoji_path, guild_image_path, role_icon_path, sticker_path
from gaib.discord.models import Guild
from gaib.discord.port import DiscordPort
from gaib.iac.plan import Plan
from gaib.iac.progress import Reporter
from gaib.interrupt import Workers
from gaib.snapshots import channel_fields as fields
from gaib.snapshots import community_plan as cplan
from gaib.snapshots import selection as sel
from gaib.snapshots import threads as thread_parts
from gaib.snapshots.community_apply import CommunityResult, execute_community
from gaib.snapshots.community_plan import CommunityPlan, LiveCommunity, plan_community
from gaib.snapshots.parts import Extras, load_extras
from gaib.snapshots.replay import ReplayPlan, ReplayResult, execute_replay, plan_replay
from gaib.snapshots.replay_journal import ReplayJournal
from gaib.snapshots.safety import plan as safety_plan
from gaib.snapshots.safety.apply import SafetyResult
from gaib.snapshots.safety.apply import execute as execute_safety
from gaib.snapshots.safety.parts import SAFETY_PARTS
from gaib.snapshots.safety.plan import SafetyPlan
from gaib.snapshots.selection import Selection, narrow_community
from gaib.snapshots.store import SnapshotContent, SnapshotManager
from gaib.state.model import State

READ_ROUTES = ("GET /guilds/{guild_id}", "GET /guilds/{guild_id}/channels")
COMMUNITY_READS = ("GET /guilds/{guild_id}", "GET /guilds/{guild_id}/emojis", "GET /guilds/{guild_id}/stickers",
                   "GET /guilds/{guild_id}/bans")


def load_for_restore(manager: SnapshotManager, content: SnapshotContent, *, messages: bool) -> Extras:
    """The community parts, their images and (``messages``) saved messages, each verified (exit 3)."""
    m = content.record.manifest
    return load_extras(manager.repo, m, MediaStore(manager.repo.store, m.server_id), messages=messages, images=True)


def read_live(port: DiscordPort, extras: Extras, *, workers: int = 4, guild: Guild | None = None,
              selection: Selection | None = None) -> LiveCommunity:
    """The live settings, emojis, stickers and bans, plus the checksums of the live images the planner
    compares (an icon or banner whose hash is not the snapshot's; emojis and stickers that may be the
    snapshot's under another id; with ``guild``, role icons whose hash is not the snapshot's), with
    ``guild`` when the snapshot holds threads the live threads, and the live safety parts the snapshot
    holds and ``selection`` selects (None: all)."""
    with Workers(max_workers=max(1, workers), thread_name_prefix="gaib-read") as pool:

        f_settings, f_emojis = pool.submit(port.get_guild_settings), pool.submit(port.list_emojis)
        f_stickers, f_bans = pool.submit(port.list_stickers), pool.submit(port.list_bans)
        settings, emojis, stickers, bans = f_settings.result(), f_emojis.result(), f_stickers.result(), f_bans.result()
        wanted: dict[str, tuple[str, int]] = {}
        for key in GUILD_IMAGES:
            saved, live_hash = extras.guild.get(key), getattr(settings, key)
            if isinstance(saved, dict) and live_hash and live_hash != saved.get("hash"):
                wanted[key] = (guild_image_path(key, settings.id, live_hash), L.GUILD_IMAGE_MAX_BYTES)
        saved_emoji_ids = {str(e["id"]) for e in extras.emojis}
        missing_names = {str(e["name"]) for e in extras.emojis if str(e["id"]) not in {x.id for x in emojis}}
        for e in emojis:
            if e.id not in saved_emoji_ids and e.name in missing_names:
                wanted[f"emoji:{e.id}"] = (emoji_path(e), L.EMOJI_MAX_BYTES)
        saved_sticker_ids = {str(s["id"]) for s in extras.stickers}
        missing_stickers = {str(s["name"]) for s in extras.stickers if str(s["id"]) not in {x.id for x in stickers}}
        for s in stickers:
            if s.id not in saved_sticker_ids and s.name in missing_stickers:
                wanted[f"sticker:{s.id}"] = (sticker_path(s), L.STICKER_MAX_BYTES)
        saved_roles = extras.structure.get("roles") or {}
        for r in guild.roles if guild is not None else ():
            icon = (saved_roles.get(r.id) or {}).get("icon")
            if r.icon and isinstance(icon, dict) and icon.get("hash") != r.icon:
                wanted[f"role:{r.id}"] = (role_icon_path(r.id, r.icon), L.ROLE_ICON_MAX_BYTES)
        futures = {k: pool.submit(port.cdn_get, path, max_bytes=limit) for k, (path, limit) in wanted.items()}
        shas = {k: sha256_hex(f.result()) for k, f in futures.items()}
        threads = tuple(thread_parts.read_threads(port, guild, pool)) if guild is not None and extras.threads else ()
    live_safety = safety_plan.read_live(port, extras.safety, selection, features=settings.features,
                                        premium_tier=settings.premium_tier, workers=workers)
    return LiveCommunity(settings=settings, emojis=tuple(emojis), stickers=tuple(stickers), bans=tuple(bans),
                         image_sha=shas, threads=threads, safety=live_safety)


def channel_names(extra: Mapping[str, Any]) -> dict[str, str]:
    """Channel (and thread) id → name of the channels and threads a snapshot saved messages of (its
    manifest's ``extra``)."""
    out: dict[str, str] = {}
    for key in ("thread_messages", "messages"):
        index = extra.get(key)
        if isinstance(index, Mapping):
            out.update({str(k): str(v.get("name", k)) for k, v in index.items() if isinstance(v, Mapping)})
    return out


def id_map(objects: State, state: State) -> dict[str, str]:
    """Snapshot-time id → id now, for every object of the snapshot the state holds under another id."""
    out = {}
    for res in objects.resources:
        now = state.find(res.address)
        if res.id and now is not None and now.id and now.id != res.id:
            out[res.id] = now.id
    return out


def _add(tally: dict[str, int], more: Mapping[str, int]) -> None:
    for route, n in more.items():
        if n:
            tally[route] = tally.get(route, 0) + n


@dataclass(frozen=True)
class ExtrasPlan:
    """The community and replay halves of a restore plan, with what the whole restore costs."""

    community: CommunityPlan
    replay: ReplayPlan | None
    safety: SafetyPlan = field(default_factory=SafetyPlan)
    requests: Mapping[str, int] = field(default_factory=dict)
    time_floor: float = 0.0
    time_parts: Mapping[str, float] = field(default_factory=dict)
    structure: fields.StructurePlan | None = None
    threads: thread_parts.ThreadsPlan | None = None

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def has_work(self) -> bool:
        """Whether anything besides the roles and channels is to be sent."""
        return (not self.community.empty or not self.safety.empty or bool(self.replay and self.replay.channels)
                or bool(self.structure and self.structure.steps) or bool(self.threads and self.threads.has_work))

    def warnings(self) -> list[str]:
        return (list(self.community.warnings) + list(self.structure.warnings if self.structure else ())
                + list(self.threads.warnings if self.threads else ()) + list(self.safety.messages()))

    def to_dict(self) -> dict[str, Any]:
        return {"community": self.community.to_dict(), "safety": self.safety.to_dict(),
                "structure": self.structure.to_dict() if self.structure is not None else None,
                "threads": self.threads.to_dict() if self.threads is not None else None,
                "messages": self.replay.to_dict() if self.replay is not None else None,
                "requests": {"total": self.total_requests, "by_route": dict(sorted(self.requests.items()))},
                "time_floor_seconds": round(self.time_floor, 1),
                "time_floor_parts": {k: round(v, 1) for k, v in self.time_parts.items()}}


def _structure_requests(plan: Plan | None) -> dict[str, int]:
    tally: dict[str, int] = {}
    if plan is None:
        return tally
    for change in plan.changes:
        base = "/guilds/{guild_id}/roles" if change.kind == "role" else "/guilds/{guild_id}/channels"
        item = "/guilds/{guild_id}/roles/{role_id}" if change.kind == "role" else "/channels/{channel_id}"
        route = {"create": f"POST {base}", "update": f"PATCH {item}", "adopt": f"PATCH {item}",
                 "delete": f"DELETE {item}"}.get(change.action)
        if change.action == "replace":
            _add(tally, {f"DELETE {item}": 1, f"POST {base}": 1})
        elif route is not None and (change.action != "adopt" or change.fields):
            _add(tally, {route: 1})
    if plan.reorder_roles:
        _add(tally, {"PATCH /guilds/{guild_id}/roles": 1})
    if plan.reorder_channels:
        _add(tally, {"PATCH /guilds/{guild_id}/channels": 1})
    return tally


def _reads(live: LiveCommunity | None, *, images: int) -> dict[str, int]:
    """The reads of one full look at the server: roles and channels, community, bans pages, images."""
    tally = dict.fromkeys(READ_ROUTES, 1)
    _add(tally, dict.fromkeys(COMMUNITY_READS, 1))
    if live is not None:
        pages = len(live.bans) // L.BAN_PAGE + 1
        _add(tally, {"GET /guilds/{guild_id}/bans": pages - 1})
    _add(tally, {"GET /cdn": images})
    return tally


def estimate(structure: Plan | None, community: CommunityPlan, replay: ReplayPlan | None,
             live: LiveCommunity | None, *, apply_reads: bool,
             safety: SafetyPlan | None = None) -> tuple[dict[str, int], float, dict[str, float]]:
    """Requests (by route) and the time floor of a whole restore: the plan's reads, the pre-restore
    snapshot and the reads under the lock (``apply_reads``), the structure's writes, the community's
    writes and the replay."""
    tally: dict[str, int] = {}
    live_images = (len(live.emojis) + len(live.stickers)
                   + sum(1 for k in GUILD_IMAGES if getattr(live.settings, k))) if live is not None else 0
    _add(tally, _reads(live, images=len(live.image_sha) if live is not None else 0))
    if apply_reads:
        _add(tally, _reads(live, images=live_images))  # the pre-restore snapshot
        _add(tally, _reads(live, images=len(live.image_sha) if live is not None else 0))  # under the lock
    _add(tally, _structure_requests(structure))
    _add(tally, cplan.requests(community))
    if live is not None:
        _add(tally, safety_plan.reads(live.safety.parts))
        if apply_reads:  # the pre-restore snapshot reads every safety part; the re-plan under the lock
            _add(tally, safety_plan.reads(frozenset(SAFETY_PARTS)))
            _add(tally, safety_plan.reads(live.safety.parts))
    if safety is not None:
        _add(tally, safety_plan.requests(safety))
    if replay is not None:
        _add(tally, replay.requests())
    waits = max((w.seconds for w in structure.waits), default=0.0) if structure is not None else 0.0
    parts = {"roles and channels": waits, "emojis and stickers": cplan.time_floor(community),
             "messages": replay.time_floor() if replay is not None else 0.0}
    return tally, sum(parts.values()), parts


def recreated(structure: Plan | None, objects: State) -> list[str]:
    """Snapshot-time ids of the objects a structure plan re-creates."""
    if structure is None:
        return []
    created = {c.address for c in structure.changes if c.action in ("create", "replace")}
    return [r.id for r in objects.resources if r.id and r.address in created]


def _channel_messages(extras: Extras) -> dict[str, tuple[dict[str, Any], ...]]:
    """The saved messages of channels (a thread's go back with the thread)."""
    threads = extras.thread_ids
    return {k: v for k, v in extras.messages.items() if k not in threads}


def _live_icon_sha(live: LiveCommunity) -> dict[str, str]:
    return {k.removeprefix("role:"): v for k, v in live.image_sha.items() if k.startswith("role:")}


def plan(extras: Extras, live: LiveCommunity, live_guild: Guild, structure: Plan | None, objects: State, *,
         prune_unmanaged: bool, messages: bool, names: Mapping[str, str], apply_reads: bool,
         journal: ReplayJournal | None = None, selection: Selection | None = None, now: datetime | None = None,
         ids: Mapping[str, str] | None = None) -> ExtrasPlan:
    """The predicted community, safety and replay work (objects the structure plan re-creates have no id
    yet: they count under their snapshot-time id; messages an interrupted replay posted, per ``journal``,
    count as already there). ``selection``: the parts restored (default: every part, ``messages`` with
    ``messages``); the community plan keeps only the parts it chose (the safety parts were read for it).
    ``now``: the run's clock (events that started before it are over); ``ids``: snapshot-time ids of roles
    and channels an earlier restore re-created → their ids now (the state's)."""
    chosen = selection if selection is not None else sel.parse(messages=messages)
    known = dict(ids or {})
    channels = [c.id for c in live_guild.channels]
    roles = [r.id for r in live_guild.roles]
    pending = recreated(structure, objects)
    community = plan_community(extras, live, ids=known, live_channels=channels, live_roles=roles,
                               prune_unmanaged=prune_unmanaged, pending=pending)
    if selection is not None:
        community = narrow_community(community, selection)
    safety = safety_plan.plan(extras.safety, live.safety, ids=known, channels=set(channels) | set(pending),
                              roles=set(roles) | set(pending), now=now or datetime.now(UTC), prune=prune_unmanaged)
    replay = None
    if messages:
        replay = plan_replay(_channel_messages(extras), names, live_channels=channels, journal=journal)
    fields_plan = fields.plan_structure(extras.structure, live_guild, ids=known, features=live.settings.features,
                                        emojis={e.id for e in live.emojis}, include=chosen.includes,
                                        live_icon_sha=_live_icon_sha(live))
    threads = None
    if chosen.includes("threads"):
        threads = thread_parts.plan_threads(extras.threads, live_guild, live.threads, ids=known,
                                            messages=extras.messages if messages else {}, pending=pending)
    requests, floor, parts = estimate(structure, community, replay, live, apply_reads=apply_reads, safety=safety)
    _add(requests, fields_plan.requests())
    if threads is not None:
        _add(requests, threads.requests())
        sends = sum(len(s.messages) for s in threads.steps)
        if sends:
            _add(requests, {"POST /webhooks/{webhook_id}/{webhook_token}": sends})
    return ExtrasPlan(community=community, replay=replay, safety=safety, requests=requests, time_floor=floor,
                      time_parts=parts, structure=fields_plan, threads=threads)


@dataclass
class ExtrasDone:
    community: CommunityResult | None = None
    replay: ReplayResult | None = None
    structure: fields.StructureResult | None = None
    threads: thread_parts.ThreadsResult | None = None
    safety: SafetyResult | None = None

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [*(self.structure.failed if self.structure else []),
                *(self.community.failed if self.community else []), *(self.safety.failed if self.safety else []),
                *(self.replay.failed if self.replay else []), *(self.threads.failed if self.threads else [])]

    def to_dict(self) -> dict[str, Any]:
        return {"community": self.community.to_dict() if self.community is not None else None,
                "structure": self.structure.to_dict() if self.structure is not None else None,
                "threads": self.threads.to_dict() if self.threads is not None else None,
                "safety": self.safety.to_dict() if self.safety is not None else None,
                "messages": self.replay.to_dict() if self.replay is not None else None}


def apply(port: DiscordPort, extras: Extras, objects: State, state: State, *, prune_unmanaged: bool,
          messages: bool, names: Mapping[str, str], progress: Reporter, reason: str,
          concurrency: int, journal: ReplayJournal | None = None, now: datetime | None = None,
          selection: Selection | None = None) -> ExtrasDone:
    """Put back the fields of roles and channels the config does not hold, make the live community and the
    safety parts ``selection`` selects (None: all) match the snapshot, replay messages, then put back
    threads and posts (their messages replayed too), exactly once with ``journal`` (see the module
    docstring)."""
    done = ExtrasDone()
    if not extras.present:
        return done
    chosen = selection if selection is not None else sel.parse(messages=messages)
    ids = id_map(objects, state)
    guild = port.get_guild()
    live = read_live(port, extras, workers=min(concurrency, 8), guild=guild, selection=selection)
    fields_plan = fields.plan_structure(extras.structure, guild, ids=ids, features=live.settings.features,
                                        emojis={e.id for e in live.emojis}, include=chosen.includes,
                                        live_icon_sha=_live_icon_sha(live))
    if fields_plan.steps:
        done.structure = fields.execute_structure(port, fields_plan, extras.images, progress=progress, reason=reason)
        guild = port.get_guild()  # the tags' ids now
    community = plan_community(extras, live, ids=ids, live_channels=[c.id for c in guild.channels],
                               live_roles=[r.id for r in guild.roles], prune_unmanaged=prune_unmanaged)
    if selection is not None:
        community = narrow_community(community, selection)
    done.community = execute_community(port, community, extras.images, progress=progress, reason=reason)
    if live.safety.parts:
        safety = safety_plan.plan(extras.safety, live.safety, ids=ids, channels={c.id for c in guild.channels},
                                  roles={r.id for r in guild.roles}, now=now or datetime.now(UTC),
                                  prune=prune_unmanaged)
        done.safety = execute_safety(port, safety, extras.images, progress=progress, reason=reason)
    if messages:
        live_ids = {c.id for c in guild.channels}
        recreated = {old: new for old, new in ids.items() if new in live_ids}
        replay = plan_replay(_channel_messages(extras), names, live_channels=sorted(live_ids), ids=recreated)
        done.replay = execute_replay(port, replay, progress=progress, reason=reason, concurrency=concurrency,
                                     journal=journal, stored=extras.images)
    if extras.threads and chosen.includes("threads"):
        threads = thread_parts.plan_threads(extras.threads, guild, live.threads, ids=ids,
                                            messages=extras.messages if messages else {})
        done.threads = thread_parts.execute_threads(
            port, threads, guild, tags=fields.tag_map(extras.structure, guild, ids), messages=messages,
            progress=progress, reason=reason, journal=journal, stored=extras.images)
    return done
