"""Live guild -> discord-server.yaml, such that applying it to that guild changes nothing."""

from __future__ import annotations

from gaib.config.desired import (
    EVERYONE,
    DesiredCategory,
    DesiredChannel,
    DesiredOverwrite,
    DesiredRole,
    DesiredServer,
    from_desired,
)
from gaib.discord.models import Channel, ChannelType, Guild, OverwriteType, Role
from gaib.iac import addresses
from gaib.iac.attributes import channel_attributes, role_attributes
from gaib.iac.diff import VOICE_LIKE, manageable_roles
from gaib.state.model import Instance, Resource

EXPORTABLE = (ChannelType.TEXT, ChannelType.VOICE, ChannelType.ANNOUNCEMENT, ChannelType.STAGE, ChannelType.FORUM)


def _order(items: list[Channel]) -> list[Channel]:
    return sorted(items, key=lambda c: (c.position, int(c.id)))


def desired_from_guild(guild: Guild) -> DesiredServer:
    return _exported(guild)[0]


def _exported(guild: Guild) -> tuple[DesiredServer, list[Role], list[Channel], list[Channel]]:
    """The export and, index-aligned with its roles, categories and channels, the live objects."""
    roles = sorted(manageable_roles(guild), key=lambda r: (r.position, int(r.id)), reverse=True)
    names = {r.id: r.name for r in roles}
    names[guild.id] = EVERYONE

    def overwrites(ch: Channel) -> tuple[DesiredOverwrite, ...]:
        return tuple(DesiredOverwrite(names[o.id], o.allow, o.deny) for o in ch.permission_overwrites
                     if o.type == OverwriteType.ROLE and o.id in names)

    cats = _order([c for c in guild.channels if c.type == ChannelType.CATEGORY])
    cat_names = {c.id: c.name for c in cats}
    chans = [c for c in guild.channels if c.type in EXPORTABLE]
    top = _order([c for c in chans if c.parent_id not in cat_names])
    ordered = list(top)
    for cat in cats:
        ordered += _order([c for c in chans if c.parent_id == cat.id])

    def channel(c: Channel) -> DesiredChannel:
        voice = c.type in VOICE_LIKE
        return DesiredChannel(
            name=c.name, type=c.type, category=cat_names.get(c.parent_id or ""),
            topic=None if voice else (c.topic or None), nsfw=c.nsfw, slowmode=c.rate_limit_per_user,
            bitrate=c.bitrate if voice else None, user_limit=c.user_limit if voice else None,
            position=None, overwrites=overwrites(c))

    desired = DesiredServer(
        name=guild.name,
        roles=tuple(DesiredRole(r.name, r.permissions, r.color, r.hoist, r.mentionable, None) for r in roles),
        categories=tuple(DesiredCategory(c.name, None, overwrites(c)) for c in cats),
        channels=tuple(channel(c) for c in ordered),
    )
    return desired, roles, cats, ordered


def exported_objects(guild: Guild) -> list[Resource]:
    """Every object the export of ``guild`` holds, as state resources at the export's addresses.

    Applying the export with these resources as state matches each item to its object by id, so a
    snapshot restore finds objects that survived even if they were renamed.
    """
    desired, roles, cats, chans = _exported(guild)
    role_addrs, cat_addrs, chan_addrs = addresses.assign(desired)
    out = [Resource(type=addresses.ROLE, name=a.split(".", 1)[1], instances=[Instance(role_attributes(r))])
           for a, r in zip(role_addrs, roles, strict=True)]
    for addrs, objects, rtype in ((cat_addrs, cats, addresses.CATEGORY), (chan_addrs, chans, addresses.CHANNEL)):
        out += [Resource(type=rtype, name=a.split(".", 1)[1], instances=[Instance(channel_attributes(c))])
                for a, c in zip(addrs, objects, strict=True)]
    return out


def export_config(guild: Guild) -> str:
    from gaib.config.dump import dump_config

    return dump_config(from_desired(desired_from_guild(guild)),
                       header=f"Exported by gaib from Discord server {guild.id}.")
