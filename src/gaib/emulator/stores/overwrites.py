"""Channel permission overwrites: the ``permission_overwrites`` list of a channel body and the
``/channels/{id}/permissions/{target}`` routes.

Overwrites live inside their channel's record. A role overwrite must name an existing role (404
10011 on the route, ``UNKNOWN_ROLE`` in a channel body); a channel holds at most 1000 (30060), a
body at most 100; deleting one that is not there gives 404 10009.
"""

from __future__ import annotations

from collections.abc import Container
from typing import TYPE_CHECKING, Any

from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError, FormErrors
from gaib.emulator.fields import MISSING, Fields, require_object
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.records import OverwriteRec

if TYPE_CHECKING:
    from gaib.emulator.stores.channels import ChannelStore
    from gaib.emulator.stores.roles import RoleStore

MAX_OVERWRITES_PER_REQUEST = 100
MAX_OVERWRITES_PER_CHANNEL = 1000


def parse_overwrites(errs: FormErrors, items: list[Any], roles: Container[str]) -> list[OverwriteRec]:
    """The overwrites of a channel body (the last one per target wins); problems go to ``errs``.

    A target without ``type`` is a role if such a role exists, else a member.
    """
    out: dict[str, OverwriteRec] = {}
    for i, item in enumerate(items):
        path = ("permission_overwrites", i)
        if not isinstance(item, dict):
            errs.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        f = Fields(item, errs, path)
        target = f.snowflake("id", required=True)
        kind = f.integer("type", choices=(0, 1))
        allow = f.bits("allow")
        deny = f.bits("deny")
        if not isinstance(target, str):
            continue
        if kind is None or kind is MISSING:
            kind = 0 if target in roles else 1
        if kind == 0 and target not in roles:
            errs.add((*path, "id"), "UNKNOWN_ROLE", "Unknown role.")
        out[target] = OverwriteRec(id=target, type=int(kind),  # type: ignore[arg-type]
                                   allow=allow if isinstance(allow, int) else 0,
                                   deny=deny if isinstance(deny, int) else 0)
    return list(out.values())


class OverwriteStore:
    """Puts and deletes one overwrite of a channel; forgets a deleted role's overwrites."""

    def __init__(self, ctx: GuildContext, channels: ChannelStore, roles: RoleStore) -> None:
        self.ctx = ctx
        self.channels = channels
        self.roles = roles

    def put(self, channel_id: str, target_id: str, body: Any) -> None:
        """Create or replace the overwrite for ``target_id`` (404 10003 for an unknown channel)."""
        channel = self.channels.find(channel_id)
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        kind = f.integer("type", required=True, choices=(0, 1))
        allow = f.bits("allow")
        deny = f.bits("deny")
        errs.raise_if_any()
        if kind == 0 and target_id not in self.roles:
            raise E.unknown(E.UNKNOWN_ROLE)
        record = OverwriteRec(id=target_id, type=int(kind),  # type: ignore[arg-type]
                              allow=allow if isinstance(allow, int) else 0,
                              deny=deny if isinstance(deny, int) else 0)
        for index, existing in enumerate(channel.overwrites):
            if existing.id == target_id:
                channel.overwrites[index] = record
                break
        else:
            if len(channel.overwrites) >= MAX_OVERWRITES_PER_CHANNEL:
                raise ApiError(400, E.MAX_OVERWRITES,
                               f"Maximum number of channel permission overwrites reached "
                               f"({MAX_OVERWRITES_PER_CHANNEL})")
            channel.overwrites.append(record)
        self.ctx.changed()

    def delete(self, channel_id: str, target_id: str) -> None:
        channel = self.channels.find(channel_id)
        kept = [o for o in channel.overwrites if o.id != target_id]
        if len(kept) == len(channel.overwrites):
            raise E.unknown(E.UNKNOWN_OVERWRITE)
        channel.overwrites = kept
        self.ctx.changed()

    def forget_role(self, role_id: str) -> None:
        """Part of deleting a role: every channel loses the overwrites that name it."""
        for channel in self.channels.by_id.values():
            channel.overwrites = [o for o in channel.overwrites if not (o.type == 0 and o.id == role_id)]
