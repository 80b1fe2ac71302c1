"""Resource-level diff between two states: added, removed, changed (with field changes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gaib.state.model import State


@dataclass(frozen=True)
class StateDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}

    def render(self) -> str:
        if self.empty:
            return "  (no resource changes)"
        lines = [f"  + {a}" for a in self.added] + [f"  - {r}" for r in self.removed]
        for c in self.changed:
            lines.append(f"  ~ {c['address']}")
            lines += [f"      {f['field']}: {f['old']!r} -> {f['new']!r}" for f in c["fields"]]
        return "\n".join(lines)


def diff_states(old: State | None, new: State) -> StateDiff:
    """What changes if ``old`` is replaced by ``new``, resource by resource."""
    before = {r.address: r.attributes for r in (old.resources if old else [])}
    after = {r.address: r.attributes for r in new.resources}
    changed = []
    for address in after.keys() & before.keys():
        a, b = before[address], after[address]
        fields = [{"field": k, "old": a.get(k), "new": b.get(k)} for k in sorted(a.keys() | b.keys())
                  if a.get(k) != b.get(k)]
        if fields:
            changed.append({"address": address, "fields": fields})
    return StateDiff(added=sorted(after.keys() - before.keys()), removed=sorted(before.keys() - after.keys()),
                     changed=sorted(changed, key=lambda c: str(c["address"])))
