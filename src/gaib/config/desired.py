"""The resolved, flat desired state the IaC layer diffs against.

``to_desired`` turns a loaded (theme-merged) config into plain frozen dataclasses: permissions and
colours as ints, channel types as :class:`ChannelType`, overwrites as tuples in config order
(their order carries no meaning; compare them by ``target``). ``from_desired`` is the inverse
used by export: ``to_desired(from_desired(d)) == d`` for every DesiredServer.
"""

from __future__ import annotations

from dataclasses import dataclass

from gaib.config.schema import (
    CategoryConfig,
    ChannelConfig,
    OverwriteConfig,
    RoleConfig,
    ServerConfig,
    ServerMeta,
)
from gaib.discord.models import ChannelType
from gaib.errors import ConfigError

EVERYONE = "@everyone"

_KIND_TO_TYPE: dict[str, ChannelType] = {
    "text": ChannelType.TEXT,
    "voice": ChannelType.VOICE,
    "announcement": ChannelType.ANNOUNCEMENT,
    "stage": ChannelType.STAGE,
    "forum": ChannelType.FORUM,
    "media": ChannelType.MEDIA,
}
_TYPE_TO_KIND = {v: k for k, v in _KIND_TO_TYPE.items()}


@dataclass(frozen=True)
class DesiredRole:
    name: str
    permissions: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    position: int | None = None


@dataclass(frozen=True)
class DesiredOverwrite:
    target: str  # a role name, or "@everyone"
    allow: int = 0
    deny: int = 0


@dataclass(frozen=True)
class DesiredCategory:
    name: str
    position: int | None = None
    overwrites: tuple[DesiredOverwrite, ...] = ()


@dataclass(frozen=True)
class DesiredChannel:
    name: str
    type: ChannelType = ChannelType.TEXT
    category: str | None = None
    topic: str | None = None
    nsfw: bool = False
    slowmode: int = 0
    bitrate: int | None = None
    user_limit: int | None = None
    position: int | None = None
    overwrites: tuple[DesiredOverwrite, ...] = ()


@dataclass(frozen=True)
class DesiredServer:
    name: str | None
    roles: tuple[DesiredRole, ...] = ()
    categories: tuple[DesiredCategory, ...] = ()
    channels: tuple[DesiredChannel, ...] = ()


def channel_kind(channel_type: ChannelType) -> str:
    """The config word for a channel type; ConfigError for types a config cannot hold (category)."""
    try:
        return _TYPE_TO_KIND[ChannelType(channel_type)]
    except (KeyError, ValueError):
        raise ConfigError(f"channel type {channel_type!r} cannot be written in a config",
                          hint="Only text, voice, announcement, stage, forum and media channels are managed.") from None


def channel_type(kind: str) -> ChannelType:
    return _KIND_TO_TYPE[kind]


def _overwrites(perms: dict[str, OverwriteConfig]) -> tuple[DesiredOverwrite, ...]:
    return tuple(DesiredOverwrite(target, ow.allow, ow.deny) for target, ow in perms.items())


def to_desired(config: ServerConfig) -> DesiredServer:
    """Flatten a (theme-merged) config. A config still holding a theme reference is refused:
    pass ``LoadedConfig.config``, which has the theme's items merged in."""
    if config.theme is not None:
        raise ConfigError("to_desired() needs the merged config (LoadedConfig.config), not one with a theme "
                          "reference", hint="This is a bug in the caller.")
    return DesiredServer(
        name=config.server.name if config.server else None,
        roles=tuple(DesiredRole(r.name, r.permissions, r.color, r.hoist, r.mentionable, r.position)
                    for r in config.roles),
        categories=tuple(DesiredCategory(c.name, c.position, _overwrites(c.permissions))
                         for c in config.categories),
        channels=tuple(
            DesiredChannel(c.name, _KIND_TO_TYPE[c.type], c.category, c.topic, c.nsfw, c.slowmode, c.bitrate,
                           c.user_limit, c.position, _overwrites(c.permissions))
            for c in config.channels),
    )


def _perm_map(overwrites: tuple[DesiredOverwrite, ...], where: str) -> dict[str, OverwriteConfig]:
    out: dict[str, OverwriteConfig] = {}
    for ow in overwrites:
        if ow.target in out:
            raise ConfigError(f"{where}: two overwrites for {ow.target!r}")
        out[ow.target] = OverwriteConfig(allow=ow.allow, deny=ow.deny)
    return out


def from_desired(server: DesiredServer) -> ServerConfig:
    """Build the config model (no theme reference) that :func:`to_desired` maps back to ``server``.

    Values are validated like a loaded file's; ConfigError if one is out of range (e.g. a
    category channel type or two overwrites for one target).
    """
    from pydantic import ValidationError

    try:
        return ServerConfig(
            server=ServerMeta(name=server.name) if server.name is not None else None,
            roles=[RoleConfig(name=r.name, color=r.color, permissions=r.permissions, hoist=r.hoist,
                              mentionable=r.mentionable, position=r.position) for r in server.roles],
            categories=[CategoryConfig(name=c.name, position=c.position,
                                       permissions=_perm_map(c.overwrites, f"category {c.name!r}"))
                        for c in server.categories],
            channels=[ChannelConfig(name=c.name, type=channel_kind(c.type), category=c.category,  # type: ignore[arg-type]
                                    topic=c.topic, nsfw=c.nsfw, slowmode=c.slowmode, bitrate=c.bitrate,
                                    user_limit=c.user_limit, position=c.position,
                                    permissions=_perm_map(c.overwrites, f"channel {c.name!r}"))
                      for c in server.channels],
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"cannot express the server as a config: {where}: {first['msg']}") from None
