"""Crash-safe creates: a write-ahead journal of the roles, categories and channels a run creates.

``apply``, ``snapshot restore --apply`` and ``theme rollback`` record every object in the state as soon
as Discord answers its create; a run killed (or cut off) between the create and that state write used to
leave an object no state knows, and the next run created it again. So, before a level of creates is sent
(:class:`gaib.iac.apply.Applier`), :meth:`CreateJournal.intend` stores one journal object listing each
create: the state address, the kind, the name as Discord shows it, the channel type and parent, the
highest id the run had seen in the guild (anything it creates gets a higher one) and a marker that also
goes, in brackets, into the create's ``X-Audit-Log-Reason``. The journal lives in the object store with
the backups (:func:`gaib.storage.keys.create_journal_key`), written once per object (temp file, fsync and
rename locally; one PUT on S3), so any process on any host working on the workspace finds it.

Before planning, every run (``plan`` and dry runs too, read-only) calls :func:`recover`: for each entry
whose address the state does not hold with a live object, it looks for the object that create made —
the target of the audit-log entry whose reason carries the marker (when the bot may read the audit log
and the pages reached back to the entry), else a live object of the same kind, name, type and parent,
newer than the entry's highest id and held by no state resource (the oldest, if several). A found object
is put at the entry's address in the state the plan starts from and the plan shows it as
``adopt … (created by an interrupted run)``; the applier records it as it records any adopted object.
A create that never reached Discord finds nothing and is simply planned again.

:meth:`CreateJournal.settle` removes what is settled once the run's state is stored: entries adopted
(their object is in the state), entries that found nothing, and the run's own creates that Discord
answered or refused. Creates whose answer was lost stay for the next run, as does everything when the
run is killed. Only writing a level's entries may fail a run (StorageError, before anything of that level
is sent); a journal that cannot be read back is ignored (the plan then adopts by name only, as before),
and one that cannot be cleared waits for the next run.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from gaib.discord.models import (
    AUDIT_CHANNEL_CREATE,
    AUDIT_ROLE_CREATE,
    ChannelType,
    Guild,
    discord_channel_name,
)
from gaib.discord.port import DiscordPort
from gaib.errors import DiscordError, GaibError
from gaib.iac import addresses
from gaib.iac.attributes import channel_attributes, role_attributes
from gaib.iac.plan import Change, Kind, Plan
from gaib.ports import Ports
from gaib.state.model import Instance, Resource, State
from gaib.storage.base import ObjectStore
from gaib.storage.keys import create_journal_key, create_journal_prefix, new_id

FORMAT = 1
AUDIT_PAGES = 10
"""How many audit-log pages (100 entries each) :func:`recover` reads per action type at most."""
INTERRUPTED = "created by an interrupted run"
_TYPES: dict[str, str] = {"role": addresses.ROLE, "category": addresses.CATEGORY, "channel": addresses.CHANNEL}


@dataclass(frozen=True)
class Intent:
    """One create a run was about to send (see the module docstring for each field)."""

    address: str
    kind: Kind
    name: str
    marker: str
    after: str = "0"
    type: int | None = None
    parent_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "kind": self.kind, "name": self.name, "marker": self.marker,
                "after": self.after, "type": self.type, "parent_id": self.parent_id}

    @classmethod
    def from_json(cls, data: Any) -> Intent:
        if not isinstance(data, dict) or data.get("kind") not in _TYPES:
            raise ValueError("not a journal entry")
        ctype, parent = data.get("type"), data.get("parent_id")
        return cls(address=str(data["address"]), kind=data["kind"], name=str(data["name"]),
                   marker=str(data["marker"]), after=str(int(data.get("after") or 0)),
                   type=int(ctype) if isinstance(ctype, int) and not isinstance(ctype, bool) else None,
                   parent_id=str(parent) if parent else None)


def highest_id(live: Guild) -> str:
    """The highest snowflake among the guild's roles and channels (what every later create exceeds)."""
    ids = [r.id for r in live.roles] + [c.id for c in live.channels]
    return str(max((int(i) for i in ids if i.isdigit()), default=0))


