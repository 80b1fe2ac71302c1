"""Property tests of the IaC core against the bundled emulator, through the real CLI and HTTP client.

Random configs within Discord's limits (roles with unknown high permission bits, categories,
text/voice/announcement/stage/forum channels, overwrites for @everyone and roles, unicode names and
topics, the same channel name in several categories, names whose slugs collide) must:

(a) apply to an empty guild and then plan empty, with one state resource per config item holding
    the live id, and export what was configured;
(b) export -> apply to a second empty guild (fresh state) -> export gives the same YAML text;
(c) change from config A to config B keeping the Discord id of every object whose name and kind
    survive, plan empty for B, and never touch live objects outside the state and the config.

One emulator (rate limits off; the ``emulator`` fixture of tests/iac/conftest.py) serves the module
and is reset between examples. Hypothesis runs
derandomized without an example database, so every run (and CI) tries the same examples.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gaib.config.desired import (
    EVERYONE,
    DesiredCategory,
    DesiredChannel,
    DesiredOverwrite,
    DesiredRole,
    DesiredServer,
    from_desired,
    to_desired,
)
from gaib.config.dump import dump_config
from gaib.discord.models import ChannelType
from gaib.themes.effective import parse_config
from tests.support.cli import CliRunner, Result
from tests.support.emulator import EmulatorHandle, running_emulator

# Shrinking is left out: an example costs a few hundred HTTP requests, so shrinking a failure
# could take many minutes; the failing example is printed as generated.
# GAIB_PROPERTY_EXAMPLES raises the count for a longer local hunt; CI uses the default.
EXAMPLES = int(os.environ.get("GAIB_PROPERTY_EXAMPLES", "0")) or None
PROPERTY = settings(max_examples=EXAMPLES or 12, deadline=None, derandomize=True, database=None,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TEXT_LIKE = (ChannelType.TEXT, ChannelType.ANNOUNCEMENT, ChannelType.FORUM)
VOICE_LIKE = (ChannelType.VOICE, ChannelType.STAGE)
MAX_BITRATE = {ChannelType.VOICE: 96000, ChannelType.STAGE: 64000}  # a guild without boosts
HAND_ROLE = "Hand~Made"  # "~" is in no generated name, so Gaib can never adopt these
HAND_CHANNEL = "hand~made"

# --- strategies ----------------------------------------------------------------------------------

# Names that stress addressing: equal slugs ("Mod Team" / "mod-team"), no slug at all, unicode,
# text that looks like interpolation.
TRICKY_NAMES = ["Mod Team", "mod-team", "MOD_TEAM!", "日本語", "Ünïcode", "${HOME}", "$${x}", "a", "🐛 bugs"]
TRICKY_CHANNEL_NAMES = ["general", "général", "news", "日本語", "${home}", "a-b", "a_b", "ß"]

_name_chars = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="~")
_text_channel_chars = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-_éüß日本${}")


def _clean(name: str) -> bool:
    return name == name.strip() and name != EVERYONE


free_names = st.text(_name_chars, min_size=1, max_size=12).filter(_clean)
text_channel_names = st.text(_text_channel_chars, min_size=1, max_size=12)
topics = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=40)

KNOWN_BITS = [1 << b for b in (0, 3, 4, 10, 11, 16, 17, 20, 28, 40, 46, 48, 52)]
UNKNOWN_BITS = [1 << b for b in (47, 53, 55, 58, 63, 70)]


@st.composite
def permissions(draw: st.DrawFn) -> int:
    bits = draw(st.lists(st.sampled_from(KNOWN_BITS + UNKNOWN_BITS), max_size=6))
    extra = draw(st.one_of(st.just(0), st.integers(0, (1 << 53) - 1)))
    total = extra
    for b in bits:
        total |= b
    return total


@dataclass(frozen=True)
class Pool:
    """Names configs pick from, so that two configs share some names."""

    roles: tuple[str, ...]
    categories: tuple[str, ...]
    text_channels: tuple[str, ...]
    voice_channels: tuple[str, ...]


def _unique(names: list[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out = []
    for n in names:
        if n.casefold() not in seen:
            seen.add(n.casefold())
            out.append(n)
    return tuple(out)


@st.composite
def pools(draw: st.DrawFn) -> Pool:
    roles = draw(st.lists(st.sampled_from(TRICKY_NAMES) | free_names, min_size=1, max_size=16))
    cats = draw(st.lists(st.sampled_from(TRICKY_NAMES) | free_names, min_size=1, max_size=6))
    texts = draw(st.lists(st.sampled_from(TRICKY_CHANNEL_NAMES) | text_channel_names, min_size=1, max_size=10))
    voices = draw(st.lists(st.sampled_from(TRICKY_NAMES) | free_names, min_size=1, max_size=6))
    return Pool(_unique(roles), _unique(cats), _unique(texts), _unique(voices))


@st.composite
def overwrites(draw: st.DrawFn, roles: list[str]) -> tuple[DesiredOverwrite, ...]:
    targets = draw(st.lists(st.sampled_from([EVERYONE, *roles]), unique=True, max_size=4))
    out = []
    for target in targets:
        allow = draw(permissions())
        deny = draw(permissions()) & ~allow
        out.append(DesiredOverwrite(target, allow, deny))
    return tuple(out)


@st.composite
def servers(draw: st.DrawFn, pool: Pool) -> DesiredServer:
    """A valid config within Discord's limits: <= 12 roles, <= 5 categories, <= 15 channels."""
    role_names = draw(st.lists(st.sampled_from(pool.roles), unique=True, max_size=12))
    roles = tuple(DesiredRole(name, draw(permissions()), draw(st.integers(0, 0xFFFFFF)), draw(st.booleans()),
                              draw(st.booleans())) for name in role_names)
    cat_names = draw(st.lists(st.sampled_from(pool.categories), unique=True, max_size=5))
    cats = tuple(DesiredCategory(name, None, draw(overwrites(role_names))) for name in cat_names)
    channels: list[DesiredChannel] = []
    seen: set[tuple[str, str]] = set()
    for _ in range(draw(st.integers(0, 15))):
        ctype = draw(st.sampled_from([*TEXT_LIKE, *VOICE_LIKE]))
        voice = ctype in VOICE_LIKE
        name = draw(st.sampled_from(pool.voice_channels if voice else pool.text_channels))
        category = draw(st.none() | st.sampled_from(cat_names)) if cat_names else None
        key = ((category or "").casefold(), name.casefold())
        if key in seen:
            continue
        seen.add(key)
        channels.append(DesiredChannel(
            name=name, type=ctype, category=category,
            topic=None if voice else draw(st.none() | topics),
            nsfw=draw(st.booleans()), slowmode=draw(st.sampled_from([0, 0, 5, 21600]) | st.integers(0, 21600)),
            bitrate=draw(st.none() | st.integers(8000, MAX_BITRATE[ctype])) if voice else None,
            user_limit=draw(st.none() | st.integers(0, 99)) if voice else None,
            overwrites=draw(overwrites(role_names))))
    name = draw(st.none() | st.text(_name_chars, min_size=2, max_size=20).filter(_clean))
    return DesiredServer(name=name, roles=roles, categories=cats, channels=tuple(channels))


