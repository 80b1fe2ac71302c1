"""Carrying out a :class:`gaib.snapshots.community_plan.CommunityPlan` against Discord.

Steps run one after another (the emoji and sticker edit buckets allow one request per 2 s anyway): the
settings PATCH, then emoji and sticker updates, deletes and creates (images from the verified store),
then the bans. Creates are deduplicated (a retry after a lost answer returns what the first try made),
and a retried delete or bulk ban that finds its work done counts as done (the client's contract). A step
that fails does not stop the others: it is listed in
:attr:`CommunityResult.failed` (the caller raises a partial failure after its bookkeeping), so running
the restore again finishes the work without repeating what was done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gaib.discord.community import GUILD_IMAGES, data_uri
from gaib.discord.port import DiscordPort
from gaib.errors import GaibError
from gaib.iac.progress import Reporter, Tick
from gaib.snapshots.community_plan import CommunityPlan, Item


@dataclass
class CommunityResult:
    settings: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    banned: int = 0
    unbanned: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "created": self.created, "updated": self.updated,
                "deleted": self.deleted, "banned": self.banned, "unbanned": self.unbanned, "failed": self.failed}


def execute_community(port: DiscordPort, plan: CommunityPlan, images: Mapping[str, bytes], *,
                      progress: Reporter, reason: str) -> CommunityResult:
    """Make the live community match the plan (see the module docstring); never raises for a step."""
    result = CommunityResult()

    def attempt(what: str, step: Callable[[], None]) -> bool:
        try:
            step()
        except GaibError as exc:
            result.failed.append({"what": what, "code": exc.error_code, "message": exc.message})
            progress(Tick("failed", exc.message, address=what))
            return False
        progress(Tick("done", what))
        return True

    if plan.settings:
        fields = {k: (data_uri(images[v]) if k in GUILD_IMAGES and v is not None else v)
                  for k, v in plan.settings.items()}
        if attempt("server settings: " + ", ".join(sorted(fields)),
                   _discard(port.update_guild_settings, fields, reason=reason)):
            result.settings = sorted(fields)
    order = {"update": 0, "delete": 1, "create": 2}
    for item in sorted((i for i in plan.items if i.action in order), key=lambda i: order[i.action]):
        label = f"{item.action} {item.kind} {item.name}"
        if attempt(label, _step(port, item, images, reason)):
            {"create": result.created, "update": result.updated, "delete": result.deleted}[item.action].append(
                f"{item.kind} {item.name}")
    for batch in plan.ban:
        done: list[int] = []
        if attempt(f"ban {len(batch.user_ids)} users", _bulk(port, batch.user_ids, batch.reason, done)):
            result.banned += done[0]
    for uid in plan.unban:
        if attempt(f"lift the ban of {uid}", _discard(port.unban, uid, reason=reason)):
            result.unbanned += 1
    return result


def _bulk(port: DiscordPort, users: tuple[str, ...], reason: str | None, done: list[int]) -> Callable[[], None]:
    def run() -> None:
        result = port.bulk_ban(users, reason=reason)
        done.append(len(result.banned) + len(result.already))  # already: a retry whose first try banned them

    return run


def _discard(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], None]:
    def run() -> None:
        call(*args, **kwargs)

    return run


def _step(port: DiscordPort, item: Item, images: Mapping[str, bytes], reason: str) -> Callable[[], None]:
    entry, fields = item.entry, dict(item.fields)
    live = str(item.live_id)
    if item.kind == "emoji":
        if item.action == "create":
            return _discard(port.create_emoji, str(entry["name"]), images[str(entry["sha256"])],
                            roles=list(fields.get("roles", [])), reason=reason, dedupe=True)
        if item.action == "update":
            return _discard(port.update_emoji, live, fields, reason=reason)
        return _discard(port.delete_emoji, live, reason=reason)
    if item.action == "create":
        return _discard(port.create_sticker, str(entry["name"]), str(entry.get("tags") or entry["name"]),
                        entry.get("description"), images[str(entry["sha256"])], reason=reason, dedupe=True)
    if item.action == "update":
        return _discard(port.update_sticker, live, fields, reason=reason)
    return _discard(port.delete_sticker, live, reason=reason)