class CreateJournal:
    """The journal of one workspace of one server, as one run sees it (``run`` is this run's id)."""

    def __init__(self, store: ObjectStore, server_id: str, workspace: str, clock: Callable[[], datetime], *,
                 operation: str) -> None:
        self.store = store
        self.server_id = server_id
        self.workspace = workspace
        self.operation = operation
        self.clock = clock
        self.run = new_id(clock())
        self.prefix = create_journal_prefix(server_id, workspace)
        self._lock = threading.Lock()
        self._count = 0
        self._written: dict[str, list[Intent]] = {}
        self._read: dict[str, list[Intent]] = {}

    # --- this run's creates ------------------------------------------------------------------------
    def marker(self) -> str:
        """A fresh marker for one create of this run."""
        with self._lock:
            self._count += 1
            return f"{self.run}.{self._count}"

    @staticmethod
    def reason(base: str, marker: str) -> str:
        """The audit-log reason of a journaled create: ``base`` with the marker in brackets."""
        return f"{base} [{marker}]"

    def intend(self, intents: Sequence[Intent]) -> None:
        """Store ``intents`` before any of them is sent (one object; StorageError passes through, and
        then nothing is sent)."""
        if not intents:
            return
        with self._lock:
            key = create_journal_key(self.server_id, self.workspace, self.run, len(self._written) + 1)
            self._written[key] = list(intents)
        doc = {"format": FORMAT, "run": self.run, "operation": self.operation,
               "written_at": self.clock().isoformat().replace("+00:00", "Z"),
               "entries": [i.to_json() for i in intents]}
        self.store.put(key, json.dumps(doc, sort_keys=True).encode("utf-8"), content_type="application/json")

    # --- earlier runs ------------------------------------------------------------------------------
    def pending(self) -> list[Intent]:
        """Every entry earlier runs left (read once per run; unreadable objects are skipped)."""
        found: dict[str, list[Intent]] = {}
        try:
            infos = list(self.store.list(self.prefix))
        except GaibError:
            return []
        for info in infos:
            if info.key in self._written:
                continue
            try:
                doc = json.loads(self.store.get(info.key))
                found[info.key] = [Intent.from_json(e) for e in doc["entries"]]
            except (GaibError, ValueError, KeyError, TypeError):
                continue
        self._read = found
        return [i for entries in found.values() for i in entries]

    def settle(self, done: Callable[[Intent], bool]) -> None:
        """Remove the entries ``done`` says are settled, from the objects this run read or wrote: an object
        whose entries are all settled is deleted, one with entries left is replaced by a new object
        holding only those. Storage errors are ignored (the entries then wait for the next run)."""
        for key, entries in [*self._read.items(), *self._written.items()]:
            left = [i for i in entries if not done(i)]
            if len(left) == len(entries):
                continue
            try:
                if left:
                    rest = create_journal_key(self.server_id, self.workspace, self.run, 1000 + self._count)
                    self._count += 1
                    doc = {"format": FORMAT, "run": self.run, "operation": self.operation,
                           "written_at": self.clock().isoformat().replace("+00:00", "Z"),
                           "entries": [i.to_json() for i in left]}
                    self.store.put(rest, json.dumps(doc, sort_keys=True).encode("utf-8"),
                                   content_type="application/json")
                self.store.delete(key)
            except GaibError:
                continue
        self._read, self._written = {}, {}


def journal_for(ports: Ports, server_id: str, operation: str, *, reading: bool = False) -> CreateJournal | None:
    """The journal of the run's workspace on ``server_id``. ``reading`` (a plan that writes nothing):
    None when the backup store cannot be reached, so a plan works as before without it."""
    try:
        return CreateJournal(ports.store, server_id, ports.settings.workspace, ports.clock, operation=operation)
    except GaibError:
        if reading:
            return None
        raise


# --- recovery ----------------------------------------------------------------------------------------


