"""What a snapshot keeps of roles and channels beyond the config: the ``structure`` part.

The config (and so the IaC restore) holds a channel's name, type, category, topic, NSFW flag, slow mode,
voice bitrate and user limit, and role overwrites; a role's name, permissions, colour, hoist and
mentionable flags. The ``structure`` part (``structure.json.gz``) adds, by snapshot-time id:

* channels: ``rtc_region`` and ``video_quality_mode`` (voice, stage), ``bitrate`` and ``user_limit``,
  the forum and media settings ``available_tags`` (id, name, moderated, emoji_id, emoji_name),
  ``default_reaction_emoji``, ``default_sort_order``, ``default_forum_layout``,
  ``default_thread_rate_limit_per_user``, and the member overwrites (type 1: id, allow, deny);
* roles: the colours (primary, secondary, tertiary), ``unicode_emoji`` and the icon (Discord's hash with
  the sha256, size and media type of the image, stored content-addressed in the media store like emojis).

Restore (:func:`plan_structure`, :func:`execute_structure`) runs after the roles and channels are back
(re-created ones found through the state the restore wrote) and sends only what differs: one channel
PATCH for the channel's fields, a tag that exists under the same name keeps its id (a re-created forum's
tags get new ids: :attr:`StructureResult.tags` maps snapshot-time tag ids to the ids now, which threads'
``applied_tags`` use), one overwrite PUT per missing member overwrite, one role PATCH for colours, icon
and emoji. An icon needs the guild feature ``ROLE_ICONS`` (boost level 2): without it the plan says so
and leaves icons and emojis out. A custom emoji a tag or default reaction names that is not in the server
any more is left out of it (with a warning). Pure but for the execution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gaib.discord import limits as L
from gaib.discord.community import data_uri, role_icon_path
from gaib.discord.models import Channel, ChannelType, Guild, Overwrite, OverwriteType, Role
from gaib.discord.port import DiscordPort
from gaib.errors import GaibError
from gaib.iac.progress import Reporter, Tick

PART = "structure"
FILE = "structure.json.gz"
VOICE_TYPES = (ChannelType.VOICE, ChannelType.STAGE)
POST_TYPES = (ChannelType.FORUM, ChannelType.MEDIA)

#: Fetch one image from the CDN and store it: (path, max bytes) -> (bytes, sha256).
Fetch = Callable[[str, int], tuple[bytes, str]]
#: Note a stored image in the manifest: (bytes, sha256) -> {sha256, size, type}.
Note = Callable[[bytes, str], dict[str, Any]]


def _tag(t: Any) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "moderated": t.moderated, "emoji_id": t.emoji_id, "emoji_name": t.emoji_name}


def channel_doc(c: Channel) -> dict[str, Any]:
    """What the part keeps of one channel."""
    doc: dict[str, Any] = {"name": c.name, "type": int(c.type),
                           "member_overwrites": [{"id": o.id, "allow": str(o.allow), "deny": str(o.deny)}
                                                 for o in c.permission_overwrites if o.type == OverwriteType.MEMBER]}
    if c.type in VOICE_TYPES:
        doc.update(bitrate=c.bitrate, user_limit=c.user_limit, rtc_region=c.rtc_region,
                   video_quality_mode=c.video_quality_mode if c.type == ChannelType.VOICE else None)
    if c.type in POST_TYPES:
        reaction = c.default_reaction_emoji
        doc.update(available_tags=[_tag(t) for t in c.available_tags],
                   default_reaction_emoji={"emoji_id": reaction[0], "emoji_name": reaction[1]} if reaction else None,
                   default_sort_order=c.default_sort_order,
                   default_forum_layout=c.default_forum_layout if c.type == ChannelType.FORUM else None,
                   default_thread_rate_limit_per_user=c.default_thread_rate_limit_per_user)
    return doc


def capture_structure(guild: Guild, fetch: Fetch, note: Note) -> tuple[dict[str, Any], int]:
    """The ``structure`` document of a live guild (role icons fetched and stored) and its counts."""
    channels = {c.id: channel_doc(c) for c in guild.channels if c.type != ChannelType.CATEGORY
                or any(o.type == OverwriteType.MEMBER for o in c.permission_overwrites)}
    roles: dict[str, Any] = {}
    for r in guild.roles:
        if r.managed:
            continue
        icon = None
        if r.icon:
            data, digest = fetch(role_icon_path(r.id, r.icon), L.ROLE_ICON_MAX_BYTES)
            icon = {"hash": r.icon, **note(data, digest)}
        roles[r.id] = {"name": r.name, "icon": icon, "unicode_emoji": r.unicode_emoji,
                       "colors": {"primary_color": r.color, "secondary_color": r.secondary_color,
                                  "tertiary_color": r.tertiary_color}}
    doc = {"format_version": 1, "channels": channels, "roles": roles}
    return doc, sum(len(c["member_overwrites"]) for c in channels.values())


def icon_refs(doc: Mapping[str, Any]) -> dict[str, str]:
    """sha256 → what uses it, for every role icon the part names."""
    out = {}
    for role in (doc.get("roles") or {}).values():
        icon = role.get("icon") if isinstance(role, dict) else None
        if isinstance(icon, dict):
            out[str(icon.get("sha256"))] = f"the icon of role @{role.get('name')}"
    return out


# --- planning ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One request: ``kind`` (channel, overwrite, role), the snapshot-time id, the id now (None while the
    object is not re-created yet), its name and the body (``icon`` holds a sha256 until it is sent)."""

    kind: str
    old_id: str
    live_id: str | None
    name: str
    body: Mapping[str, Any] = field(default_factory=dict)
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "id": self.live_id, "fields": sorted(self.body),
                **({"member": self.target} if self.target else {})}


