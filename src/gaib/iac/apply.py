"""Execute a Plan against Discord, recording every object in the state as soon as it exists.

One pass: roles (creates, updates), role positions (one request), categories, channels (creates carry
their permission overwrites and position), channel positions (one request), then deletes children
first. The state is written (serial + 1, compare-and-swap) after every call that changed Discord, so
an apply cut off at any point leaves a state that knows every object it created; the next apply
adopts anything created in the instant before a cut by name. A failing step is recorded and the
apply goes on; the run then ends with PartialFailure (exit 8).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gaib.config.desired import EVERYONE, DesiredCategory, DesiredChannel, DesiredRole
from gaib.discord.models import Channel, ChannelType, Guild, Role, channel_body, role_body
from gaib.discord.port import DiscordPort
from gaib.errors import DiscordError, DiscordNotFound, GaibError, PartialFailure
from gaib.iac import addresses, layout
from gaib.iac.attributes import channel_attributes, role_attributes
from gaib.iac.diff import PATCHABLE_TYPES, VOICE_LIKE, desired_channel_groups, desired_overwrites, merged_overwrites
from gaib.iac.plan import Change, Plan
from gaib.state.backend import StateBackend
from gaib.state.model import Instance, Resource, State

REASON = "gaib apply"


@dataclass
class ApplyResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    reordered: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    serial: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted,
                "forgotten": self.forgotten, "reordered": self.reordered, "failed": self.failed,
                "serial": self.serial}


class Applier:
    def __init__(self, client: DiscordPort, backend: StateBackend, state: State | None, *, workspace: str,
                 clock: Callable[[], datetime], progress: Callable[[str], None] = lambda _m: None) -> None:
        self.client = client
        self.backend = backend
        self.clock = clock
        self.progress = progress
        self.stored_serial = state.serial if state is not None else None
        self.state = copy.deepcopy(state) if state is not None else State.new(workspace)
        self.result = ApplyResult(serial=self.stored_serial)

    # --- state -----------------------------------------------------------------------------------
    def _record(self, address: str, attrs: dict[str, Any]) -> None:
        rtype, name = address.split(".", 1)
        for res in self.state.resources:
            if res.address == address:
                if res.id is not None and res.id != str(attrs.get("id")) and self._live(res.id):
                    # Another object still holds this address (a leftover whose address a config item
                    # took over, deleted later in this run). Keep it under a parking address so that,
                    # if its delete fails, it stays managed and the next plan deletes it again. An
                    # object already gone from Discord (a re-creation after a raid) is simply replaced.
                    res.name = f"{name}__replaced_{res.id}"[:100]
                    break
                res.instances = [Instance(attributes=attrs)]
                return
        self.state.resources.append(Resource(type=rtype, name=name, instances=[Instance(attributes=attrs)]))

    def _live(self, rid: str) -> bool:
        """Whether Discord had object ``rid`` when this run read the guild."""
        return rid in getattr(self, "roles", {}) or rid in getattr(self, "channels", {})

    def _drop_id(self, rid: str, keep: str | None) -> None:
        """Forget every resource holding Discord id ``rid``, except the one at address ``keep``."""
        self.state.resources = [r for r in self.state.resources if r.id != rid or r.address == keep]

    def _persist(self) -> None:
        self.state.serial = (self.stored_serial or 0) + 1
        self.state.last_modified = self.clock().isoformat().replace("+00:00", "Z")
        self.backend.put(self.state, expected_serial=self.stored_serial)
        self.stored_serial = self.state.serial
        self.result.serial = self.state.serial

    def _fail(self, change: Change | str, exc: GaibError) -> None:
        address = change if isinstance(change, str) else change.address
        self.result.failed.append({"address": address, "code": exc.error_code, "message": exc.message})
        self.progress(f"  ! {address}: {exc.message}")

    # --- run -------------------------------------------------------------------------------------
    def run(self, plan: Plan, live: Guild) -> ApplyResult:
        self.state.guild_id = plan.guild_id
        self.guild_id = plan.guild_id
        self.roles: dict[str, Role] = {r.id: r for r in live.roles}
        self.channels: dict[str, Channel] = {c.id: c for c in live.channels}
        self.ids: dict[str, str] = dict(plan.existing)  # address -> id, grows with creates
        by_kind: dict[str, list[Change]] = {"role": [], "category": [], "channel": []}
        deletes: list[Change] = []
        for c in plan.changes:
            (deletes if c.action in ("delete", "forget") else by_kind[c.kind]).append(c)

        for c in by_kind["role"]:
            self._guarded(c, self._apply_role)
        if plan.reorder_roles:
            self._reorder_roles(plan)
        self.role_id_by_name = {d.name: self.ids[a] for a, d in plan.desired.items()
                                if isinstance(d, DesiredRole) and a in self.ids}
        state_roles = {r.id for r in self.state.resources if r.type == addresses.ROLE and r.id}
        self.managed_roles = {self.guild_id} | state_roles | set(self.role_id_by_name.values())
        self.final_positions = self._final_channel_positions(plan)
        for c in by_kind["category"]:
            self._guarded(c, self._apply_category)
        self.cat_id_by_name = {d.name: self.ids[a] for a, d in plan.desired.items()
                               if isinstance(d, DesiredCategory) and a in self.ids}
        for c in by_kind["channel"]:
            self._guarded(c, self._apply_channel)
        if plan.reorder_channels:
            self._reorder_channels(plan)
        for c in deletes:
            self._guarded(c, self._delete)
        self._refresh(plan)
        if self.result.failed:
            raise PartialFailure(
                f"{len(self.result.failed)} of the planned changes failed; the rest were applied and recorded "
                f"(state serial {self.result.serial}).",
                details={"result": self.result.to_dict()})
        return self.result

    def _guarded(self, change: Change, step: Callable[[Change], None]) -> None:
        try:
            step(change)
        except DiscordError as exc:
            self._fail(change, exc)

    # --- roles -----------------------------------------------------------------------------------
    def _apply_role(self, c: Change) -> None:
        want = c.desired
        assert isinstance(want, DesiredRole)
        body = role_body(name=want.name, permissions=want.permissions, color=want.color, hoist=want.hoist,
                         mentionable=want.mentionable)
        if c.action == "create":
            role = self.client.create_role(body, reason=REASON, dedupe=True)
            self.result.created.append(c.address)
        else:
            assert c.id is not None
            role = self.client.update_role(c.id, body, reason=REASON) if c.fields else self.roles[c.id]
            self.result.updated.append(c.address)
            self._drop_id(role.id, keep=c.address)
        self.roles[role.id] = role
        self.ids[c.address] = role.id
        self._record(c.address, role_attributes(role))
        self._persist()
        self.progress(f"  {'+' if c.action == 'create' else '~'} {c.address} ({role.id})")

    def _reorder_roles(self, plan: Plan) -> None:
        top_first = [self.ids[a] for a in plan.role_order if a in self.ids]
        live = list(self.roles.values())
        wanted = layout.role_order(top_first, live, self.guild_id)
        # Creates shift other roles in Discord, so send every managed role's position, plus any other
        # role whose known position is off; the response tells the truth about all of them.
        managed = set(top_first)
        moves = [(rid, pos) for pos, rid in enumerate(wanted, start=1)
                 if rid in managed or self.roles[rid].position != pos]
        try:
            roles = self.client.reorder_roles(moves, reason=REASON)
        except DiscordError as exc:
            self._fail("role positions", exc)
            return
        self.roles = {r.id: r for r in roles}
        for addr in plan.role_order:
            rid = self.ids.get(addr)
            if rid in self.roles:
                self._record(addr, role_attributes(self.roles[rid]))
        self._persist()
        self.result.reordered.append("roles")
        self.progress("  ~ role positions")

    # --- channels --------------------------------------------------------------------------------
    def _final_channel_positions(self, plan: Plan) -> dict[str, int]:
        """Final position of every desired channel/category, by address (known before creating them)."""
        positions: dict[str, int] = {}
        desired_cats = [d for a, d in plan.desired.items() if isinstance(d, DesiredCategory)]
        top = [a for a in plan.channel_order if isinstance(plan.desired[a], DesiredChannel)
               and plan.desired[a].category is None]  # type: ignore[union-attr]
        for i, a in enumerate(top + list(plan.category_order)):
            positions[a] = i
        for cat in desired_cats:
            inside = [a for a in plan.channel_order
                      if getattr(plan.desired[a], "category", None) == cat.name]
            for i, a in enumerate(inside):
                positions[a] = i
        return positions

    def _overwrites(self, wanted: Any, existing: Channel | None) -> list[Any]:
        def target(name: str) -> str | None:
            return self.guild_id if name == EVERYONE else self.role_id_by_name.get(name)

        resolved, pending = desired_overwrites(wanted, target)
        for name in pending:
            self.progress(f"  ! overwrite for role {name!r} skipped: the role does not exist (re-run apply)")
        have = existing.permission_overwrites if existing is not None else ()
        return merged_overwrites(resolved, have, self.managed_roles, self.guild_id)

    def _apply_category(self, c: Change) -> None:
        want = c.desired
        assert isinstance(want, DesiredCategory)
        if c.action == "create":
            body = channel_body(name=want.name, type=ChannelType.CATEGORY, position=self.final_positions.get(c.address),
                                permission_overwrites=self._overwrites(want.overwrites, None))
            ch = self.client.create_channel(body, reason=REASON, dedupe=True)
            self.result.created.append(c.address)
        else:
            assert c.id is not None
            current = self.channels[c.id]
            if c.fields:
                body = channel_body(name=want.name, permission_overwrites=self._overwrites(want.overwrites, current))
                ch = self.client.update_channel(c.id, body, reason=REASON)
            else:
                ch = current
            self.result.updated.append(c.address)
            self._drop_id(ch.id, keep=c.address)
        self._remember_channel(c.address, ch)

    def _apply_channel(self, c: Change) -> None:
        want = c.desired
        assert isinstance(want, DesiredChannel)
        parent: str | None = None
        if want.category is not None:
            parent = self.cat_id_by_name.get(want.category)
            if parent is None:
                self._fail(c, DiscordError(f"its category {want.category!r} could not be created; skipped.",
                                           code="DEPENDENCY_FAILED"))
                return
        voice = want.type in VOICE_LIKE
        if c.action == "replace":
            assert c.id is not None
            self.client.delete_channel(c.id, reason=REASON)
            self.channels.pop(c.id, None)
            self._drop_id(c.id, keep=None)  # the old object may have been held under another address
            self._persist()
        if c.action in ("create", "replace"):
            body = channel_body(
                name=want.name, type=want.type, parent_id=parent, position=self.final_positions.get(c.address),
                topic=want.topic if not voice else None, nsfw=want.nsfw or None,
                rate_limit_per_user=want.slowmode or None,
                bitrate=want.bitrate if voice else None, user_limit=want.user_limit if voice else None,
                permission_overwrites=self._overwrites(want.overwrites, None))
            if voice:
                body.pop("topic", None)
            ch = self.client.create_channel(body, reason=REASON, dedupe=True)
            self.result.created.append(c.address)
        else:
            assert c.id is not None
            current = self.channels[c.id]
            if c.fields:
                fields: dict[str, Any] = {"name": want.name, "nsfw": want.nsfw, "rate_limit_per_user": want.slowmode,
                                          "permission_overwrites": self._overwrites(want.overwrites, current)}
                if want.type != current.type and {want.type, current.type} <= PATCHABLE_TYPES:
                    fields["type"] = want.type
                if parent != current.parent_id:
                    fields["parent_id"] = parent
                if voice:
                    if want.bitrate is not None:
                        fields["bitrate"] = want.bitrate
                    if want.user_limit is not None:
                        fields["user_limit"] = want.user_limit
                else:
                    fields["topic"] = want.topic or None
                body = channel_body(**fields)
                ch = self.client.update_channel(c.id, body, reason=REASON)
            else:
                ch = current
            self.result.updated.append(c.address)
            self._drop_id(ch.id, keep=c.address)
        self._remember_channel(c.address, ch)

    def _remember_channel(self, address: str, ch: Channel) -> None:
        self.channels[ch.id] = ch
        self.ids[address] = ch.id
        self._record(address, channel_attributes(ch))
        self._persist()
        self.progress(f"  {'+' if address in self.result.created else '~'} {address} ({ch.id})")

    def _reorder_channels(self, plan: Plan) -> None:
        from gaib.config.desired import DesiredServer

        desired = DesiredServer(
            name=None,
            roles=(),
            categories=tuple(plan.desired[a] for a in plan.category_order),  # type: ignore[misc]
            channels=tuple(plan.desired[a] for a in plan.channel_order),  # type: ignore[misc]
        )
        live = Guild(id=self.guild_id, name="", roles=(), channels=tuple(self.channels.values()))
        groups, _ = desired_channel_groups(desired, plan.channel_order, plan.category_order, self.ids, live)
        moves = layout.channel_positions(groups, list(self.channels.values()))
        if not moves:
            return
        try:
            self.client.reorder_channels([{"id": cid, "position": pos} for cid, pos in moves], reason=REASON)
        except DiscordError as exc:
            self._fail("channel positions", exc)
            return
        for cid, pos in moves:
            ch = self.channels[cid]
            self.channels[cid] = Channel(**{**ch.__dict__, "position": pos})
        by_id = {rid: a for a, rid in self.ids.items()}
        for cid, _pos in moves:
            if cid in by_id:
                self._record(by_id[cid], channel_attributes(self.channels[cid]))
        self._persist()
        self.result.reordered.append("channels")
        self.progress("  ~ channel positions")

    # --- deletes and refresh ---------------------------------------------------------------------
    def _delete(self, c: Change) -> None:
        if c.action == "delete" and c.id is not None:
            try:
                if c.kind == "role":
                    self.client.delete_role(c.id, reason=REASON)
                else:
                    self.client.delete_channel(c.id, reason=REASON)
                self.result.deleted.append(c.address)
                self.progress(f"  - {c.address} ({c.id})")
            except DiscordNotFound:
                self.result.forgotten.append(c.address)
        else:
            self.result.forgotten.append(c.address)
        # By id: a config item may have taken over this address during the run (a rename whose slug
        # equals a removed item's), and that resource must stay.
        if c.id is not None:
            self._drop_id(c.id, keep=None)
        else:
            self.state.resources = [r for r in self.state.resources if r.address != c.address or r.id]
        self._persist()

    def _refresh(self, plan: Plan) -> None:
        """Bring unchanged resources' attributes up to date; one write, only if anything differs."""
        before = copy.deepcopy(self.state)
        for addr, rid in plan.existing.items():
            if addr in self.result.updated:
                continue
            if addr.startswith(addresses.ROLE) and rid in self.roles:
                self._record(addr, role_attributes(self.roles[rid]))
            elif rid in self.channels:
                self._record(addr, channel_attributes(self.channels[rid]))
        if self.stored_serial is None or not before.content_equal(self.state) or before.guild_id != self.state.guild_id:
            self._persist()
