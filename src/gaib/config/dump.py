"""Write a config model back as clean, stable YAML (the form ``export`` produces).

Keys come in schema order, permissions as names (unknown bits as one trailing integer), colours
as ``"#rrggbb"``, a voice channel's user limit as ``userLimit`` (the original Gaib's spelling, which
both tools read), defaults left out where they add nothing. Every ``${`` in a value is written as
``$${`` so loading the output never interpolates anything: ``parse_config(dump_config(c)).config
== c`` for any valid config without a theme reference (and ``.source == c`` with one).
"""

from __future__ import annotations

from typing import Any

from gaib.config.permissions import format_permissions
from gaib.config.schema import (
    CategoryConfig,
    ChannelConfig,
    OverwriteConfig,
    RoleConfig,
    ServerConfig,
    ThemeRef,
    format_color,
)


def dump_config(config: ServerConfig, *, header: str | None = None) -> str:
    """Render ``config`` as YAML; ``header`` (if given) becomes leading ``#`` comment lines."""
    import yaml

    doc: dict[str, Any] = {"version": config.version}
    if config.server is not None:
        doc["server"] = _drop_none({"id": config.server.id, "name": _s(config.server.name),
                                    "description": _s(config.server.description)})
    if config.theme is not None:
        doc["theme"] = _theme(config.theme)
    doc["roles"] = [_role(r) for r in config.roles]
    doc["categories"] = [_category(c) for c in config.categories]
    doc["channels"] = [_channel(c) for c in config.channels]
    if config.outputs:
        doc["outputs"] = {_s(k) or k: {key: (_s(v) if isinstance(v, str) else v)
                                       for key, v in o.model_dump(exclude_defaults=True).items()}
                          for k, o in config.outputs.items()}
    body = yaml.dump(doc, Dumper=_dumper(), sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=4096, indent=2)
    if header:
        body = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) + body
    return body


def _s(value: str | None) -> str | None:
    """Escape ``${`` so that loading the text back yields the same string."""
    return value.replace("${", "$${") if value is not None else None


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _theme(theme: ThemeRef) -> Any:
    extra = theme.version is not None or theme.variables or not theme.exclude.is_empty() or theme.source
    if not extra:
        return _s(theme.name)
    out: dict[str, Any] = {"name": _s(theme.name)}
    if theme.source is not None:
        out["source"] = theme.source
    if theme.version is not None:
        out["version"] = theme.version
    if theme.variables:
        out["variables"] = {_s(k): (_s(v) if isinstance(v, str) else v) for k, v in theme.variables.items()}
    ex = theme.exclude
    if not ex.is_empty():
        exclude: dict[str, Any] = {}
        if ex.roles:
            exclude["roles"] = [_s(n) for n in ex.roles]
        if ex.categories:
            exclude["categories"] = [_s(n) for n in ex.categories]
        if ex.channels:
            exclude["channels"] = [
                _s(c.name) if c.category is None else {"name": _s(c.name), "category": _s(c.category)}
                for c in ex.channels]
        out["exclude"] = exclude
    return out


def _role(role: RoleConfig) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": _s(role.name),
        "color": format_color(role.color),
        "permissions": format_permissions(role.permissions),
        "hoist": role.hoist,
        "mentionable": role.mentionable,
    }
    if role.position is not None:
        out["position"] = role.position
    return out


def _overwrites(overwrites: dict[str, OverwriteConfig]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for target, ow in overwrites.items():
        entry: dict[str, Any] = {}
        if ow.allow:
            entry["allow"] = format_permissions(ow.allow)
        if ow.deny:
            entry["deny"] = format_permissions(ow.deny)
        out[_s(target) or target] = entry
    return out


def _category(cat: CategoryConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"name": _s(cat.name)}
    if cat.position is not None:
        out["position"] = cat.position
    if cat.permissions:
        out["permissions"] = _overwrites(cat.permissions)
    return out


def _channel(chan: ChannelConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"name": _s(chan.name), "type": chan.type}
    if chan.category is not None:
        out["category"] = _s(chan.category)
    if chan.topic is not None:
        out["topic"] = _s(chan.topic)
    if chan.nsfw:
        out["nsfw"] = True
    if chan.slowmode:
        out["slowmode"] = chan.slowmode
    if chan.bitrate is not None:
        out["bitrate"] = chan.bitrate
    if chan.user_limit is not None:
        out["userLimit"] = chan.user_limit
    if chan.position is not None:
        out["position"] = chan.position
    if chan.permissions:
        out["permissions"] = _overwrites(chan.permissions)
    return out


def _dumper() -> type[Any]:
    import yaml

    class Dumper(yaml.SafeDumper):
        """Indents list items under their key, the way people write these files."""

        def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
            super().increase_indent(flow, False)

    return Dumper
