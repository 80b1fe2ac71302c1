"""Property tests: dump→load round-trips any valid config; to_desired∘from_desired is the identity."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaib.config.desired import (
    DesiredCategory,
    DesiredChannel,
    DesiredOverwrite,
    DesiredRole,
    DesiredServer,
    from_desired,
    to_desired,
)
from gaib.config.dump import dump_config
from gaib.config.schema import (
    CategoryConfig,
    ChannelConfig,
    OverwriteConfig,
    RoleConfig,
    ServerConfig,
    ServerMeta,
)
from gaib.discord.models import ChannelType
from gaib.themes.effective import parse_config

_chars = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x85\u2028\u2029")
_tricky = st.sampled_from(["${HOME}", "$${x}", "[managed-by:arrakis-iac]", "yes", "null", "1.0", "#ff", "'\"",
                           "- a", "a: b", "ÄÖ 東京", "~", "@here", "*x", "&y", "!tag", "%", "`"])
names = st.one_of(
    st.text(_chars, min_size=1, max_size=30),
    st.lists(_tricky, min_size=1, max_size=3).map(" ".join),
).map(str.strip).filter(lambda s: 0 < len(s) <= 100)
topics = st.one_of(st.none(), st.text(_chars, max_size=200), _tricky)
perms = st.integers(min_value=0, max_value=(1 << 64) - 1)
positions = st.one_of(st.none(), st.integers(min_value=0, max_value=1000))


def _unique(items: list[Any], key: Any) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


@st.composite
def overwrites(draw: Any, roles: list[str]) -> dict[str, OverwriteConfig]:
    targets = draw(st.lists(st.sampled_from([*roles, "@everyone"]), unique=True, max_size=4))
    out = {}
    for t in targets:
        allow = draw(perms)
        out[t] = OverwriteConfig(allow=allow, deny=draw(perms) & ~allow)
    return out


@st.composite
def configs(draw: Any) -> ServerConfig:
    roles = _unique(draw(st.lists(st.builds(
        RoleConfig, name=names.filter(lambda n: n != "@everyone"), color=st.integers(0, 0xFFFFFF),
        permissions=perms, hoist=st.booleans(), mentionable=st.booleans(), position=positions),
        max_size=6)), lambda r: r.name.casefold())
    role_names = [r.name for r in roles]
    cats = _unique([CategoryConfig(name=n, position=draw(positions), permissions=draw(overwrites(role_names)))
                    for n in draw(st.lists(names, max_size=4))], lambda c: c.name.casefold())
    cat_names = [c.name for c in cats]
    chans = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["text", "voice", "announcement", "stage", "forum"]))
        voice = kind in ("voice", "stage")
        name = draw(names)
        if kind in ("text", "announcement", "forum"):
            name = name.lower().replace(" ", "-")
        chans.append(ChannelConfig(
            name=name, type=kind, category=draw(st.one_of(st.none(), st.sampled_from(cat_names)))
            if cat_names else None, topic=draw(topics), nsfw=draw(st.booleans()), slowmode=draw(st.integers(0, 21600)),
            bitrate=draw(st.one_of(st.none(), st.integers(8000, 384000))) if voice else None,
            user_limit=draw(st.one_of(st.none(), st.integers(0, 99))) if voice else None,
            position=draw(positions), permissions=draw(overwrites(role_names))))
    chans = _unique(chans, lambda c: ((c.category or "").casefold(), c.name.casefold()))
    server = draw(st.one_of(st.none(), st.builds(ServerMeta, name=names.filter(lambda n: len(n) >= 2),
                                                  description=st.one_of(st.none(), st.text(_chars, max_size=120)))))
    return ServerConfig(server=server, roles=roles, categories=cats, channels=chans)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_dump_then_load_is_identity(config: ServerConfig) -> None:
    text = dump_config(config)
    loaded = parse_config(text, environ={"HOME": "/should/not/appear"})
    assert loaded.config == config
    assert dump_config(loaded.config) == text


@settings(max_examples=100, deadline=None)
@given(configs())
def test_desired_of_a_config_survives_export(config: ServerConfig) -> None:
    desired = to_desired(config)
    assert to_desired(from_desired(desired)) == desired
    # and through YAML, the way export → load goes
    assert to_desired(parse_config(dump_config(from_desired(desired)), environ={}).config) == desired


def _ows(draw: Any) -> tuple[DesiredOverwrite, ...]:
    targets = draw(st.lists(names, unique=True, max_size=3))
    return tuple(DesiredOverwrite(t, draw(perms), draw(perms)) for t in targets)


@st.composite
def desired_servers(draw: Any) -> DesiredServer:
    roles = draw(st.lists(st.builds(DesiredRole, name=names, permissions=perms, color=st.integers(0, 0xFFFFFF),
                                    hoist=st.booleans(), mentionable=st.booleans(), position=positions), max_size=5))
    cats = [DesiredCategory(draw(names), draw(positions), _ows(draw)) for _ in range(draw(st.integers(0, 3)))]
    chans = [DesiredChannel(
        name=draw(names), type=draw(st.sampled_from([ChannelType.TEXT, ChannelType.VOICE, ChannelType.ANNOUNCEMENT,
                                                     ChannelType.STAGE, ChannelType.FORUM])),
        category=draw(st.one_of(st.none(), names)), topic=draw(topics), nsfw=draw(st.booleans()),
        slowmode=draw(st.integers(0, 21600)), bitrate=draw(st.one_of(st.none(), st.integers(8000, 384000))),
        user_limit=draw(st.one_of(st.none(), st.integers(0, 99))), position=draw(positions), overwrites=_ows(draw))
        for _ in range(draw(st.integers(0, 4)))]
    name = draw(st.one_of(st.none(), names.filter(lambda n: len(n) >= 2)))
    return DesiredServer(name, tuple(roles), tuple(cats), tuple(chans))


@settings(max_examples=150, deadline=None)
@given(desired_servers())
def test_to_desired_from_desired_is_identity(desired: DesiredServer) -> None:
    assert to_desired(from_desired(desired)) == desired
