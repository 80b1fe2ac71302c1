"""Desired server + state + live guild -> Plan. Pure: no I/O.

Matching, for each kind, decided for all config items of the kind before any change is planned:
1. state resources: each config item takes at most one state resource that has its address or its
   name (case-insensitive); a resource whose address differs must still exist in Discord. Best
   pairs are taken first: same name before same address only (so names whose slugs collide, like
   "Mod Team" and "mod-team", keep their objects when the config reorders them), then for channels
   the same category and a type Discord can convert to, then the same address;
2. adoption: a live object of the same name (case-insensitive) that no state resource holds;
3. otherwise create.
State resources left unclaimed are deleted from Discord (or forgotten if already gone). Live
objects in neither the config nor the state are never touched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from gaib.config.desired import (
    EVERYONE,
    DesiredCategory,
    DesiredChannel,
    DesiredOverwrite,
    DesiredRole,
    DesiredServer,
)
from gaib.config.permissions import overwrite_changes, role_permission_changes
from gaib.config.schema import MANAGED_MARKER
from gaib.discord.models import (
    Channel,
    ChannelType,
    Guild,
    Overwrite,
    OverwriteType,
    Role,
    discord_channel_name,
)
from gaib.iac import addresses, layout
from gaib.iac.plan import Change, Desired, FieldChange, Kind, Plan
from gaib.state.dialect import channel_type
from gaib.state.model import ORIGINAL, Resource, State

TEXT_LIKE = (ChannelType.TEXT, ChannelType.ANNOUNCEMENT, ChannelType.FORUM, ChannelType.MEDIA)
VOICE_LIKE = (ChannelType.VOICE, ChannelType.STAGE)
PATCHABLE_TYPES = {ChannelType.TEXT, ChannelType.ANNOUNCEMENT}
PENDING = "(new)"


def manageable_roles(guild: Guild) -> list[Role]:
    """Roles Gaib may manage: not @everyone and not managed by an integration (bots, boosts)."""
    return [r for r in guild.roles if r.id != guild.id and not r.managed]


class _Matcher:
    def __init__(self, kind: Kind, rtype: str, state: State | None, live: Sequence[Role] | Sequence[Channel],
                 claimed_ids: set[str]) -> None:
        self.kind = kind
        self.rtype = rtype
        self.live_by_id: dict[str, Any] = {o.id: o for o in live}
        self.state_res = [r for r in (state.resources if state else []) if r.type == rtype]
        self.state_by_addr = {r.address: r for r in self.state_res}
        self.used_state: set[str] = set()
        self.assigned: dict[str, Resource] = {}  # config address -> the state resource it takes
        self.claimed = claimed_ids  # shared across kinds: every id in the state, plus matched ones

    def assign(self, wanted: Sequence[tuple[str, str]], fit: Callable[[int, Resource], int] = lambda _i, _r: 0,
               ) -> None:
        """Pair config items ``wanted[i] = (address, name)`` with state resources, best pairs first.

        A pair needs the same address, or the same name (case-insensitive) and a resource whose object
        still exists. ``fit(i, resource)`` ranks pairs of equal name-ness (higher is better).
        """
        pairs = []
        for i, (address, name) in enumerate(wanted):
            for j, res in enumerate(self.state_res):
                same_addr = res.address == address
                same_name = str(res.attributes.get("name", "")).casefold() == name.casefold()
                if same_addr or (same_name and (res.id or "") in self.live_by_id):
                    pairs.append(((not same_name, -fit(i, res), not same_addr, i, j), address, res))
        taken: set[str] = set()
        for _rank, address, res in sorted(pairs, key=lambda p: p[0]):
            if address not in self.assigned and res.address not in taken:
                self.assigned[address] = res
                taken.add(res.address)
        self.used_state |= taken

    def by_state(self, address: str) -> tuple[Any | None, Resource | None]:
        res = self.assigned.get(address)
        return (self.live_by_id.get(res.id or ""), res) if res is not None else (None, None)

    def adopt(self, name: str, ok: Callable[[Any], bool]) -> Any | None:
        for obj in self.live_by_id.values():
            if obj.id not in self.claimed and obj.name.casefold() == name.casefold() and ok(obj):
                return obj
        return None

    def leftovers(self) -> list[Resource]:
        return [r for r in self.state_res if r.address not in self.used_state]


def build_plan(desired: DesiredServer, state: State | None, live: Guild) -> Plan:
    role_addrs, cat_addrs, chan_addrs = addresses.assign(desired, state)
    original = state is not None and state.dialect == ORIGINAL
    claimed: set[str] = {r.id for r in (state.resources if state else []) if r.id}
    roles_live = manageable_roles(live)
    cats_live = [c for c in live.channels if c.type == ChannelType.CATEGORY]
    chans_live = [c for c in live.channels if c.type != ChannelType.CATEGORY]
    changes: list[Change] = []
    existing: dict[str, str] = {}
    desired_by_addr: dict[str, Desired] = {}
    warnings: list[str] = []

    def match(m: _Matcher, address: str, name: str, eligible: Callable[[Any], bool]) -> tuple[Any | None, str]:
        """Returns (live object or None, how): how in {'state', 'moved', 'adopt', 'create', 'recreate'}."""
        obj, res = m.by_state(address)
        if res is not None:
            if obj is None:
                return None, "recreate"
            return obj, "state" if res.address == address else "moved"
        obj = m.adopt(name, eligible)
        if obj is not None:
            claimed.add(obj.id)
            return obj, "adopt"
        return None, "create"

    def plan_item(kind: Kind, addr: str, name: str, obj: Any | None, how: str, want: Desired,
                  diffs: tuple[FieldChange, ...]) -> None:
        """Append the change for one config item: create, adopt (moved or adopted), or update."""
        if obj is None:
            changes.append(Change("create", kind, addr, name, desired=want))
            return
        existing[addr] = obj.id
        if how in ("adopt", "moved"):
            changes.append(Change("adopt", kind, addr, name, obj.id, diffs, want))
        elif diffs:
            changes.append(Change("update", kind, addr, name, obj.id, diffs, want))

    # --- roles -------------------------------------------------------------------------------------
    rm = _Matcher("role", addresses.ROLE, state, roles_live, claimed)
    rm.assign([(a, r.name) for a, r in zip(role_addrs, desired.roles, strict=True)])
    role_ids: dict[str, str | None] = {}  # role name -> id (None while pending)
    for addr, want in zip(role_addrs, desired.roles, strict=True):
        desired_by_addr[addr] = want
        obj, how = match(rm, addr, want.name, lambda _o: True)
        role_ids[want.name] = obj.id if obj is not None else None
        plan_item("role", addr, want.name, obj, how, want, _role_fields(want, obj) if obj is not None else ())

    managed_role_ids = {live.id} | {r.id for r in roles_live if r.id in claimed}
    names_by_id = {r.id: r.name for r in live.roles}
    names_by_id[live.id] = EVERYONE

    def target_id(target: str) -> str | None:
        return live.id if target == EVERYONE else role_ids.get(target)

    # --- categories --------------------------------------------------------------------------------
    cm = _Matcher("category", addresses.CATEGORY, state, cats_live, claimed)
    cm.assign([(a, c.name) for a, c in zip(cat_addrs, desired.categories, strict=True)])
    cat_ids: dict[str, str | None] = {}
    for addr, cat in zip(cat_addrs, desired.categories, strict=True):
        desired_by_addr[addr] = cat
        obj, how = match(cm, addr, cat.name, lambda _o: True)
        cat_ids[cat.name] = obj.id if obj is not None else None
        plan_item("category", addr, cat.name, obj, how, cat,
                  _category_fields(cat, obj, target_id, managed_role_ids, names_by_id) if obj is not None else ())

    cat_names_by_id = {c.id: c.name for c in cats_live}

    # --- channels ----------------------------------------------------------------------------------
    chm = _Matcher("channel", addresses.CHANNEL, state, chans_live, claimed)

    def channel_fit(i: int, res: Resource) -> int:
        """2 for a type Discord can keep (same, or text <-> announcement), plus 1 for the same category."""
        want = desired.channels[i]
        have_type = channel_type(res.attributes.get("type")) or 0  # a number, or the original's word
        same_kind = have_type == want.type or {have_type, int(want.type)} <= PATCHABLE_TYPES
        parent = cat_ids.get(want.category) if want.category else None
        same_parent = (res.attributes.get("parent_id") or None) == parent and (parent is not None
                                                                             or want.category is None)
        return 2 * same_kind + same_parent

    chm.assign([(a, discord_channel_name(c.type, c.name)) for a, c in zip(chan_addrs, desired.channels, strict=True)],
               channel_fit)
    for addr, ch in zip(chan_addrs, desired.channels, strict=True):
        desired_by_addr[addr] = ch
        want_parent = cat_ids.get(ch.category) if ch.category else None

        def eligible(o: Channel, ch: DesiredChannel = ch, want_parent: str | None = want_parent) -> bool:
            same_kind = o.type == ch.type or {o.type, ch.type} <= PATCHABLE_TYPES
            return same_kind and (o.parent_id == want_parent or ch.category is None or want_parent is None)

        obj, how = match(chm, addr, discord_channel_name(ch.type, ch.name), eligible)
        ch = _with_marker(ch, obj, original)
        desired_by_addr[addr] = ch
        if obj is not None and obj.type != ch.type and not {obj.type, ch.type} <= PATCHABLE_TYPES:
            warnings.append(f"{addr} changes type {obj.type.name.lower()} -> {ch.type.name.lower()}: "
                            "Discord cannot convert it, so it is deleted and re-created (its messages are lost).")
            changes.append(Change("replace", "channel", addr, ch.name, obj.id,
                                  (FieldChange("type", obj.type.name.lower(), ch.type.name.lower()),), ch))
            continue
        diffs = () if obj is None else _channel_fields(ch, obj, want_parent, target_id, managed_role_ids,
                                                       names_by_id, cat_names_by_id)
        plan_item("channel", addr, ch.name, obj, how, ch, diffs)

    # --- deletions (children first) ----------------------------------------------------------------
    live_ids = {r.id for r in roles_live} | {c.id for c in live.channels}
    for matcher, kind in ((chm, "channel"), (cm, "category"), (rm, "role")):
        for res in matcher.leftovers():
            name = str(res.attributes.get("name", res.name))
            action = "delete" if res.id in live_ids else "forget"
            changes.append(Change(action, kind, res.address, name, res.id))  # type: ignore[arg-type]

    # --- positions ---------------------------------------------------------------------------------
    creates = {c.kind for c in changes if c.action in ("create", "replace")}
    role_top_first = [existing[a] for a in role_addrs if a in existing]
    reorder_roles = "role" in creates or layout.roles_need_reorder(role_top_first, live.roles, live.id)
    reorder_channels = bool(creates & {"category", "channel"})
    if not reorder_channels:
        groups, parent_of = desired_channel_groups(desired, chan_addrs, cat_addrs, existing, live)
        remaining = [c for c in live.channels if not _deleted(c.id, changes)]
        reorder_channels = layout.channels_need_reorder(groups, remaining) or any(
            parent_of.get(c.id, c.parent_id) != c.parent_id for c in remaining)

    return Plan(guild_id=live.id, changes=tuple(changes), reorder_roles=reorder_roles,
                reorder_channels=reorder_channels, role_order=tuple(role_addrs), category_order=tuple(cat_addrs),
                channel_order=tuple(chan_addrs), desired=desired_by_addr, existing=existing,
                warnings=tuple(warnings))


def marked(topic: str | None) -> str:
    """A topic as the original Gaib writes it: with its managed marker appended (once)."""
    if not topic:
        return MANAGED_MARKER
    return topic if MANAGED_MARKER in topic else f"{topic} {MANAGED_MARKER}"


def _with_marker(ch: DesiredChannel, obj: Channel | None, original: bool) -> DesiredChannel:
    """The original Gaib appends its marker to the topics of channels it creates and reads a channel
    without it as unmanaged. A live topic that is the config's plus that marker is no change, and
    keeps its marker when the channel is updated; in the original's state, created text channels get
    it too, so the original keeps managing them."""
    if ch.type not in TEXT_LIKE or (ch.topic and MANAGED_MARKER in ch.topic):
        return ch
    if obj is not None:
        if obj.topic and obj.topic != ch.topic and obj.topic == marked(ch.topic):
            return dataclasses.replace(ch, topic=obj.topic)
        return ch
    return dataclasses.replace(ch, topic=marked(ch.topic)) if original else ch


def _deleted(cid: str, changes: Sequence[Change]) -> bool:
    return any(c.id == cid and c.action in ("delete", "replace") for c in changes)


def desired_channel_groups(desired: DesiredServer, chan_addrs: Sequence[str], cat_addrs: Sequence[str],
                           ids: dict[str, str], live: Guild) -> tuple[dict[str | None, list[str]],
                                                                      dict[str, str | None]]:
    """Per parent id, Gaib's channel ids in config order (every desired item must have an id in ``ids``
    to be placed), plus the final parent of each of them."""
    cat_id_by_name = {c.name: ids.get(a) for a, c in zip(cat_addrs, desired.categories, strict=True)}
    managed: dict[str | None, list[str]] = {None: []}
    parent_of: dict[str, str | None] = {}
    for addr, ch in zip(chan_addrs, desired.channels, strict=True):
        if ch.category is None and addr in ids:
            managed[None].append(ids[addr])
            parent_of[ids[addr]] = None
    for addr in cat_addrs:
        if addr in ids:
            managed[None].append(ids[addr])
            parent_of[ids[addr]] = None
    for addr, ch in zip(chan_addrs, desired.channels, strict=True):
        if ch.category is not None and addr in ids:
            parent = cat_id_by_name.get(ch.category)
            managed.setdefault(parent, []).append(ids[addr])
            parent_of[ids[addr]] = parent
    groups = layout.channel_groups(managed, live.channels, parent_of)
    return groups, parent_of


# --- field comparisons -------------------------------------------------------------------------------


def _role_fields(want: DesiredRole, have: Role) -> tuple[FieldChange, ...]:
    out = []
    if want.name != have.name:
        out.append(FieldChange("name", have.name, want.name))
    if want.permissions != have.permissions:
        out.append(FieldChange("permissions", have.permissions, want.permissions,
                               tuple(role_permission_changes(want.name, have.permissions, want.permissions))))
    for name, new, old in (("color", want.color, have.color), ("hoist", want.hoist, have.hoist),
                           ("mentionable", want.mentionable, have.mentionable)):
        if new != old:
            out.append(FieldChange(name, old, new))
    return tuple(out)


def desired_overwrites(wanted: Sequence[DesiredOverwrite], target_id: Callable[[str], str | None],
                       ) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """(target id -> (allow, deny), targets whose role does not exist yet)."""
    resolved: dict[str, tuple[int, int]] = {}
    pending = []
    for ow in wanted:
        tid = target_id(ow.target)
        if tid is None:
            pending.append(ow.target)
        else:
            resolved[tid] = (ow.allow, ow.deny)
    return resolved, pending


def merged_overwrites(wanted: dict[str, tuple[int, int]], have: Sequence[Overwrite], managed: set[str],
                      everyone_id: str) -> list[Overwrite]:
    """Gaib's overwrites plus the live ones Gaib does not manage (members, foreign roles), kept as-is."""
    out = [Overwrite(id=tid, type=OverwriteType.ROLE, allow=a, deny=d) for tid, (a, d) in wanted.items()]
    out += [o for o in have if o.type == OverwriteType.MEMBER or (o.id not in managed and o.id != everyone_id)]
    return out


