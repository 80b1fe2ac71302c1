"""The ``members`` part of a snapshot: which member holds which role, and nicknames; and its restore.

Part ``members`` (``members.json.gz``)::

    {"format_version": 1, "available": true, "members": [
        {"id", "username", "roles": [role ids], "role_names": [names], "nick", "bot"}]}

Listing members needs the GUILD_MEMBERS privileged intent. Without it Discord answers 403 with code 50001:
the part is then recorded as unavailable (``"available": false``, ``"reason"``, ``"hint"`` on enabling the
Server Members intent, no members), the manifest's ``extra.members`` says so, and the snapshot succeeds.

Restore (:func:`plan_members`, pure; :func:`restore_members` against Discord): every member the snapshot
holds who is still in the server gets back the roles they held, remapped from snapshot-time role ids to
the ids re-created roles have now, and their nickname; one PATCH per member that needs it, carrying the
whole role list. Roles a member gained since are kept unless ``exact`` (``--exact-members``). Members who
left are listed, not a failure. A role the bot cannot assign — at or above the bot's highest role, or
managed by an integration — is named and left out; a role that is gone and not re-created is named too.
Discord's global limit (50 requests a second per bot, :data:`gaib.discord.limits.GLOBAL`) bounds the
time: 10,000 member edits take at least 200 s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gaib.bundles.manifest import Manifest
from gaib.bundles.repository import BundleRepository
from gaib.discord import limits as L
from gaib.discord.community import Member
from gaib.discord.models import Guild, Role
from gaib.discord.port import DiscordPort
from gaib.errors import DiscordNotFound, DiscordPermissionError, GaibError, IntegrityError
from gaib.iac.progress import Reporter, Tick
from gaib.interrupt import Workers
from gaib.snapshots.capture import Captured
from gaib.snapshots.parts import FORMAT_VERSION, dumps

PART = "members"
INTENT_HINT = ("Enable the Server Members Intent in the Discord developer portal (your application, Bot, "
               "Privileged Gateway Intents), then take a new snapshot.")
READ_ROUTE = "GET /guilds/{guild_id}/members"
EDIT_ROUTE = "PATCH /guilds/{guild_id}/members/{user_id}"


def intent_missing(exc: GaibError) -> bool:
    """Whether Discord refused the member list for want of the GUILD_MEMBERS intent (403, code 50001)."""
    return isinstance(exc, DiscordPermissionError) and exc.details.get("discord_code") == L.MISSING_ACCESS


# --- capture --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapturedMembers:
    part: bytes
    count: int
    extra: dict[str, Any]


def capture_members(port: DiscordPort, guild: Guild) -> CapturedMembers:
    """Read every member (1000 a request) into the part; unavailable (no failure) without the intent."""
    try:
        members = port.list_members()
    except DiscordPermissionError as exc:
        if not intent_missing(exc):
            raise
        doc = {"format_version": FORMAT_VERSION, "available": False, "reason": "Discord refused to list the "
               "server's members (403 Missing Access, code 50001): the bot lacks the Server Members intent.",
               "hint": INTENT_HINT, "members": []}
        return CapturedMembers(dumps(doc), 0, {"available": False, "count": 0, "hint": INTENT_HINT})
    names = {r.id: r.name for r in guild.roles}
    items = [{"id": m.user_id, "username": m.username, "roles": list(m.roles),
              "role_names": [names.get(r, r) for r in m.roles], "nick": m.nick, "bot": m.bot} for m in members]
    doc = {"format_version": FORMAT_VERSION, "available": True, "members": items}
    return CapturedMembers(dumps(doc), len(items), {"available": True, "count": len(items)})


def add_to(captured: Captured, port: DiscordPort, guild: Guild) -> None:
    """Add the members part to what a snapshot captured (part, ``counts.members``, ``extra.members``)."""
    people = capture_members(port, guild)
    captured.parts[PART] = people.part
    captured.counts["members"] = people.count
    captured.extra["members"] = people.extra


# --- reading back ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedMembers:
    """The members part, decoded: ``available`` False when the snapshot could not list members."""

    available: bool
    members: tuple[dict[str, Any], ...] = ()
    hint: str | None = None

    def role_names(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for m in self.members:
            for rid, name in zip(m.get("roles") or (), m.get("role_names") or (), strict=False):
                out[str(rid)] = str(name)
        return out


def load_members(repo: BundleRepository, manifest: Manifest) -> SavedMembers | None:
    """The snapshot's members part, verified and decoded; None for a snapshot taken before it existed.
    IntegrityError (exit 3) when it is damaged."""
    if PART not in manifest.parts:
        return None

    def damaged(why: str) -> IntegrityError:
        return IntegrityError(f"Snapshot {manifest.id}: part {PART} is damaged ({why}).", details={"part": PART})

    try:
        doc = json.loads(repo.read_part(manifest, PART))
    except ValueError:
        raise damaged("not JSON") from None
    if not isinstance(doc, dict) or doc.get("format_version") != FORMAT_VERSION:
        raise damaged(f"not a version-{FORMAT_VERSION} members document")
    items = doc.get("members")
    if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("id"), str) and isinstance(i.get("roles"), list)
            for i in items):
        raise damaged("'members' is not a list of members")
    hint = doc.get("hint")
    return SavedMembers(available=doc.get("available") is not False, members=tuple(items),
                        hint=hint if isinstance(hint, str) else None)


# --- planning -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberEdit:
    """One member's PATCH: the whole role list (None: unchanged) and the nickname (``set_nick``)."""

    user_id: str
    username: str
    roles: tuple[str, ...] | None = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    set_nick: bool = False
    nick: str | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.roles is not None:
            out["roles"] = list(self.roles)
        if self.set_nick:
            out["nick"] = self.nick
        return out