one_server = pools().flatmap(servers)

# --- driving gaib --------------------------------------------------------------------------------


class Project:
    """A project folder with its own local state, driving ``gaib server ...`` in-process."""

    def __init__(self, root: Path, emu: EmulatorHandle) -> None:
        self.emu = emu
        self.cli = CliRunner(cwd=root, environ={
            "DISCORD_BOT_TOKEN": emu.token, "DISCORD_GUILD_ID": emu.guild_id,
            "GAIB_DISCORD_API_URL": emu.base_url, "HOME": str(root)})

    def write(self, server: DesiredServer | str) -> None:
        text = server if isinstance(server, str) else dump_config(from_desired(server))
        (self.cli.cwd / "discord-server.yaml").write_text(text, encoding="utf-8")

    def run(self, *args: str) -> Result:
        result = self.cli("server", *args, "--json")
        assert result.exit_code == 0, (args, result.stdout, result.stderr[-3000:])
        return result

    def apply(self) -> dict[str, Any]:
        data: dict[str, Any] = self.run("apply", "--auto-approve").data
        return data

    def plan(self) -> dict[str, Any]:
        data: dict[str, Any] = self.run("plan").data
        return data

    def state(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.run("state", "ls").data["resources"]
        return rows

    def export(self) -> str:
        # `export --json` prints the config itself as JSON (the original's form), so read the file.
        self.run("export", "-o", "exported.yaml", "--force")
        return (self.cli.cwd / "exported.yaml").read_text(encoding="utf-8")


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="gaib-prop-") as tmp:
        yield Path(tmp)