def _overwrite_change(wanted: Sequence[DesiredOverwrite], have: Sequence[Overwrite],
                      target_id: Callable[[str], str | None], managed: set[str],
                      names: dict[str, str]) -> FieldChange | None:
    resolved, pending = desired_overwrites(wanted, target_id)
    current = {o.id: (o.allow, o.deny) for o in have if o.type == OverwriteType.ROLE and o.id in managed}
    if not pending and resolved == current:
        return None

    def show(d: dict[str, tuple[int, int]]) -> dict[str, dict[str, str]]:
        return {names.get(k, k): {"allow": str(a), "deny": str(b)} for k, (a, b) in sorted(d.items())}

    new = show(resolved)
    after = {("role", names.get(k, k)): v for k, v in resolved.items()}
    for target in pending:
        ow = next(o for o in wanted if o.target == target)
        new[target] = {"allow": str(ow.allow), "deny": str(ow.deny)}
        after[("role", target)] = (ow.allow, ow.deny)
    before = {("role", names.get(k, k)): v for k, v in current.items()}
    return FieldChange("permission_overwrites", show(current), new, tuple(overwrite_changes(before, after)))


def _category_fields(want: DesiredCategory, have: Channel, target_id: Callable[[str], str | None],
                     managed: set[str], names: dict[str, str]) -> tuple[FieldChange, ...]:
    out = []
    if want.name != have.name:
        out.append(FieldChange("name", have.name, want.name))
    ow = _overwrite_change(want.overwrites, have.permission_overwrites, target_id, managed, names)
    if ow:
        out.append(ow)
    return tuple(out)