@dataclass(frozen=True)
class MembersPlan:
    """What a restore does to members. ``available`` False: the snapshot or the live server could not
    list members (``hint`` says how to enable the intent); nothing is changed then."""

    available: bool = True
    edits: tuple[MemberEdit, ...] = ()
    left: tuple[str, ...] = ()
    unassignable: tuple[str, ...] = ()
    gone_roles: tuple[str, ...] = ()
    exact: bool = False
    hint: str | None = None
    reads: int = 0

    @property
    def empty(self) -> bool:
        return not self.edits

    def requests(self) -> dict[str, int]:
        out = {READ_ROUTE: self.reads} if self.reads else {}
        if self.edits:
            out[EDIT_ROUTE] = len(self.edits)
        return out

    def time_floor(self) -> float:
        """Seconds the edits take at least at Discord's global limit (50 a second per bot)."""
        return len(self.edits) * L.GLOBAL.seconds / L.GLOBAL.limit

    def warnings(self) -> list[str]:
        out = []
        if not self.available and self.hint:
            out.append(f"Members' roles and nicknames are not restored: {self.hint}")
        if self.unassignable:
            out.append("The bot cannot assign " + ", ".join(f"@{n}" for n in self.unassignable[:10])
                       + " (at or above the bot's highest role, or managed by an integration); move the bot's role "
                         "above them and run the restore again.")
        if self.gone_roles:
            out.append("Members held roles that are gone and not restored: "
                       + ", ".join(f"@{n}" for n in self.gone_roles[:10]) + ".")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"available": self.available, "hint": self.hint, "exact": self.exact, "change": len(self.edits),
                "roles_given": sum(len(e.added) for e in self.edits),
                "roles_removed": sum(len(e.removed) for e in self.edits),
                "nicknames": sum(1 for e in self.edits if e.set_nick),
                "left": list(self.left), "unassignable": list(self.unassignable),
                "gone_roles": list(self.gone_roles), "requests": self.requests(),
                "time_floor_seconds": round(self.time_floor(), 1)}


def bot_top(members: Iterable[Member], roles: Sequence[Role], bot_id: str | None) -> int | None:
    """The position of the bot's highest role; None when the bot is not among ``members`` (nothing is
    known to be above it)."""
    by_id = {r.id: r for r in roles}
    for m in members:
        if m.user_id == bot_id:
            return max((by_id[r].position for r in m.roles if r in by_id), default=0)
    return None


