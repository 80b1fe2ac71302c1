"""Execute a Plan against Discord at the latency floor, recording every object as soon as it exists.

Order — steps run concurrently on a bounded pool of threads (``concurrency``; 1: one at a time):
1. roles; 2. role positions (one request) and categories (their overwrites name roles, which now
exist), with the channels of categories this run leaves alone, each other channel as soon as its own
category's step has ended (creates carry overwrites, parent and position); 3. channel positions (if
any is still out of place); 4. deletes: channels, categories, roles. Updates send only the fields that
differ (a name or topic may change twice per 10 minutes: such waits are reported as progress).

State: every object Discord returns is recorded at once, and the step that made it ends only after a
write including it is stored (serial + 1, compare-and-swap; concurrent steps share writes), so an apply
cut off at any point leaves a state that knows every object Discord answered for. With a
:class:`gaib.iac.journal.CreateJournal`, creates are journaled before they are sent (their audit-log
reason carries the entry's marker), so the next run adopts whatever a create in flight made
(:func:`gaib.iac.journal.recover`); entries the stored state settles are removed. Ctrl-C: every wait
ends at once, nothing more is sent, steps in flight get ``GRACE`` (:mod:`gaib.interrupt`) to record.

A failing step is recorded and the apply goes on; a channel whose category could not be created is
skipped. Steps that need a day-long cap Discord says is used up (``DiscordRateLimited`` naming a
window) are deferred unsent, as are channels whose category was deferred; the run then ends with
PartialFailure (exit 8, :mod:`gaib.iac.apply_result`): ``DISCORD_CAP_REACHED`` naming when the window
resets, else ``PARTIAL_FAILURE``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from concurrent.futures import Future, wait
from datetime import datetime
from typing import Any

from gaib import interrupt
from gaib.config.desired import EVERYONE, DesiredCategory, DesiredChannel, DesiredRole, DesiredServer
from gaib.discord import limits as L
from gaib.discord.models import Channel, ChannelType, Guild, Role, channel_body, role_body
from gaib.discord.port import DiscordPort
from gaib.errors import DiscordError, DiscordNotFound, DiscordRateLimited, DiscordUnavailable, GaibError
from gaib.iac import addresses, layout
from gaib.iac.apply_result import ApplyResult, raise_unless_complete
from gaib.iac.attributes import channel_attributes, role_attributes
from gaib.iac.diff import PATCHABLE_TYPES, VOICE_LIKE, desired_channel_groups, desired_overwrites, merged_overwrites
from gaib.iac.journal import CreateJournal, Recovery, RunJournal, highest_id
from gaib.iac.plan import Change, Plan
from gaib.iac.progress import Reporter, Tick, silent, wait_reporter
from gaib.iac.statewriter import StateWriter
from gaib.state.backend import StateBackend
from gaib.state.model import Instance, Resource, State

REASON = "gaib apply"
DEFAULT_CONCURRENCY = 32


class _Deferred(Exception):
    def __init__(self, window: str) -> None:
        super().__init__(window)
        self.window = window


class Applier:
    """Runs one plan. ``concurrency`` bounds the requests in flight (1: strictly sequential);
    ``progress`` receives :class:`gaib.iac.progress.Tick` events, possibly from several threads."""

    def __init__(self, client: DiscordPort, backend: StateBackend, state: State | None, *, workspace: str,
                 clock: Callable[[], datetime], progress: Reporter = silent,
                 concurrency: int = DEFAULT_CONCURRENCY, journal: CreateJournal | None = None,
                 recovery: Recovery | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.client = client
        self.clock = clock
        self.progress = progress
        self.concurrency = concurrency
        stored = state.serial if state is not None else None
        self.writer = StateWriter(backend, copy.deepcopy(state) if state is not None else State.new(workspace),
                                  stored, clock)
        self.result = ApplyResult(serial=stored)
        self._lock = self.writer.lock
        self._capped: dict[str, float] = {}  # window -> seconds until it resets, when first seen
        self._deferred_addresses: set[str] = set()
        self._pool: interrupt.Workers | None = None
        self.journal = RunJournal(journal, recovery)

    @property
    def state(self) -> State:
        return self.writer.state

    # --- state -----------------------------------------------------------------------------------
    def _record(self, address: str, attrs: dict[str, Any]) -> None:
        """Put ``attrs`` at ``address`` (hold the lock)."""
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
                self.writer.changed()
                return
        self.state.resources.append(Resource(type=rtype, name=name, instances=[Instance(attributes=attrs)]))
        self.writer.changed()

    def _live(self, rid: str) -> bool:
        """Whether Discord had object ``rid`` when this run read the guild."""
        return rid in getattr(self, "roles", {}) or rid in getattr(self, "channels", {})

    def _drop_id(self, rid: str, keep: str | None) -> None:
        """Forget every resource holding Discord id ``rid``, except the one at address ``keep`` (hold the lock)."""
        kept = [r for r in self.state.resources if r.id != rid or r.address == keep]
        if len(kept) != len(self.state.resources):
            self.state.resources = kept
            self.writer.changed()

    def _commit(self) -> None:
        self.writer.commit()
        self.result.serial = self.writer.stored_serial

    def _fail(self, change: Change | str, exc: GaibError) -> None:
        address = change if isinstance(change, str) else change.address
        with self._lock:
            self.result.failed.append({"address": address, "code": exc.error_code, "message": exc.message})
        self.progress(Tick("failed", exc.message, address))

    def _defer(self, change: Change, window: str) -> None:
        seconds = self._capped.get(window, 0.0)
        verb, noun = L.WINDOW_NOUNS[window]
        text = f"waits for Discord's cap on {noun[:-1]} {verb} (resets in {L.duration(seconds)})"
        with self._lock:
            self._deferred_addresses.add(change.address)
            self.result.deferred.append({"address": change.address, "window": window})
        self.progress(Tick("deferred", text, change.address))

    def _done(self, address: str, sigil: str, rid: str) -> None:
        self.progress(Tick("done", f"{sigil} {address} ({rid})", address))

    # --- running ---------------------------------------------------------------------------------
    def _level(self, steps: list[Callable[[], None]]) -> None:
        """Run independent steps, concurrently when there is a pool; returns when all have ended."""
        if self._pool is None or len(steps) <= 1:
            for step in steps:
                step()
            return
        self._wait([self._pool.submit(step) for step in steps])

    def _wait(self, futures: list[Future[None]]) -> None:
        try:
            wait(futures)
        except KeyboardInterrupt:
            if self._pool is not None:
                self._pool.stop()  # waits end at once; answers on their way are recorded within the grace
            raise
        except BaseException:
            for f in futures:
                f.cancel()
            wait(futures)  # let requests in flight finish and be recorded
            raise
        for f in futures:
            f.result()  # re-raise the first unexpected error (state write failures and the like)

    def _guarded(self, change: Change, step: Callable[[Change], None]) -> Callable[[], None]:
        def run() -> None:
            window = change.window
            if window is not None and window in self._capped:
                self._defer(change, window)
                return
            try:
                step(change)
            except _Deferred as exc:
                self._defer(change, exc.window)
            except DiscordRateLimited as exc:
                capped = exc.details.get("window")
                if isinstance(capped, str) and capped in L.LONG_WINDOWS:
                    with self._lock:
                        self._capped.setdefault(capped, float(exc.details.get("retry_after") or 0.0))
                    self._defer(change, capped)
                else:
                    self._fail(change, exc)
            except DiscordError as exc:
                if isinstance(exc, DiscordUnavailable) and change.action in ("create", "replace"):
                    self.journal.lost(change.address)
                self._fail(change, exc)
        return run

    def run(self, plan: Plan, live: Guild) -> ApplyResult:
        self._guild_changed = self.state.guild_id != plan.guild_id
        self.state.guild_id = plan.guild_id
        self.guild_id = plan.guild_id
        self.roles: dict[str, Role] = {r.id: r for r in live.roles}
        self.channels: dict[str, Channel] = {c.id: c for c in live.channels}
        self.ids: dict[str, str] = dict(plan.existing)  # address -> id, grows with creates
        self.journal.after = highest_id(live)
        self._category_address = {d.name: a for a, d in plan.desired.items() if isinstance(d, DesiredCategory)}
        by_kind: dict[str, list[Change]] = {"role": [], "category": [], "channel": []}
        deletes: dict[str, list[Change]] = {"role": [], "category": [], "channel": []}
        for c in plan.changes:
            (deletes if c.action in ("delete", "forget") else by_kind)[c.kind].append(c)
        total = len(plan.changes) + int(plan.reorder_roles) + int(plan.reorder_channels)
        self.progress(Tick("start", total=total))
        self.client.on_wait(wait_reporter(self.progress))
        self._pool = (interrupt.Workers(self.concurrency, thread_name_prefix="gaib-apply")
                      if self.concurrency > 1 else None)
        try:
            self._run_levels(plan, by_kind, deletes)
        finally:
            self.client.on_wait(None)
            if self._pool is not None:
                if interrupt.interrupted():
                    self._pool.stop()
                else:
                    self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
        self._refresh(plan)
        self.journal.settle(self.state)
        raise_unless_complete(self.result, self._capped, self.clock)
        return self.result

    def _run_levels(self, plan: Plan, by_kind: dict[str, list[Change]], deletes: dict[str, list[Change]]) -> None:
        self.journal.intend(by_kind["role"])
        self._level([self._guarded(c, self._apply_role) for c in by_kind["role"]])
        self.role_id_by_name = {d.name: self.ids[a] for a, d in plan.desired.items()
                                if isinstance(d, DesiredRole) and a in self.ids}
        state_roles = {r.id for r in self.state.resources if r.type == addresses.ROLE and r.id}
        self.managed_roles = {self.guild_id} | state_roles | set(self.role_id_by_name.values())
        self.final_positions = layout.final_positions(plan)
        self.cat_id_by_name = self._category_ids(plan)
        follow: dict[str, list[Change]] = {getattr(c.desired, "name", ""): [] for c in by_kind["category"]}
        now: list[Change] = []  # channels of categories this run leaves alone go with the categories
        for c in by_kind["channel"]:
            follow.get(getattr(c.desired, "category", None) or "", now).append(c)
        self.journal.intend(by_kind["category"] + now, self._parent_id)
        followers: list[Future[None]] = []
        level2 = [self._then(self._guarded(c, self._apply_category), c, follow, followers)
                  for c in by_kind["category"]]
        if plan.reorder_roles:
            level2.insert(0, lambda: self._reorder_roles(plan))
        self._level(level2 + [self._guarded(c, self._apply_channel) for c in now])
        self._wait(followers)  # each was submitted by the time its category's step ended
        self.cat_id_by_name = self._category_ids(plan)
        if plan.reorder_channels:
            self._reorder_channels(plan)
        for kind in ("channel", "category", "role"):
            self._level([self._guarded(c, self._delete) for c in deletes[kind]])

    # --- roles -----------------------------------------------------------------------------------
    def _apply_role(self, c: Change) -> None:
        want = c.desired
        assert isinstance(want, DesiredRole)
        body = role_body(name=want.name, permissions=want.permissions, color=want.color, hoist=want.hoist,
                         mentionable=want.mentionable)
        if c.action == "create":
            role = self.client.create_role(body, reason=self.journal.reason(REASON, c.address), dedupe=True)
        else:
            assert c.id is not None
            role = self.client.update_role(c.id, body, reason=REASON) if c.fields else self.roles[c.id]
        with self._lock:
            (self.result.created if c.action == "create" else self.result.updated).append(c.address)
            if c.action != "create":
                self._drop_id(role.id, keep=c.address)
            self.roles[role.id] = role
            self.ids[c.address] = role.id
            self._record(c.address, role_attributes(role))
        self._commit()
        self._done(c.address, "+" if c.action == "create" else "~", role.id)

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
        with self._lock:
            self.roles = {r.id: r for r in roles}
            for addr in plan.role_order:
                rid = self.ids.get(addr)
                if rid in self.roles:
                    self._record(addr, role_attributes(self.roles[rid]))
            self.result.reordered.append("roles")
        self._commit()
        self.progress(Tick("done", "~ role positions", "role positions"))

    # --- channels --------------------------------------------------------------------------------
    def _overwrites(self, wanted: Any, existing: Channel | None) -> list[Any]:
        def target(name: str) -> str | None:
            return self.guild_id if name == EVERYONE else self.role_id_by_name.get(name)

        resolved, pending = desired_overwrites(wanted, target)
        for name in pending:
            self.progress(Tick("note", f"! overwrite for role {name!r} skipped: the role does not exist "
                                       "(re-run apply)"))
        have = existing.permission_overwrites if existing is not None else ()
        return merged_overwrites(resolved, have, self.managed_roles, self.guild_id)

    def _category_ids(self, plan: Plan) -> dict[str, str]:
        cats = plan.desired.items()
        return {d.name: self.ids[k] for k, d in cats if isinstance(d, DesiredCategory) and k in self.ids}

    def _parent_id(self, c: Change) -> str | None:
        return self.cat_id_by_name.get(getattr(c.desired, "category", None) or "")

    def _then(self, step: Callable[[], None], c: Change, follow: dict[str, list[Change]],
              followers: list[Future[None]]) -> Callable[[], None]:
        """Category ``c``'s ``step``, then its channels (journaled once it has an id; else deferred or skipped)."""
        def run() -> None:
            step()
            name = getattr(c.desired, "name", "")
            if c.address in self.ids:
                self.cat_id_by_name[name] = self.ids[c.address]
                self.journal.intend(follow[name], self._parent_id)
            steps = [self._guarded(ch, self._apply_channel) for ch in follow[name]]
            if self._pool is None:
                return self._level(steps)
            interrupt.check()  # no new work once interrupted (the pool is being stopped)
            futures = [self._pool.submit(each) for each in steps]
            with self._lock:
                followers.extend(futures)
        return run

    def _apply_category(self, c: Change) -> None:
        want = c.desired
        assert isinstance(want, DesiredCategory)
        if c.action == "create":
            body = channel_body(name=want.name, type=ChannelType.CATEGORY, position=self.final_positions.get(c.address),
                                permission_overwrites=self._overwrites(want.overwrites, None))
            ch = self.client.create_channel(body, reason=self.journal.reason(REASON, c.address), dedupe=True)
        else:
            assert c.id is not None
            current = self.channels[c.id]
            changed = {f.field for f in c.fields}
            if changed:
                fields: dict[str, Any] = {}
                if "name" in changed:
                    fields["name"] = want.name
                if "permission_overwrites" in changed:
                    fields["permission_overwrites"] = self._overwrites(want.overwrites, current)
                ch = self.client.update_channel(c.id, channel_body(**fields), reason=REASON) if fields else current
            else:
                ch = current
        self._remember_channel(c, ch)

    def _apply_channel(self, c: Change) -> None:
        want = c.desired
        assert isinstance(want, DesiredChannel)
        parent: str | None = None
        if want.category is not None:
            parent = self.cat_id_by_name.get(want.category)
            if parent is None:
                if self._category_address.get(want.category) in self._deferred_addresses:
                    raise _Deferred("channel_creates")
                self._fail(c, DiscordError(f"its category {want.category!r} could not be created; skipped.",
                                           code="DEPENDENCY_FAILED"))
                return
        voice = want.type in VOICE_LIKE
        if c.action == "replace":
            assert c.id is not None
            self.client.delete_channel(c.id, reason=REASON)
            with self._lock:
                self.channels.pop(c.id, None)
                self._drop_id(c.id, keep=None)  # the old object may have been held under another address
            self._commit()
        if c.action in ("create", "replace"):
            body = channel_body(
                name=want.name, type=want.type, parent_id=parent, position=self.final_positions.get(c.address),
                topic=want.topic if not voice else None, nsfw=want.nsfw or None,
                rate_limit_per_user=want.slowmode or None,
                bitrate=want.bitrate if voice else None, user_limit=want.user_limit if voice else None,
                permission_overwrites=self._overwrites(want.overwrites, None))
            if voice:
                body.pop("topic", None)
            ch = self.client.create_channel(body, reason=self.journal.reason(REASON, c.address), dedupe=True)
        else:
            assert c.id is not None
            current = self.channels[c.id]
            fields = self._channel_update(c, want, current, parent, voice)
            ch = self.client.update_channel(c.id, channel_body(**fields), reason=REASON) if fields else current
        self._remember_channel(c, ch)

    def _channel_update(self, c: Change, want: DesiredChannel, current: Channel, parent: str | None,
                        voice: bool) -> dict[str, Any]:
        """Only what differs: a name or topic that did not change is never sent (each one counts
        against the channel's 2-per-10-minutes name/topic limit)."""
        changed = {f.field for f in c.fields}
        fields: dict[str, Any] = {}
        if "name" in changed:
            fields["name"] = want.name
        if "nsfw" in changed:
            fields["nsfw"] = want.nsfw
        if "slowmode" in changed:
            fields["rate_limit_per_user"] = want.slowmode
        if "permission_overwrites" in changed:
            fields["permission_overwrites"] = self._overwrites(want.overwrites, current)
        if want.type != current.type and {want.type, current.type} <= PATCHABLE_TYPES:
            fields["type"] = want.type
        if parent != current.parent_id:
            fields["parent_id"] = parent
        if voice:
            if "bitrate" in changed and want.bitrate is not None:
                fields["bitrate"] = want.bitrate
            if "user_limit" in changed and want.user_limit is not None:
                fields["user_limit"] = want.user_limit
        elif "topic" in changed:
            fields["topic"] = want.topic or None
        return fields

    def _remember_channel(self, c: Change, ch: Channel) -> None:
        created = c.action in ("create", "replace")
        with self._lock:
            (self.result.created if created else self.result.updated).append(c.address)
            if not created:
                self._drop_id(ch.id, keep=c.address)
            self.channels[ch.id] = ch
            self.ids[c.address] = ch.id
            self._record(c.address, channel_attributes(ch))
        self._commit()
        self._done(c.address, "+" if created else "~", ch.id)

    def _reorder_channels(self, plan: Plan) -> None:
        desired = DesiredServer(
            name=None,
            roles=(),
            categories=tuple(plan.desired[a] for a in plan.category_order),  # type: ignore[misc]
            channels=tuple(plan.desired[a] for a in plan.channel_order),  # type: ignore[misc]
        )
        live = Guild(id=self.guild_id, name="", roles=(), channels=tuple(self.channels.values()))
        groups, _ = desired_channel_groups(desired, plan.channel_order, plan.category_order, self.ids, live)
        moves = layout.channel_positions(groups, list(self.channels.values()))
        if not moves:  # the creates carried their positions: nothing to send
            self.progress(Tick("done", "= channel positions (already in place)", "channel positions"))
            return
        try:
            self.client.reorder_channels([{"id": cid, "position": pos} for cid, pos in moves], reason=REASON)
        except DiscordError as exc:
            self._fail("channel positions", exc)
            return
        with self._lock:
            for cid, pos in moves:
                ch = self.channels[cid]
                self.channels[cid] = Channel(**{**ch.__dict__, "position": pos})
            by_id = {rid: a for a, rid in self.ids.items()}
            for cid, _pos in moves:
                if cid in by_id:
                    self._record(by_id[cid], channel_attributes(self.channels[cid]))
            self.result.reordered.append("channels")
        self._commit()
        self.progress(Tick("done", "~ channel positions", "channel positions"))

    # --- deletes and refresh ---------------------------------------------------------------------
    def _delete(self, c: Change) -> None:
        gone = False
        if c.action == "delete" and c.id is not None:
            try:
                if c.kind == "role":
                    self.client.delete_role(c.id, reason=REASON)
                else:
                    self.client.delete_channel(c.id, reason=REASON)
                gone = True
            except DiscordNotFound:
                pass
        with self._lock:
            (self.result.deleted if gone else self.result.forgotten).append(c.address)
            # By id: a config item may have taken over this address during the run (a rename whose slug
            # equals a removed item's), and that resource must stay.
            if c.id is not None:
                self._drop_id(c.id, keep=None)
            else:
                self.state.resources = [r for r in self.state.resources if r.address != c.address or r.id]
            self.writer.changed()
        self._commit()
        self.progress(Tick("done", f"- {c.address}" + (f" ({c.id})" if gone else " (forgotten)"), c.address))

    def _refresh(self, plan: Plan) -> None:
        """Bring unchanged resources' attributes up to date; one write, only if anything differs."""
        changed = False
        if plan.existing:  # an apply to an empty guild has nothing to refresh (and no state to copy)
            before = copy.deepcopy(self.state)
            with self._lock:
                for addr, rid in plan.existing.items():
                    if addr in self.result.updated:
                        continue
                    if addr.startswith(addresses.ROLE) and rid in self.roles:
                        self._record(addr, role_attributes(self.roles[rid]))
                    elif rid in self.channels:
                        self._record(addr, channel_attributes(self.channels[rid]))
            changed = not before.content_equal(self.state)
        # The steps stored the state (with the guild's id, set first): a new or re-bound state is written
        # here only when none did; otherwise only what a failed step changed and did not store.
        unwritten = self.writer.writes == 0 and (self.writer.stored_serial is None or self._guild_changed)
        self.writer.commit(force=changed or unwritten)
        self.result.serial = self.writer.stored_serial