@dataclass(frozen=True)
class StructurePlan:
    steps: tuple[Step, ...] = ()
    warnings: tuple[str, ...] = ()

    def requests(self) -> dict[str, int]:
        routes = {"channel": "PATCH /channels/{channel_id}",
                  "overwrite": "PUT /channels/{channel_id}/permissions/{overwrite_id}",
                  "role": "PATCH /guilds/{guild_id}/roles/{role_id}"}
        out: dict[str, int] = {}
        for s in self.steps:
            out[routes[s.kind]] = out.get(routes[s.kind], 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [s.to_dict() for s in self.steps], "requests": self.requests(),
                "warnings": list(self.warnings)}


def _emoji(value: Any, emojis: set[str], what: str, warnings: list[str]) -> dict[str, Any] | None:
    """A tag's or reaction's emoji as Discord takes it; a custom emoji no longer in the server is dropped."""
    if not isinstance(value, dict):
        return None
    emoji_id, emoji_name = value.get("emoji_id"), value.get("emoji_name")
    if emoji_id and str(emoji_id) not in emojis:
        warnings.append(f"{what} used a custom emoji that is not in the server any more; it is left out.")
        emoji_id = None
    return {"emoji_id": emoji_id, "emoji_name": emoji_name} if emoji_id or emoji_name else None


def _tags_body(saved: list[dict[str, Any]], live: Channel | None, emojis: set[str], where: str,
               warnings: list[str]) -> list[dict[str, Any]] | None:
    """The ``available_tags`` to send (None when the live tags already match by name and attributes)."""
    live_tags = {t.name: t for t in live.available_tags} if live is not None else {}
    out = []
    for tag in saved:
        emoji = _emoji(tag, emojis, f"{where}: tag {tag.get('name')!r}", warnings) or {}
        item = {"name": str(tag.get("name")), "moderated": bool(tag.get("moderated")),
                "emoji_id": emoji.get("emoji_id"), "emoji_name": emoji.get("emoji_name")}
        kept = live_tags.get(str(item["name"]))
        if kept is not None:
            item["id"] = kept.id
        out.append(item)
    if live is not None and [
            {"id": t.id, "name": t.name, "moderated": t.moderated, "emoji_id": t.emoji_id, "emoji_name": t.emoji_name}
            for t in live.available_tags] == out:
        return None
    return out


def _channel_body(saved: Mapping[str, Any], live: Channel | None, emojis: set[str],
                  warnings: list[str]) -> dict[str, Any]:
    where = f"#{saved.get('name')}"
    body: dict[str, Any] = {}
    kind = int(saved.get("type", 0))

    def differs(key: str, have: Any) -> None:
        want = saved.get(key)
        if key in saved and want is not None and (live is None or want != have):
            body[key] = want

    if kind in VOICE_TYPES:
        differs("bitrate", live.bitrate if live else None)
        differs("user_limit", live.user_limit if live else None)
        differs("rtc_region", live.rtc_region if live else None)
        differs("video_quality_mode", live.video_quality_mode if live else None)
    if kind in POST_TYPES:
        tags = _tags_body(list(saved.get("available_tags") or []), live, emojis, where, warnings)
        if tags is not None and (tags or live is not None):
            body["available_tags"] = tags
        reaction = _emoji(saved.get("default_reaction_emoji"), emojis, f"{where}: default reaction", warnings)
        have = live.default_reaction_emoji if live else None
        if reaction is not None and (reaction["emoji_id"], reaction["emoji_name"]) != have:
            body["default_reaction_emoji"] = reaction
        differs("default_sort_order", live.default_sort_order if live else None)
        differs("default_forum_layout", live.default_forum_layout if live else None)
        want = saved.get("default_thread_rate_limit_per_user") or 0
        if want and (live is None or live.default_thread_rate_limit_per_user != want):
            body["default_thread_rate_limit_per_user"] = want
    return body


