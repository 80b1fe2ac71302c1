"""The pydantic models of ``discord-server.yaml`` (the original Gaib's format, version "1.0").

Models check the shape and the value ranges of one file: unknown keys are rejected
(``extra="forbid"``), permissions are parsed from names into ints, colours from ``"#RRGGBB"`` into
ints. Checks that span the whole file (duplicate names, references to roles and categories, guild
limits, risky grants) live in :mod:`gaib.config.validate`, because a theme's items take part in them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from gaib.config.permissions import parse_permissions, suggest
from gaib.errors import ConfigError

CONFIG_VERSION: Literal["1.0"] = "1.0"
EVERYONE = "@everyone"
MANAGED_MARKER = "[managed-by:arrakis-iac]"
"""The original Gaib's marker. Names and topics carrying it are kept verbatim; Gaib never adds it."""

CHANNEL_TYPES: tuple[str, ...] = ("text", "voice", "announcement", "stage", "forum", "media")
ChannelKind = Literal["text", "voice", "announcement", "stage", "forum", "media"]

MAX_COLOR = 0xFFFFFF
MAX_SLOWMODE = 21600
MAX_USER_LIMIT = 99  # voice; a stage channel takes up to MAX_STAGE_USER_LIMIT (gaib.discord.limits)
MAX_STAGE_USER_LIMIT = 10000
MIN_BITRATE, MAX_BITRATE = 8000, 384000
MAX_NAME = 100
MAX_TOPIC = 1024
MAX_FORUM_TOPIC = 4096