@contextmanager
def _project(emu: EmulatorHandle) -> Iterator[Project]:
    with tempfile.TemporaryDirectory(prefix="gaib-prop-") as tmp:
        yield Project(Path(tmp), emu)


def _get(emu: EmulatorHandle, path: str) -> Any:
    r = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/{path}", headers=emu.auth_headers(), timeout=10)
    r.raise_for_status()
    return r.json()


def _post(emu: EmulatorHandle, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(f"{emu.base_url}/guilds/{emu.guild_id}/{path}", json=body, headers=emu.auth_headers(),
                   timeout=10)
    r.raise_for_status()
    result: dict[str, Any] = r.json()
    return result


def _live(emu: EmulatorHandle) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    roles = [r for r in _get(emu, "roles") if r["id"] != emu.guild_id]
    return roles, _get(emu, "channels")


def _kind_class(ctype: int) -> int:
    """Channel types Discord converts in place (text <-> announcement) share a class."""
    return 0 if ctype in (0, 5) else ctype


def _live_keys(emu: EmulatorHandle) -> dict[tuple[Any, ...], str]:
    """(kind, names...) -> id for every live role, category and channel."""
    roles, chans = _live(emu)
    cats = {c["id"]: c["name"] for c in chans if c["type"] == 4}
    out: dict[tuple[Any, ...], str] = {}
    for r in roles:
        out[("role", r["name"].casefold())] = r["id"]
    for c in chans:
        if c["type"] == 4:
            out[("category", c["name"].casefold())] = c["id"]
        else:
            parent = cats.get(c.get("parent_id") or "", "")
            out[("channel", parent.casefold(), c["name"].casefold(), _kind_class(c["type"]))] = c["id"]
    return out


def _desired_keys(server: DesiredServer) -> set[tuple[Any, ...]]:
    keys: set[tuple[Any, ...]] = {("role", r.name.casefold()) for r in server.roles}
    keys |= {("category", c.name.casefold()) for c in server.categories}
    keys |= {("channel", (c.category or "").casefold(), c.name.casefold(), _kind_class(int(c.type)))
             for c in server.channels}
    return keys


def _normal(server: DesiredServer) -> tuple[Any, ...]:
    """What Gaib manages of a config, in the order export writes it (top-level channels, then each
    category's), with fields Discord does not keep (a voice topic, an empty topic) normalised."""

    def ows(items: tuple[DesiredOverwrite, ...]) -> dict[str, tuple[int, int]]:
        return {o.target: (o.allow, o.deny) for o in items}

    def chan(c: DesiredChannel) -> tuple[Any, ...]:
        voice = c.type in VOICE_LIKE
        return (c.name, c.type, c.category, None if voice else (c.topic or None), c.nsfw, c.slowmode,
                ows(c.overwrites))

    roles = [(r.name, r.permissions, r.color, r.hoist, r.mentionable) for r in server.roles]
    cats = [(c.name, ows(c.overwrites)) for c in server.categories]
    chans = [chan(c) for c in server.channels if c.category is None]
    for cat in server.categories:
        chans += [chan(c) for c in server.channels if c.category == cat.name]
    return roles, cats, chans


def _voice_settings(server: DesiredServer) -> dict[tuple[str | None, str], tuple[int | None, int | None]]:
    return {(c.category, c.name): (c.bitrate, c.user_limit) for c in server.channels if c.type in VOICE_LIKE}


# --- properties ----------------------------------------------------------------------------------


@given(server=servers(Pool(tuple(TRICKY_NAMES), ("A", "B"), tuple(TRICKY_CHANNEL_NAMES), ("x",))) | one_server)
@settings(max_examples=100, deadline=None, derandomize=True, database=None)
def test_config_dump_then_load_gives_the_same_server(server: DesiredServer) -> None:
    """Pure: the YAML that export writes loads back to exactly the server it was made from."""
    text = dump_config(from_desired(server))
    loaded = parse_config(text, environ={"HOME": "/nonexistent"})
    assert to_desired(loaded.config) == server


@pytest.mark.slow
@PROPERTY
@given(server=one_server)
def test_apply_converges_records_every_object_and_exports_the_same(
        emulator: EmulatorHandle, server: DesiredServer) -> None:
    emulator.reset()
    with _project(emulator) as first:
        first.write(server)
        result = first.apply()
        assert result["result"]["failed"] == []
        # (a) converged: the next plan is empty
        plan = first.plan()
        assert plan["empty"] is True, plan["changes"]
        # ... and the state holds one resource per config item, each with a live id
        state = first.state()
        n_items = len(server.roles) + len(server.categories) + len(server.channels)
        assert len(state) == n_items
        assert len({r["address"] for r in state}) == n_items
        roles, chans = _live(emulator)
        assert {r["id"] for r in state} == {r["id"] for r in roles} | {c["id"] for c in chans}
        live_names = {x["id"]: x["name"] for x in [*roles, *chans]}
        assert [live_names[r["id"]] for r in state] == [r["name"] for r in state]
        kinds = Counter(r["address"].split(".")[0] for r in state)
        assert (kinds["discord_role"], kinds["discord_category"], kinds["discord_channel"]) == (
            len(server.roles), len(server.categories), len(server.channels))
        # ... and export writes what was configured (in export's order)
        exported = first.export()
        back = to_desired(parse_config(exported, environ={}).config)
        assert _normal(back) == _normal(server)
        for where, (bitrate, users) in _voice_settings(server).items():
            live_bitrate, live_users = _voice_settings(back)[where]
            assert bitrate in (None, live_bitrate) and users in (None, live_users)

    # (b) export -> apply to a second empty guild with its own state -> export: same text
    emulator.reset()
    with _project(emulator) as second:
        second.write(exported)
        assert second.apply()["result"]["failed"] == []
        assert second.plan()["empty"] is True
        assert second.export() == exported


@pytest.mark.slow
@settings(PROPERTY, max_examples=EXAMPLES or 8)
@given(data=st.data())
def test_changing_config_keeps_ids_and_leaves_other_objects_alone(
        emulator: EmulatorHandle, data: st.DataObject) -> None:
    pool = data.draw(pools(), label="pool")
    a = data.draw(servers(pool), label="config A")
    b = data.draw(servers(pool), label="config B")
    emulator.reset()
    hand_role = _post(emulator, "roles", {"name": HAND_ROLE, "permissions": str(1 << 10 | 1 << 55), "color": 7})
    hand_chan = _post(emulator, "channels", {"name": HAND_CHANNEL, "topic": "made by a person",
                                             "permission_overwrites": [
                                                 {"id": emulator.guild_id, "type": 0, "allow": "0",
                                                  "deny": str(1 << 11)}]})
    with _project(emulator) as project:
        project.write(a)
        assert project.apply()["result"]["failed"] == []
        assert project.plan()["empty"] is True
        ids_a = _live_keys(emulator)
        project.write(b)
        assert project.apply()["result"]["failed"] == []
        plan = project.plan()
        assert plan["empty"] is True, plan["changes"]
        ids_b = _live_keys(emulator)
        surviving = _desired_keys(a) & _desired_keys(b)
        moved = {k: (ids_a[k], ids_b[k]) for k in surviving if ids_a[k] != ids_b[k]}
        assert moved == {}, f"objects that survived got new ids: {moved}"
        state = project.state()
        assert len(state) == len(b.roles) + len(b.categories) + len(b.channels)
        # nothing from A is left over, and the hand-made objects are still there, as they were
        roles, chans = _live(emulator)
        assert len(roles) == len(b.roles) + 1 and len(chans) == len(b.categories) + len(b.channels) + 1
        now_role = next(r for r in roles if r["id"] == hand_role["id"])
        now_chan = next(c for c in chans if c["id"] == hand_chan["id"])
        assert {**now_role, "position": 0} == {**hand_role, "position": 0}
        assert {**now_chan, "position": 0} == {**hand_chan, "position": 0}
        touched = [r for r in emulator.requests() if r["method"] in ("PATCH", "DELETE", "PUT")
                   and (hand_role["id"] in r["path"] or hand_chan["id"] in r["path"])]
        assert touched == []


# --- regressions the properties found ---------------------------------------------------------------

MOD = DesiredRole("Mod Team", permissions=1 << 3)
MOD_DASH = DesiredRole("mod-team", permissions=1 << 10, color=0x123456)


def test_reordering_roles_whose_slugs_collide_keeps_their_ids(emulator: EmulatorHandle) -> None:
    """"Mod Team" and "mod-team" both slug to mod_team; swapping them in the config used to swap
    their addresses, so each role was renamed into the other instead of keeping its id."""
    emulator.reset()
    with _project(emulator) as project:
        project.write(DesiredServer(None, roles=(MOD, MOD_DASH)))
        project.apply()
        before = _live_keys(emulator)
        project.write(DesiredServer(None, roles=(MOD_DASH, MOD)))
        changes = project.plan()["changes"]
        assert {c["action"] for c in changes} == {"adopt"}  # re-addressed, not renamed
        assert all(c["changes"] == [] for c in changes)
        project.apply()
        assert _live_keys(emulator) == before
        assert project.plan()["empty"] is True


def test_removing_an_item_whose_address_another_takes_over_keeps_the_survivor(emulator: EmulatorHandle) -> None:
    """Removing "Mod Team" gives "mod-team" the address mod_team; deleting the removed role used to
    drop that address from the state, so the survivor was forgotten and re-adopted on every plan."""
    emulator.reset()
    with _project(emulator) as project:
        project.write(DesiredServer(None, roles=(MOD, MOD_DASH)))
        project.apply()
        survivor = _live_keys(emulator)[("role", "mod-team")]
        project.write(DesiredServer(None, roles=(MOD_DASH,)))
        assert project.apply()["result"]["deleted"] == ["discord_role.mod_team"]
        assert [(r["address"], r["id"]) for r in project.state()] == [("discord_role.mod_team", survivor)]
        assert project.plan()["empty"] is True


def test_type_change_under_a_new_address_leaves_no_stale_state(emulator: EmulatorHandle) -> None:
    """A stage channel re-created as a forum under another address: the replaced object used to stay
    in the state, so the next plan wanted to forget it."""
    stage = DesiredChannel("${HOME}", ChannelType.STAGE)
    emulator.reset()
    with _project(emulator) as project:
        project.write(DesiredServer(None, categories=(DesiredCategory("c"),),
                                    channels=(stage, DesiredChannel("${HOME}", ChannelType.STAGE, "c"))))
        project.apply()
        old = _live_keys(emulator)[("channel", "", "${home}", 13)]
        project.write(DesiredServer(None, categories=(DesiredCategory("c"),),
                                    channels=(DesiredChannel("${home}", ChannelType.FORUM),)))
        project.apply()
        assert project.plan()["empty"] is True
        assert old not in {r["id"] for r in project.state()}
        assert len(project.state()) == 2


def test_same_name_in_another_category_is_not_taken_over(emulator: EmulatorHandle) -> None:
    """With "general" in two categories, dropping one must keep the other's id, whichever it is."""
    cats = (DesiredCategory("one"), DesiredCategory("two"))
    emulator.reset()
    with _project(emulator) as project:
        project.write(DesiredServer(None, categories=cats, channels=(
            DesiredChannel("general", category="one"), DesiredChannel("general", ChannelType.VOICE, "two"))))
        project.apply()
        voice = _live_keys(emulator)[("channel", "two", "general", 2)]
        project.write(DesiredServer(None, categories=cats, channels=(
            DesiredChannel("general", ChannelType.VOICE, "two"),)))
        project.apply()
        assert _live_keys(emulator)[("channel", "two", "general", 2)] == voice
        assert project.plan()["empty"] is True


# --- faults ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sietch_converges_through_5xx_drops_and_drops_after_processing(workdir: Path) -> None:
    """A create whose answer is lost after Discord made the object must not be made twice."""
    with running_emulator(args=("--rate-limits", "off", "--fault-rate", "0.15",
                                "--fault-kinds", "5xx,drop,drop-after", "--seed", "5")) as emu:
        project = Project(workdir, emu)
        project.write('version: "1.0"\ntheme:\n  name: sietch\n')
        result = project.cli("server", "apply", "--auto-approve", "--json")
        assert result.exit_code == 0, result.stdout + result.stderr[-3000:]
        faults = Counter(r["fault"] for r in emu.requests() if r["fault"])
        assert faults["drop-after"] > 0 and faults["drop"] > 0 and faults["5xx"] > 0, faults
        created_after_drop = [r for r in emu.requests() if r["fault"] == "drop-after" and r["method"] == "POST"]
        assert created_after_drop, "no create was processed and then cut off; pick another seed"
        emu.set_faults(rate=0.0)
        roles, chans = _live(emu)
        assert [n for n, k in Counter(r["name"] for r in roles).items() if k > 1] == []
        assert [k for k, n in Counter((c.get("parent_id"), c["name"], c["type"]) for c in chans).items()
                if n > 1] == []
        plan = project.plan()
        assert plan["empty"] is True, plan["changes"]
        assert len(project.state()) == len(roles) + len(chans)