def _channel_fields(want: DesiredChannel, have: Channel, want_parent: str | None,
                    target_id: Callable[[str], str | None], managed: set[str], names: dict[str, str],
                    cat_names: dict[str, str]) -> tuple[FieldChange, ...]:
    out = []
    if discord_channel_name(want.type, want.name) != have.name:
        out.append(FieldChange("name", have.name, want.name))
    if want.type != have.type:
        out.append(FieldChange("type", have.type.name.lower(), want.type.name.lower()))
    if want.category is not None and want_parent is None:
        out.append(FieldChange("category", cat_names.get(have.parent_id or ""), want.category))
    elif want_parent != have.parent_id:
        out.append(FieldChange("category", cat_names.get(have.parent_id or "", have.parent_id), want.category))
    if want.type in TEXT_LIKE and (want.topic or None) != (have.topic or None):
        out.append(FieldChange("topic", have.topic, want.topic))
    if want.nsfw != have.nsfw:
        out.append(FieldChange("nsfw", have.nsfw, want.nsfw))
    if want.slowmode != have.rate_limit_per_user:
        out.append(FieldChange("slowmode", have.rate_limit_per_user, want.slowmode))
    if want.type in VOICE_LIKE:
        if want.bitrate is not None and want.bitrate != have.bitrate:
            out.append(FieldChange("bitrate", have.bitrate, want.bitrate))
        if want.user_limit is not None and want.user_limit != (have.user_limit or 0):
            out.append(FieldChange("user_limit", have.user_limit, want.user_limit))
    ow = _overwrite_change(want.overwrites, have.permission_overwrites, target_id, managed, names)
    if ow:
        out.append(ow)
    return tuple(out)
