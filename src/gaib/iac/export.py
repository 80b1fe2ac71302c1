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

EXPORTABLE = (ChannelType.TEXT, ChannelType.VOICE, ChannelType.ANNOUNCEMENT, ChannelType.STAGE, ChannelType.FORUM,
              ChannelType.MEDIA)


def _order(items: list[Channel]) -> list[Channel]:
    return sorted(items, key=lambda c: (c.position, int(c.id)))


def desired_from_guild(guild: Guild, managed_ids: set[str] | None = None) -> DesiredServer:
    """The guild as a desired server; with ``managed_ids`` only those objects (and what they need)."""
    if managed_ids is not None:
        guild = _only(guild, managed_ids)
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


def _only(guild: Guild, ids: set[str]) -> Guild:
    """The guild with only the listed roles and channels (channels in an unlisted category move to the
    top level; overwrites for unlisted roles are left out by the export anyway)."""
    import dataclasses

    chans = [c for c in guild.channels if c.id in ids]
    return dataclasses.replace(guild, roles=tuple(r for r in guild.roles if r.id in ids or r.id == guild.id),
                               channels=tuple(chans))


def export_config(guild: Guild, managed_ids: set[str] | None = None) -> str:
    """The guild (or with ``managed_ids`` only what the state manages) as discord-server.yaml text."""
    from gaib.config.dump import dump_config

    what = "the objects Gaib manages in" if managed_ids is not None else "Discord server"
    return dump_config(from_desired(desired_from_guild(guild, managed_ids)),
                       header=f"Exported by gaib from {what} {guild.id}.")
