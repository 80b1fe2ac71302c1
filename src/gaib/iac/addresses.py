"""Resource addresses (``discord_role.<name>``) for the items of a desired server.

Roles and categories are addressed by the slug of their name. Channels are addressed by the slug of
their name when it is unique in the config, and ``<category>__<name>`` otherwise. Slugs that collide
get ``_2``, ``_3`` ... in config order, so the same config always yields the same addresses.

A state written by the original Gaib addresses resources by their display names
(``discord_category.The Gathering``); for such a state every item keeps the address of the state
resource holding its name, and new items are addressed by their display name too, so both tools keep
finding them.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable

from gaib.config.desired import DesiredChannel, DesiredServer
from gaib.discord.models import discord_channel_name
from gaib.state.model import ORIGINAL, Resource, State

ROLE = "discord_role"
CATEGORY = "discord_category"
CHANNEL = "discord_channel"

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """Lower-case ASCII letters, digits and ``_``; names with none of those get a short hash."""
    text = _NON_SLUG.sub("_", name.lower()).strip("_")[:60]
    if not text:
        text = "x" + hashlib.sha256(name.encode()).hexdigest()[:8]
    if not text[0].isalnum():
        text = "x" + text
    return text


def _unique(slugs: Iterable[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for s in slugs:
        seen[s] += 1
        out.append(s if seen[s] == 1 else f"{s}_{seen[s]}")
    return out


def assign(desired: DesiredServer, state: State | None = None) -> tuple[list[str], list[str], list[str]]:
    """Addresses of (roles, categories, channels), index-aligned with the desired tuples."""
    if state is not None and state.dialect == ORIGINAL:
        return _display_addresses(desired, state)
    roles = [f"{ROLE}.{s}" for s in _unique(slug(r.name) for r in desired.roles)]
    cats = [f"{CATEGORY}.{s}" for s in _unique(slug(c.name) for c in desired.categories)]
    name_count = Counter(slug(c.name) for c in desired.channels)
    chan_slugs = []
    for ch in desired.channels:
        base = slug(ch.name)
        if name_count[base] > 1:
            base = f"{slug(ch.category) if ch.category else 'none'}__{base}"
        chan_slugs.append(base)
    chans = [f"{CHANNEL}.{s}" for s in _unique(chan_slugs)]
    return roles, cats, chans


def _display_addresses(desired: DesiredServer, state: State) -> tuple[list[str], list[str], list[str]]:
    """The original's addressing: the state resource's address for an item it holds (same name,
    case-insensitively; for channels preferring the same category), else the item's display name."""
    cat_name_by_id = {str(r.id): _held_name(r) for r in state.resources if r.type == CATEGORY and r.id}

    def pick(rtype: str, names: list[str], match: list[str], categories: list[str | None] | None) -> list[str]:
        pool = [r for r in state.resources if r.type == rtype]
        out: list[str | None] = [None] * len(names)
        used: set[str] = set()
        # With categories, items whose same-named resource sits in their category pair up first, so a
        # same-named channel in another category cannot take it.
        for strict in ((True, False) if categories is not None else (False,)):
            for i, wanted in enumerate(match):
                if out[i] is not None:
                    continue
                for res in pool:
                    if res.address in used or wanted.casefold() not in (_held_name(res), res.name.casefold()):
                        continue
                    if strict and categories is not None and cat_name_by_id.get(
                            str(res.attributes.get("parent_id")), "") != (categories[i] or "").casefold():
                        continue
                    out[i] = res.address
                    used.add(res.address)
                    break
        return _fill(rtype, names, out, {r.address for r in pool}, categories)

    roles = pick(ROLE, [r.name for r in desired.roles], [r.name for r in desired.roles], None)
    cats = pick(CATEGORY, [c.name for c in desired.categories], [c.name for c in desired.categories], None)
    chans = pick(CHANNEL, [c.name for c in desired.channels], [_stored(c) for c in desired.channels],
                 [c.category for c in desired.channels])
    return roles, cats, chans


def _held_name(res: Resource) -> str:
    return str(res.attributes.get("name", res.name)).casefold()


def _stored(ch: DesiredChannel) -> str:
    return discord_channel_name(ch.type, ch.name)


def _fill(rtype: str, names: list[str], out: list[str | None], held: set[str],
          categories: list[str | None] | None) -> list[str]:
    """``out`` with every gap filled by ``type.<name>`` (``<name> (<category>)`` or ``_2``... when that
    address is taken, also by a state resource about to be deleted)."""
    taken = {a.casefold() for a in held}
    result: list[str] = []
    for i, name in enumerate(names):
        address = out[i]
        if address is None:
            base = f"{rtype}.{name}"
            if base.casefold() in taken and categories is not None and categories[i]:
                base = f"{rtype}.{name} ({categories[i]})"
            address, n = base, 1
            while address.casefold() in taken:
                n += 1
                address = f"{base}_{n}"
        taken.add(address.casefold())
        result.append(address)
    return result