@dataclass
class Recovery:
    """What :func:`recover` found: the state to plan from, the addresses adopted (address → id), and the
    markers settled at recovery (adopted, already in the state, or never created)."""

    state: State | None
    adopted: dict[str, str] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)

    def done(self, state: State | None) -> Callable[[Intent], bool]:
        """Settled-ness of earlier runs' entries once ``state`` is stored: adopted ones must be in it."""
        def check(intent: Intent) -> bool:
            if intent.address in self.adopted:
                held = state.find(intent.address) if state is not None else None
                return held is not None and held.id == self.adopted[intent.address]
            return intent.marker in self.settled
        return check


def _audit_targets(port: DiscordPort, action: int, oldest: int) -> tuple[dict[str, str], bool]:
    """Marker → target id from the audit log's entries of ``action`` newer than ``oldest``; and whether
    the pages reached that far (False also when the log cannot be read)."""
    found: dict[str, str] = {}
    before: str | None = None
    try:
        for _ in range(AUDIT_PAGES):
            page = port.audit_log(action, limit=100, before=before)
            for entry in page:
                reason = entry.reason or ""
                if "[" in reason and reason.endswith("]") and entry.target_id:
                    found.setdefault(reason[reason.rindex("[") + 1:-1], entry.target_id)
            if len(page) < 100 or int(page[-1].id) <= oldest:
                return found, True
            before = page[-1].id
    except DiscordError:
        return found, False
    return found, False


def recover(journal: CreateJournal | None, port: DiscordPort, state: State | None, live: Guild) -> Recovery:
    """The state to plan from, with the objects interrupted runs created put back at their addresses
    (see the module docstring). Reads the journal and maybe the audit log; writes nothing."""
    done = Recovery(state)
    if journal is None or state is None:
        return done
    entries = journal.pending()
    if not entries:
        return done
    roles = {r.id: r for r in live.roles if r.id != live.id and not r.managed}
    channels = {c.id: c for c in live.channels}
    claimed = {r.id for r in state.resources if r.id}
    open_entries = []
    for intent in entries:
        held = state.find(intent.address)
        if held is not None and held.id in (roles.keys() | channels.keys()):
            done.settled.add(intent.marker)  # recorded by the run that made it (or taken by another object)
        else:
            open_entries.append(intent)
    if not open_entries:
        return done
    audits: dict[int, tuple[dict[str, str], bool]] = {}
    for action in {AUDIT_ROLE_CREATE if i.kind == "role" else AUDIT_CHANNEL_CREATE for i in open_entries}:
        oldest = min(int(i.after) for i in open_entries
                     if (i.kind == "role") == (action == AUDIT_ROLE_CREATE))
        audits[action] = _audit_targets(port, action, oldest)
    new_state = copy.deepcopy(state)
    for intent in open_entries:  # in the order they were journaled
        targets, complete = audits[AUDIT_ROLE_CREATE if intent.kind == "role" else AUDIT_CHANNEL_CREATE]
        pool: dict[str, Any] = roles if intent.kind == "role" else channels
        found: Any = None
        target = targets.get(intent.marker)
        if target is not None and target in pool and target not in claimed and _fits(intent, pool[target]):
            found = pool[target]
        elif target is None and not complete:
            found = _match(intent, pool, claimed)
        if found is None:
            done.settled.add(intent.marker)  # never created, or gone since: planned as usual
            continue
        claimed.add(found.id)
        attrs = role_attributes(found) if intent.kind == "role" else channel_attributes(found)
        _put(new_state, intent.address, attrs)
        done.adopted[intent.address] = found.id
    if done.adopted:
        done.state = new_state
    return done


def _fits(intent: Intent, obj: Any) -> bool:
    if intent.kind == "role":
        return True
    is_category: bool = obj.type == ChannelType.CATEGORY
    return is_category == (intent.kind == "category")


def _match(intent: Intent, pool: dict[str, Any], claimed: set[str]) -> Any:
    """The oldest live object the entry's create could have made (see the module docstring)."""
    fits = []
    for obj in pool.values():
        if obj.id in claimed or not obj.id.isdigit() or int(obj.id) <= int(intent.after) or not _fits(intent, obj):
            continue
        if obj.name.casefold() != intent.name.casefold():
            continue
        if intent.kind != "role" and (int(obj.type) != intent.type
                                      or (obj.parent_id or None) != (intent.parent_id or None)):
            continue
        fits.append(obj)
    return min(fits, key=lambda o: int(o.id)) if fits else None