def plan_members(saved: SavedMembers, live: Sequence[Member], roles: Sequence[Role], *, ids: Mapping[str, str],
                 top: int | None, exact: bool, pending: Iterable[str] = ()) -> MembersPlan:
    """What gives every member still in the server their snapshot roles and nickname (module docstring).

    ``ids`` maps snapshot-time role ids to re-created ones; ``pending`` lists snapshot-time ids of roles
    the restore is about to re-create (a dry run's prediction: counted under their old id); ``top`` is the
    bot's highest role position (None: unknown, nothing is held back)."""
    if not saved.available:
        return MembersPlan(available=False, hint=saved.hint or INTENT_HINT, exact=exact)
    by_role = {r.id: r for r in roles}
    soon = set(pending)
    names = saved.role_names()
    now_by_id = {m.user_id: m for m in live}

    def assignable(role: Role) -> bool:
        return not role.managed and (top is None or role.position < top)

    edits: list[MemberEdit] = []
    left: list[str] = []
    unassignable: dict[str, str] = {}
    gone: dict[str, str] = {}
    for entry in saved.members:
        uid = str(entry["id"])
        current = now_by_id.get(uid)
        if current is None:
            left.append(f"{entry.get('username') or uid} ({uid})")
            continue
        want: set[str] = set()
        for old in (str(r) for r in entry.get("roles") or ()):
            rid = ids.get(old, old)
            role = by_role.get(rid)
            if role is None:
                if old in soon:
                    want.add(rid)
                else:
                    gone[old] = names.get(old, old)
            elif assignable(role):
                want.add(rid)
            elif rid not in current.roles:
                unassignable[rid] = role.name
        held = set(current.roles)
        kept = {r for r in held if r in by_role and not assignable(by_role[r])}
        target = (want | kept) if exact else (held | want)
        saved_nick = entry.get("nick") if isinstance(entry.get("nick"), str) else None
        set_nick = saved_nick != current.nick and (saved_nick is not None or exact)
        if target != held or set_nick:
            edits.append(MemberEdit(uid, str(entry.get("username") or uid),
                                    roles=tuple(sorted(target, key=int)) if target != held else None,
                                    added=tuple(sorted(target - held, key=int)),
                                    removed=tuple(sorted(held - target, key=int)), set_nick=set_nick, nick=saved_nick))
    reads = len(live) // L.MEMBER_PAGE + 1
    return MembersPlan(edits=tuple(edits), left=tuple(left), unassignable=tuple(sorted(set(unassignable.values()))),
                       gone_roles=tuple(sorted(set(gone.values()))), exact=exact, reads=reads)


def read_live(port: DiscordPort, guild: Guild) -> tuple[list[Member], int | None] | None:
    """The live members and the bot's highest role position; None without the GUILD_MEMBERS intent."""
    try:
        live = port.list_members()
    except DiscordPermissionError as exc:
        if intent_missing(exc):
            return None
        raise
    return live, bot_top(live, guild.roles, port.bot_user_id())


def plan_live(port: DiscordPort, saved: SavedMembers, guild: Guild, *, ids: Mapping[str, str], exact: bool,
              pending: Iterable[str] = ()) -> MembersPlan:
    """:func:`plan_members` against the live server (members read 1000 a request)."""
    if not saved.available:
        return plan_members(saved, (), (), ids=ids, top=None, exact=exact)
    read = read_live(port, guild)
    if read is None:
        return MembersPlan(available=False, hint=INTENT_HINT.replace("take a new snapshot", "run the restore again"),
                           exact=exact)
    live, top = read
    return plan_members(saved, live, guild.roles, ids=ids, top=top, exact=exact, pending=pending)


# --- applying -------------------------------------------------------------------------------------------


@dataclass
class MembersResult:
    changed: int = 0
    left: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    plan: MembersPlan | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"changed": self.changed, "left": self.left, "failed": self.failed,
                "plan": self.plan.to_dict() if self.plan is not None else None}