def _role_body(saved: Mapping[str, Any], live: Role | None, icons: bool, live_icon_sha: str | None,
               warnings: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    raw = saved.get("colors")
    colors: dict[str, Any] = raw if isinstance(raw, dict) else {}
    second, third = colors.get("secondary_color"), colors.get("tertiary_color")
    if (second is not None or third is not None) and (
            live is None or (live.secondary_color, live.tertiary_color) != (second, third)):
        body["colors"] = {"primary_color": colors.get("primary_color") or 0, "secondary_color": second,
                          "tertiary_color": third}
    icon, emoji = saved.get("icon"), saved.get("unicode_emoji")
    wants = isinstance(icon, dict) or bool(emoji)
    if wants and not icons:
        warnings.append(f"Role @{saved.get('name')} had an icon; the server lacks the ROLE_ICONS feature "
                        f"(boost level {L.ROLE_ICONS_TIER}), so it is left out.")
        return body
    if isinstance(icon, dict) and (live is None or live.icon != icon.get("hash")) and \
            live_icon_sha != icon.get("sha256"):
        body["icon"] = str(icon.get("sha256"))
    if emoji and (live is None or live.unicode_emoji != emoji):
        body["unicode_emoji"] = emoji
    return body


def plan_structure(doc: Mapping[str, Any], live: Guild, *, ids: Mapping[str, str], features: tuple[str, ...],
                   emojis: set[str], include: Callable[[str], bool],
                   live_icon_sha: Mapping[str, str] | None = None) -> StructurePlan:
    """What differs between the part and the live guild. ``ids``: snapshot-time id → id now (objects a
    restore re-created); an object neither live nor in ``ids`` is pending (a dry run: it will be
    re-created, so everything saved is sent). ``include(part)`` says whether ``channels``, ``overwrites``
    and ``roles`` are restored; ``live_icon_sha``: role id → sha256 of its live icon, when read."""
    warnings: list[str] = []
    steps: list[Step] = []
    channels = {c.id: c for c in live.channels}
    roles = {r.id: r for r in live.roles}
    for old_id, saved in sorted((doc.get("channels") or {}).items(), key=lambda kv: int(kv[0])):
        now = ids.get(old_id, old_id)
        have = channels.get(now)
        live_id = now if have is not None else None
        name = str(saved.get("name"))
        if include("channels"):
            body = _channel_body(saved, have, emojis, warnings)
            if body:
                steps.append(Step("channel", old_id, live_id, name, body))
        if include("overwrites"):
            held = {o.id: o for o in (have.permission_overwrites if have else ())}
            for ow in saved.get("member_overwrites") or ():
                want = Overwrite(str(ow["id"]), OverwriteType.MEMBER, int(ow["allow"]), int(ow["deny"]))
                if held.get(want.id) != want:
                    steps.append(Step("overwrite", old_id, live_id, name, {"allow": want.allow, "deny": want.deny},
                                      target=want.id))
    if include("roles"):
        icons = "ROLE_ICONS" in features
        for old_id, saved in sorted((doc.get("roles") or {}).items(), key=lambda kv: int(kv[0])):
            now = ids.get(old_id, old_id)
            role = roles.get(now)
            body = _role_body(saved, role, icons, (live_icon_sha or {}).get(now), warnings)
            if body:
                steps.append(Step("role", old_id, now if role else None, str(saved.get("name")), body))
    return StructurePlan(tuple(steps), tuple(dict.fromkeys(warnings)))


# --- execution -----------------------------------------------------------------------------------------


@dataclass
class StructureResult:
    done: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    """Snapshot-time forum tag id → its id now (tags matched by name in each channel)."""

    def to_dict(self) -> dict[str, Any]:
        return {"done": self.done, "failed": self.failed, "tags": len(self.tags)}


def tag_map(doc: Mapping[str, Any], live: Guild, ids: Mapping[str, str]) -> dict[str, str]:
    """Snapshot-time tag id → live tag id, matching each saved channel's tags by name."""
    channels = {c.id: c for c in live.channels}
    out: dict[str, str] = {}
    for old_id, saved in (doc.get("channels") or {}).items():
        have = channels.get(ids.get(old_id, old_id))
        if have is None:
            continue
        by_name = {t.name: t.id for t in have.available_tags}
        for tag in saved.get("available_tags") or ():
            if tag.get("name") in by_name:
                out[str(tag.get("id"))] = by_name[tag["name"]]
    return out


def execute_structure(port: DiscordPort, plan: StructurePlan, images: Mapping[str, bytes], *,
                      progress: Reporter, reason: str) -> StructureResult:
    """Send every step (objects without an id now are skipped: they were not re-created); a step that
    fails is listed, never raised."""
    result = StructureResult()
    for step in plan.steps:
        if step.live_id is None:
            continue
        what = (f"{step.kind} {step.name}" if step.kind != "overwrite"
                else f"member overwrite {step.target} on #{step.name}")
        try:
            if step.kind == "channel":
                port.update_channel(step.live_id, dict(step.body), reason=reason)
            elif step.kind == "overwrite":
                assert step.target is not None
                port.set_overwrite(step.live_id, Overwrite(step.target, OverwriteType.MEMBER,
                                                           int(step.body["allow"]), int(step.body["deny"])),
                                   reason=reason)
            else:
                body = dict(step.body)
                if "icon" in body:
                    body["icon"] = data_uri(images[body["icon"]])
                port.update_role(step.live_id, body, reason=reason)
        except GaibError as exc:
            result.failed.append({"what": what, "code": exc.error_code, "message": exc.message})
            progress(Tick("failed", exc.message, address=what))
            continue
        result.done.append(what)
        progress(Tick("done", what))
    return result