def _put(state: State, address: str, attrs: dict[str, Any]) -> None:
    rtype, name = address.split(".", 1)
    for res in state.resources:
        if res.address == address:
            res.instances = [Instance(attributes=attrs)]
            return
    state.resources.append(Resource(type=rtype, name=name, instances=[Instance(attributes=attrs)]))


def intent_for(change: Change, marker: str, *, after: str, parent_id: str | None = None) -> Intent:
    """The journal entry of a create ``change`` (the name as Discord will show it)."""
    desired = change.desired
    ctype = getattr(desired, "type", None)
    if change.kind == "category":
        ctype = ChannelType.CATEGORY
    name = discord_channel_name(ctype, change.name) if ctype is not None and change.kind == "channel" else change.name
    return Intent(address=change.address, kind=change.kind, name=name, marker=marker, after=after,
                  type=int(ctype) if ctype is not None else None, parent_id=parent_id)


def mark_adopted(plan: Plan, adopted: dict[str, str]) -> Plan:
    """``plan`` with each adopted address shown as ``adopt`` of an object an interrupted run created
    (an update of it becomes that adopt; one with nothing to change is added)."""
    if not adopted:
        return plan
    seen: set[str] = set()
    changes: list[Change] = []
    for c in plan.changes:
        if c.address in adopted and c.action in ("update", "adopt") and c.id == adopted[c.address]:
            changes.append(Change("adopt", c.kind, c.address, c.name, c.id, c.fields, c.desired, origin=INTERRUPTED))
            seen.add(c.address)
        else:
            changes.append(c)
    extra = [Change("adopt", _kind(a), a, _name(plan, a), rid, (), plan.desired.get(a), origin=INTERRUPTED)
             for a, rid in adopted.items() if a not in seen and plan.existing.get(a) == rid]
    return replace(plan, changes=tuple(extra + changes))


def _kind(address: str) -> Kind:
    rtype = address.split(".", 1)[0]
    return "role" if rtype == addresses.ROLE else "category" if rtype == addresses.CATEGORY else "channel"


def _name(plan: Plan, address: str) -> str:
    desired = plan.desired.get(address)
    return desired.name if desired is not None else address.split(".", 1)[1]


class RunJournal:
    """One applier run's side of the journal (does nothing without a journal): :meth:`intend` journals a
    level's creates before they are sent, :meth:`reason` gives a create's audit-log reason with its
    marker, :meth:`lost` notes a create whose answer was lost, :meth:`settle` clears what is settled.
    Safe to call from the applier's threads."""

    def __init__(self, journal: CreateJournal | None, recovery: Recovery | None = None) -> None:
        self.journal = journal
        self.recovery = recovery
        self.after = "0"  # the highest id the run saw in the guild
        self._markers: dict[str, str] = {}
        self._lost: set[str] = set()
        self._lock = threading.Lock()

    def intend(self, changes: Iterable[Change], parent_of: Callable[[Change], str | None] = lambda _c: None) -> None:
        if self.journal is None:
            return
        intents = []
        for c in changes:
            if c.action in ("create", "replace"):
                marker = self.journal.marker()
                self._markers[c.address] = marker
                intents.append(intent_for(c, marker, after=self.after, parent_id=parent_of(c)))
        self.journal.intend(intents)

    def reason(self, base: str, address: str) -> str:
        marker = self._markers.get(address)
        return CreateJournal.reason(base, marker) if marker is not None else base

    def lost(self, address: str) -> None:
        with self._lock:
            self._lost.add(address)

    def settle(self, state: State) -> None:
        """Once ``state`` is stored: this run's entries are settled unless their answer was lost, earlier
        runs' as :meth:`Recovery.done` says."""
        if self.journal is None:
            return
        earlier = self.recovery.done(state) if self.recovery is not None else (lambda _i: False)
        mine = set(self._markers.values())

        def done(intent: Intent) -> bool:
            return intent.address not in self._lost if intent.marker in mine else earlier(intent)

        self.journal.settle(done)
