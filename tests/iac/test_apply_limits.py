"""Apply against Discord's measured limits (the emulator's ``discord`` profile): the day-long caps stop
an apply cleanly and a later one finishes; renames wait for the 2-per-10-minutes limit instead of
hammering it; plan says both in advance; progress goes to stderr only."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from gaib.cli.context import Env
from gaib.cli.output import Output
from gaib.cli.progress import RunProgress
from gaib.discord.client import DiscordClient
from gaib.discord.port import DiscordPort
from gaib.iac import service
from gaib.iac.plan import render
from gaib.iac.progress import Tick
from gaib.settings import Settings
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.discord.control import LinkedClock, advance_clock, spend_caps
from tests.support.emulator import EmulatorHandle

ROLES = [f"Crew {i:02d}" for i in range(12)]
CAPPED_CONFIG = "\n".join([
    'version: "1.0"',
    "roles:",
    *(f"  - name: {name}" for name in ROLES),
    "categories:",
    "  - name: Deck",
    "    permissions:",
    '      "@everyone": {deny: [VIEW_CHANNEL]}',
    f'      "{ROLES[0]}": {{allow: [VIEW_CHANNEL]}}',
    "channels:",
    "  - name: bridge",
    "    category: Deck",
    "  - name: galley",
    "    category: Deck",
    "",
])


@pytest.fixture
def gaib(cli: CliRunner, limited: EmulatorHandle) -> CliRunner:
    cli.environ.update(limited.bot_environ())
    return cli


def _live(emu: EmulatorHandle) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    h = emu.auth_headers()
    roles = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/roles", headers=h).json()
    chans = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/channels", headers=h).json()
    return [r for r in roles if r["id"] != emu.guild_id], chans


def _state_ids(gaib: CliRunner) -> set[str]:
    return {r["id"] for r in gaib("server", "state", "ls", "--json").data["resources"]}


def test_a_spent_48_hour_budget_stops_apply_at_the_cap_and_a_later_apply_finishes(
        gaib: CliRunner, limited: EmulatorHandle) -> None:
    spend_caps(limited, role_creates=245)  # 5 role creates left in this window
    (gaib.cwd / "discord-server.yaml").write_text(CAPPED_CONFIG)
    first = gaib("server", "apply", "--auto-approve", "--json")
    assert first.exit_code == 8, first.stdout + first.stderr
    error = first.error
    assert error["code"] == "DISCORD_CAP_REACHED"
    assert "role create" in error["message"] and "250 per 48 h" in error["message"]
    roles, chans = _live(limited)
    assert len(roles) == 5 and {c["name"] for c in chans} == {"Deck", "bridge", "galley"}
    # consistent state: it holds exactly the objects that exist, nothing was created twice
    assert _state_ids(gaib) == {r["id"] for r in roles} | {c["id"] for c in chans}
    assert limited.stats()["invalid_requests"] <= 12  # at most the creates that were in flight together

    # the plan now knows the window is used up, from the headers of the last run
    planned = gaib("server", "plan", "--json").data
    caps = planned["caps"]
    assert caps["binds"] is True
    role_line = next(w for w in caps["windows"] if w["window"] == "role_creates")
    assert (role_line["needed"], role_line["remaining"], role_line["waiting"]) == (7, 0, 7)
    assert role_line["from_headers"] is True
    assert "creates 7 roles; Discord allows about 250 per 48 h — 7 will wait until" in role_line["message"]
    text = gaib("server", "plan")
    assert "Discord caps: creates 7 roles" in text.stdout

    # without --auto-approve, apply refuses such a plan even on a terminal
    refused = gaib("server", "apply", tty=True, input="y\n")
    assert refused.exit_code == 6 and "Discord's caps" in refused.stderr and "--auto-approve" in refused.stderr
    assert len(_live(limited)[0]) == 5

    advance_clock(limited, 48 * 3600 + 60)  # the emulator's two days pass
    second = gaib("server", "apply", "--auto-approve", "--json")
    assert second.exit_code == 0, second.stdout + second.stderr
    roles, chans = _live(limited)
    assert sorted(r["name"] for r in roles) == ROLES
    assert Counter(c["name"] for c in chans) == {"Deck": 1, "bridge": 1, "galley": 1}
    assert gaib("server", "plan", "--json").data["empty"] is True


def test_a_plan_that_fits_says_nothing_about_caps(gaib: CliRunner, limited: EmulatorHandle) -> None:
    (gaib.cwd / "discord-server.yaml").write_text(CAPPED_CONFIG)
    planned = gaib("server", "plan", "--json").data
    assert planned["caps"]["binds"] is False and planned["waits"] == []
    assert [w["needed"] for w in planned["caps"]["windows"]] == [12, 3]
    assert "Discord caps" not in gaib("server", "plan").stdout


def test_apply_output_is_one_json_object_and_progress_goes_to_stderr(gaib: CliRunner,
                                                                      limited: EmulatorHandle) -> None:
    (gaib.cwd / "discord-server.yaml").write_text(CAPPED_CONFIG)
    r = gaib("server", "apply", "--auto-approve", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json["success"] is True and r.stdout.startswith("{") and r.stdout.endswith("}\n")
    # 15 objects and the two position steps
    assert "Applying 17 change(s)" in r.stderr and "+ discord_role.crew_00" in r.stderr
    assert "channel positions" in r.stderr
    quiet = gaib("server", "destroy", "--yes", "--json", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_on_a_terminal_counts_objects_and_names_waits() -> None:
    stderr = _Terminal()
    out = Output(env=Env(stdout=io.StringIO(), stderr=stderr, environ={}, cwd=Path(".")))
    with RunProgress(out, "apply") as progress:
        assert progress.bar
        progress(Tick("start", total=3))
        progress(Tick("done", "+ discord_role.a (1)", "discord_role.a"))
        progress(Tick("wait", "Discord allows 2 per 10 min name/topic changes per channel (PATCH /channels/1)",
                      "PATCH /channels/1", seconds=580))
        progress(Tick("failed", "refused", "discord_channel.b"))
        progress(Tick("done", "~ discord_channel.c (3)", "discord_channel.c"))
    shown = stderr.getvalue()
    assert "3/3" in shown and "waiting 9 min 40 s" in shown and "! discord_channel.b: refused" in shown
    assert out.env.stdout.getvalue() == ""


# --- the name/topic limit, through the services with a clock linked to the emulator's -----------------


class _LinkedApp(App):
    """The composition root with the Discord client on a clock that moves the emulator's instead of
    sleeping (and gaib's own clock moving with it)."""

    def __init__(self, settings: Settings, link: LinkedClock) -> None:
        super().__init__(settings, clock=lambda: datetime.now(UTC) + timedelta(seconds=link.offset))
        self._link = link

    @property
    def discord(self) -> DiscordPort:
        if self._discord is None:
            s = self.settings
            self._discord = DiscordClient(s.discord_api_url, token=s.require_token(), guild_id=s.require_guild(),
                                          clock=self._link)
        return self._discord


def _channels(version: int) -> str:
    return 'version: "1.0"\nchannels:\n' + "".join(f"  - name: {n}\n    topic: {n} v{version}\n"
                                                  for n in ("alpha", "beta", "gamma"))


def test_topic_changes_wait_for_the_10_minute_limit_instead_of_hammering_it(tmp_path: Path,
                                                                            limited: EmulatorHandle) -> None:
    link = LinkedClock(limited)
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), cwd=tmp_path,
              environ=limited.bot_environ())

    def apply(version: int) -> tuple[list[Tick], dict[str, int]]:
        (tmp_path / "discord-server.yaml").write_text(_channels(version))
        ticks: list[Tick] = []
        before = limited.stats()
        with _LinkedApp(Settings.resolve(env), link) as app:
            service.apply(app, progress=ticks.append, confirm=lambda _p: None)
        after = limited.stats()
        return ticks, {k: after[k] - before[k] for k in ("requests", "invalid_requests", "rate_limited")}

    def edits() -> int:
        return sum(1 for r in limited.requests() if r["method"] == "PATCH" and r["route"] == "/channels/{channel_id}")

    apply(0)  # creates
    apply(1)  # first topic change of each channel
    apply(2)  # second
    # a third change within 10 minutes: plan says it waits, apply waits (no 429)
    (tmp_path / "discord-server.yaml").write_text(_channels(3))
    with _LinkedApp(Settings.resolve(env), link) as app:
        planned = service.make_plan(app).plan
    assert [w.address for w in planned.waits] == ["discord_channel.alpha", "discord_channel.beta",
                                                  "discord_channel.gamma"]
    assert all(500 < w.seconds <= 600 for w in planned.waits)
    assert "Wait: discord_channel.alpha: Discord allows 2 per 10 min name/topic changes" in render(planned)
    sent_before = edits()
    ticks, counted = apply(3)
    assert counted["invalid_requests"] == 0 and counted["rate_limited"] == 0
    assert edits() - sent_before == 3
    waits = [t for t in ticks if t.kind == "wait"]
    assert waits and all("name/topic" in t.text for t in waits) and max(t.seconds for t in waits) > 500
    assert link.sleeps and max(link.sleeps) > 500

    apply(4)  # the second change in the new window: no wait
    # without the cache (another machine), Discord's 429 teaches the limit: one per channel, no loop
    (tmp_path / ".gaib" / "discord-limits.json").unlink()
    sent_before = edits()
    ticks, counted = apply(5)
    # at most one 429 per channel (fewer when the first wait moved the shared clock past the others)
    assert 1 <= counted["invalid_requests"] <= 3
    assert edits() - sent_before == 3 + counted["invalid_requests"]  # a refused edit is sent once more
    assert {c["topic"] for c in _live(limited)[1]} == {"alpha v5", "beta v5", "gamma v5"}
    with _LinkedApp(Settings.resolve(env), link) as app:
        assert service.make_plan(app).plan.empty