def execute_members(port: DiscordPort, plan: MembersPlan, *, progress: Reporter, reason: str,
                    concurrency: int) -> MembersResult:
    """Send each edit (side by side; the client keeps to the global limit). A member who left since the
    plan is listed as left; any other refusal is listed in ``failed``. Never raises for one member."""
    result = MembersResult(left=list(plan.left), plan=plan)

    def one(edit: MemberEdit) -> Callable[[], None]:
        def run() -> None:
            port.edit_member(edit.user_id, edit.body(), reason=reason)
        return run

    with Workers(max_workers=max(1, min(concurrency, 16)), thread_name_prefix="gaib-members") as pool:
        futures = [(e, pool.submit(one(e))) for e in plan.edits]
        for edit, future in futures:
            who = f"member {edit.username} ({edit.user_id})"
            try:
                future.result()
            except DiscordNotFound:
                result.left.append(f"{edit.username} ({edit.user_id})")
            except GaibError as exc:
                result.failed.append({"what": who, "code": exc.error_code, "message": exc.message})
                progress(Tick("failed", exc.message, address=who))
            else:
                result.changed += 1
    if result.changed:
        progress(Tick("done", f"roles and nicknames of {result.changed} members"))
    return result


def restore_members(port: DiscordPort, saved: SavedMembers, *, ids: Mapping[str, str], exact: bool,
                    progress: Reporter, reason: str, concurrency: int) -> MembersResult:
    """Re-read the live server (roles as they are now, after the restore re-created them) and give the
    members back their roles and nicknames."""
    plan = plan_live(port, saved, port.get_guild(), ids=ids, exact=exact)
    if not plan.available:
        return MembersResult(plan=plan)
    return execute_members(port, plan, progress=progress, reason=reason, concurrency=concurrency)


# --- comparing ------------------------------------------------------------------------------------------


def compare_members(a: SavedMembers | None, b: SavedMembers | None) -> dict[str, Any] | None:
    """Members who joined, left, changed roles (by name) or nickname between two snapshots; None when
    neither holds a members part."""
    if a is None and b is None:
        return None
    out: dict[str, Any] = {"available": {"old": a.available if a else None, "new": b.available if b else None},
                           "joined": [], "left": [], "changed": []}
    old = {str(m["id"]): m for m in (a.members if a else ())}
    new = {str(m["id"]): m for m in (b.members if b else ())}

    def who(m: Mapping[str, Any]) -> str:
        return f"{m.get('username') or m['id']} ({m['id']})"

    out["joined"] = [who(new[u]) for u in sorted(new.keys() - old.keys(), key=int)]
    out["left"] = [who(old[u]) for u in sorted(old.keys() - new.keys(), key=int)]
    for uid in sorted(old.keys() & new.keys(), key=int):
        was, now = set(old[uid].get("role_names") or ()), set(new[uid].get("role_names") or ())
        row: dict[str, Any] = {"name": who(new[uid])}
        if was != now:
            row["roles_added"], row["roles_removed"] = sorted(now - was), sorted(was - now)
        if old[uid].get("nick") != new[uid].get("nick"):
            row["nick"] = {"old": old[uid].get("nick"), "new": new[uid].get("nick")}
        if len(row) > 1:
            out["changed"].append(row)
    return out


def members_changed(diff: Mapping[str, Any] | None) -> bool:
    return bool(diff) and bool(diff["joined"] or diff["left"] or diff["changed"]  # type: ignore[index]
                               or diff["available"]["old"] != diff["available"]["new"])  # type: ignore[index]


def render_members(diff: Mapping[str, Any] | None) -> list[str]:
    """The members differences for people, one line each."""
    if not members_changed(diff):
        return []
    assert diff is not None
    lines = []
    avail = diff["available"]
    if avail["old"] != avail["new"]:
        lines.append(f"  ~ members part: {_avail(avail['old'])} -> {_avail(avail['new'])}")
    if diff["joined"]:
        lines.append(f"  + {len(diff['joined'])} members: {', '.join(diff['joined'][:10])}")
    if diff["left"]:
        lines.append(f"  - {len(diff['left'])} members: {', '.join(diff['left'][:10])}")
    for row in diff["changed"][:50]:
        bits = [f"+@{n}" for n in row.get("roles_added", ())] + [f"-@{n}" for n in row.get("roles_removed", ())]
        if "nick" in row:
            bits.append(f"nick {row['nick']['old']!r} -> {row['nick']['new']!r}")
        lines.append(f"  ~ member {row['name']}: {', '.join(bits)}")
    if len(diff["changed"]) > 50:
        lines.append(f"  ~ … and {len(diff['changed']) - 50} more members changed")
    return lines


def _avail(value: bool | None) -> str:
    return {True: "saved", False: "unavailable (no Server Members intent)", None: "absent"}[value]