_HEX6 = re.compile(r"#?([0-9A-Fa-f]{6})")
_HEX3 = re.compile(r"#([0-9A-Fa-f]{3})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def custom_error(kind: str, message: str, **context: Any) -> PydanticCustomError:
    """A pydantic error whose message is taken verbatim (user text may hold braces)."""
    return PydanticCustomError(kind, "{message}", {"message": message, **context})


def _permissions(value: Any) -> int:
    try:
        return parse_permissions(value)
    except ConfigError as err:
        raise custom_error("permissions", err.message, **err.details) from None


def parse_color(value: Any) -> int:
    """``"#RRGGBB"``, ``"#RGB"``, a decimal string or an int 0–16777215 → int; ValueError otherwise."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"invalid colour {value!r}; expected \"#RRGGBB\" or an integer 0-16777215")
    if isinstance(value, int):
        if 0 <= value <= MAX_COLOR:
            return value
        raise ValueError(f"colour {value} is out of range; expected 0-16777215 (0xFFFFFF)")
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and len(text) <= 8:
            return parse_color(int(text))
        if text.startswith("#") and (m := _HEX6.fullmatch(text)):
            return int(m.group(1), 16)
        if m := _HEX3.fullmatch(text):
            return int("".join(c * 2 for c in m.group(1)), 16)
    raise ValueError(f"invalid colour {value!r}; expected \"#RRGGBB\" or an integer 0-16777215")


def format_color(value: int) -> str:
    return f"#{value:06x}"


def _color(value: Any) -> int:
    try:
        return parse_color(value)
    except ValueError as err:
        raise custom_error("color", str(err)) from None


def _name(value: Any) -> Any:
    if isinstance(value, str):
        if value != value.strip():
            raise custom_error("name", f"name {value!r} has leading or trailing spaces, which Discord would strip")
        if _CONTROL.search(value):
            raise custom_error("name", "name contains a control character (newline, tab, ...)")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # `name: 2049` in YAML is meant as text
    return value


def _channel_type(value: Any) -> Any:
    if isinstance(value, str) and value not in CHANNEL_TYPES:
        guess = suggest(value, CHANNEL_TYPES) if value.strip() else None
        more = f"; did you mean '{guess.lower()}'?" if guess else ""
        raise custom_error(
            "channel_type", f"unknown channel type {value!r}{more} (expected one of: {', '.join(CHANNEL_TYPES)})")
    return value


def _config_version(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 1:
        return CONFIG_VERSION
    if value in ("1", CONFIG_VERSION):
        return CONFIG_VERSION
    raise custom_error("config_version", f"unsupported config version {value!r}; this Gaib reads version \"1.0\"")


ConfigVersion = Annotated[Literal["1.0"], BeforeValidator(_config_version)]
Permissions = Annotated[int, BeforeValidator(_permissions)]
Color = Annotated[int, BeforeValidator(_color)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME), BeforeValidator(_name)]
Position = Annotated[int, Field(ge=0, le=100_000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, str_strip_whitespace=False)


class OverwriteConfig(_Model):
    """Allowed and denied permissions for one role (or ``@everyone``) on a category or channel."""

    allow: Permissions = 0
    deny: Permissions = 0


Overwrites = dict[Name, OverwriteConfig]


def _guild_id(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and not _SNOWFLAKE.fullmatch(value):
        raise custom_error("guild_id", f"server.id {value[:40]!r} is not a Discord server id (17-20 digits)")
    return value


_SNOWFLAKE = re.compile(r"[0-9]{17,20}")


class ServerMeta(_Model):
    """``server``: the guild (``id``, used when no -g / DISCORD_GUILD_ID is given), name, description."""

    id: Annotated[str | None, BeforeValidator(_guild_id)] = None
    name: Annotated[str | None, Field(min_length=2, max_length=MAX_NAME)] = None
    description: Annotated[str | None, Field(max_length=120)] = None


class ChannelSelector(_Model):
    """Names one channel of a theme: by name, and by category when the name is not unique."""

    name: Name
    category: Name | None = None


def _selector(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class ThemeExclude(_Model):
    """Theme items the user does not want (see docs/config.md, "Removing theme items")."""

    roles: list[Name] = Field(default_factory=list)
    categories: list[Name] = Field(default_factory=list)
    channels: list[Annotated[ChannelSelector, BeforeValidator(_selector)]] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.roles or self.categories or self.channels)


class ThemeRef(_Model):
    """``theme: sietch`` or ``theme: {name, source, version, variables, exclude}``.

    ``source`` is the original's: ``local`` looks only in ./themes and ~/.gaib/themes, ``builtin``
    (or no source) searches the built-in themes first, then those folders.
    """

    name: Annotated[str, Field(min_length=1, max_length=64)]
    source: Literal["local", "builtin"] | None = None
    version: str | None = None
    variables: dict[str, bool | int | float | str] = Field(default_factory=dict)
    exclude: ThemeExclude = Field(default_factory=ThemeExclude)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            from gaib.semver import parse_range

            try:
                parse_range(value)
            except ValueError as err:
                raise custom_error("version_range", str(err)) from None
        return value


class RoleConfig(_Model):
    name: Name
    color: Color = 0
    permissions: Permissions = 0
    hoist: bool = False
    mentionable: bool = False
    position: Position | None = None


class CategoryConfig(_Model):
    name: Name
    position: Position | None = None
    permissions: Overwrites = Field(default_factory=dict)


class ChannelConfig(_Model):
    name: Name
    type: Annotated[ChannelKind, BeforeValidator(_channel_type)] = "text"
    category: Name | None = None
    topic: Annotated[str | None, Field(max_length=MAX_FORUM_TOPIC)] = None
    nsfw: bool = False
    slowmode: Annotated[int, Field(ge=0, le=MAX_SLOWMODE)] = 0
    bitrate: Annotated[int | None, Field(ge=MIN_BITRATE, le=MAX_BITRATE)] = None
    user_limit: Annotated[int | None, Field(ge=0, le=MAX_STAGE_USER_LIMIT,
                                            validation_alias=AliasChoices("user_limit", "userLimit"))] = None
    """Written ``userLimit`` by the original Gaib (and by export, so both tools read it)."""
    position: Position | None = None
    permissions: Overwrites = Field(default_factory=dict)


class OutputConfig(_Model):
    """One of ``outputs``: a value recorded in the state's outputs on apply (hidden when sensitive)."""

    value: Any = None
    sensitive: bool = False
    description: str | None = None


class ServerConfig(_Model):
    """One ``discord-server.yaml``. With a ``theme``, the theme's items are merged in on load."""

    version: ConfigVersion = CONFIG_VERSION
    server: ServerMeta | None = None
    theme: ThemeRef | None = None
    roles: list[RoleConfig] = Field(default_factory=list)
    categories: list[CategoryConfig] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)
    outputs: dict[str, OutputConfig] = Field(default_factory=dict)

    @field_validator("theme", mode="before")
    @classmethod
    def _theme(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class ThemeBody(_Model):
    """What a theme's content files hold: the server's ``name`` and ``description`` (the original's
    ``server.yaml``) and roles, categories and channels (any of its files; Gaib's themes keep all of
    them in ``server.yaml``)."""

    version: ConfigVersion = CONFIG_VERSION
    name: Annotated[str | None, Field(min_length=2, max_length=MAX_NAME)] = None
    description: Annotated[str | None, Field(max_length=120)] = None
    roles: list[RoleConfig] = Field(default_factory=list)
    categories: list[CategoryConfig] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)


MODEL_AT: dict[str, type[BaseModel]] = {
    "": ServerConfig,
    "server": ServerMeta,
    "theme": ThemeRef,
    "exclude": ThemeExclude,
    "roles": RoleConfig,
    "categories": CategoryConfig,
    "channels": ChannelConfig,
    "permissions": OverwriteConfig,
    "outputs": OutputConfig,
}
"""Which model a key under a given parent key belongs to (for did-you-mean on unknown keys)."""
