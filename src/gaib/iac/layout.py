"""Positions: where each role and channel should sit, and whether anything must move.

Only relative order matters. Roles: Gaib's roles sit at the bottom (just above @everyone) in config
order, top first; roles Gaib does not manage (bots, boosters, hand-made) stay above them in their
current order, so a bot's own role stays above the roles it manages. Channels: within each parent
(top level, or a category) Gaib's channels come first in config order (at top level: uncategorised
channels, then categories), then channels Gaib does not manage in their current order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from gaib.config.desired import DesiredCategory, DesiredChannel
from gaib.discord.models import Channel, Role

if TYPE_CHECKING:
    from gaib.iac.plan import Plan


class _Positioned(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def position(self) -> int: ...


def _by_position(items: Sequence[_Positioned]) -> list[str]:
    return [i.id for i in sorted(items, key=lambda x: (x.position, int(x.id) if x.id.isdigit() else 0))]


def role_order(managed_top_first: Sequence[str], live: Sequence[Role], guild_id: str) -> list[str]:
    """Ids of every role except @everyone, bottom to top, as they should be."""
    managed = set(managed_top_first)
    others = [rid for rid in _by_position([r for r in live if r.id != guild_id]) if rid not in managed]
    return list(reversed(managed_top_first)) + others


def roles_need_reorder(managed_top_first: Sequence[str], live: Sequence[Role], guild_id: str) -> bool:
    current = _by_position([r for r in live if r.id != guild_id])
    return current != role_order(managed_top_first, live, guild_id)


def role_positions(managed_top_first: Sequence[str], live: Sequence[Role], guild_id: str) -> list[tuple[str, int]]:
    """(id, position) for every role whose position must change; position 1 is the lowest."""
    wanted = {rid: i + 1 for i, rid in enumerate(role_order(managed_top_first, live, guild_id))}
    current = {r.id: r.position for r in live}
    return [(rid, pos) for rid, pos in wanted.items() if current.get(rid) != pos]


def channel_groups(managed: dict[str | None, list[str]], live: Sequence[Channel],
                   parent_of: dict[str, str | None]) -> dict[str | None, list[str]]:
    """Per parent id (None = top level): the ids in the order they should be.

    ``managed`` maps a parent to Gaib's channel ids under it in config order; ``parent_of`` gives the
    final parent of every live id (live channels Gaib does not manage keep their parent).
    """
    managed_ids = {i for ids in managed.values() for i in ids}
    groups: dict[str | None, list[str]] = {p: list(ids) for p, ids in managed.items()}
    others: dict[str | None, list[Channel]] = {}
    for ch in live:
        if ch.id not in managed_ids:
            others.setdefault(parent_of.get(ch.id, ch.parent_id), []).append(ch)
    for parent, chans in others.items():
        groups.setdefault(parent, []).extend(_by_position(chans))
    return groups


def channels_need_reorder(groups: dict[str | None, list[str]], live: Sequence[Channel]) -> bool:
    by_parent: dict[str | None, list[Channel]] = {}
    for ch in live:
        by_parent.setdefault(ch.parent_id, []).append(ch)
    for parent, wanted in groups.items():
        current = _by_position(by_parent.get(parent, []))
        if current != wanted:
            return True
    return False


def channel_positions(groups: dict[str | None, list[str]], live: Sequence[Channel]) -> list[tuple[str, int]]:
    """(id, position) for every live channel whose position must change (dense per parent)."""
    current = {c.id: c.position for c in live}
    moves = []
    for ids in groups.values():
        for pos, cid in enumerate(ids):
            if cid in current and current[cid] != pos:
                moves.append((cid, pos))
    return moves


def final_positions(plan: Plan) -> dict[str, int]:
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
