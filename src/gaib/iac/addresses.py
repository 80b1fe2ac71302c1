"""Resource addresses (``discord_role.<name>``) for the items of a desired server.

Roles and categories are addressed by the slug of their name. Channels are addressed by the slug of
their name when it is unique in the config, and ``<category>__<name>`` otherwise. Slugs that collide
get ``_2``, ``_3`` ... in config order, so the same config always yields the same addresses.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable

from gaib.config.desired import DesiredServer

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


def assign(desired: DesiredServer) -> tuple[list[str], list[str], list[str]]:
    """Addresses of (roles, categories, channels), index-aligned with the desired tuples."""
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
