"""What a deployment records about its theme and its author: the secret rule and the actor, as pure functions."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaib.cli.context import Env
from gaib.deployments.registry import recorded_variables, who
from gaib.settings import Settings

TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"


@pytest.mark.parametrize(("name", "value", "written", "recorded"), [
    ("community_name", "Arrakis", "Arrakis", "Arrakis"),
    ("monkey_count", 3, 3, 3),  # "key" only counts as a word of the name
    ("api_key", "k-123", "k-123", "[redacted]"),
    ("webhook", "https://x", "https://x", "[redacted]"),
    ("db_password_hint", "blue", "blue", "[redacted]"),
    ("motto", "from env", "${MOTTO}", "${MOTTO}"),
    ("motto", "from env", "Hi ${NAME:-you}", "Hi ${NAME:-you}"),
    ("motto", "${literal}", "$${literal}", "${literal}"),  # an escaped ${ is not the environment
    ("motto", TOKEN, TOKEN, "[redacted]"),  # a Discord-token-shaped value
    ("motto", "the-secret-bot-token", "the-secret-bot-token", "[redacted]"),  # the environment's token
    ("motto", "see https://discord.com/api/webhooks/1/abc", "x", "[redacted]"),
    ("motto", "x" * 300, "x", "x" * 200),
])
def test_the_secret_rule(name: str, value: object, written: object, recorded: object) -> None:
    environ = {"DISCORD_BOT_TOKEN": "the-secret-bot-token"}
    assert recorded_variables({name: value}, {name: written}, environ) == {name: recorded}


def test_only_the_values_given_are_recorded() -> None:
    # The resolved values are the theme's declared variables; anything else the file wrote is ignored.
    assert recorded_variables({"a": 1}, {"a": 1, "undeclared": "x"}, {}) == {"a": 1}


def settings(tmp_path: Path, **environ: str) -> Settings:
    return Settings.resolve(Env(environ=environ, cwd=tmp_path))


def test_who_is_the_actor_or_the_os_user_and_via_ci_when_ci_says_so(tmp_path: Path) -> None:
    assert who(settings(tmp_path, GAIB_ACTOR="deploy-bot", USER="alice")) == ("deploy-bot", "cli")
    assert who(settings(tmp_path, USER="alice", CI="true")) == ("alice", "ci")
    assert who(settings(tmp_path, USER="alice", CI="false")) == ("alice", "cli")
    assert who(settings(tmp_path, USER="alice"), "scheduled") == ("alice", "scheduled")
    assert who(settings(tmp_path, GAIB_ACTOR="evil\x1b[2Jname\n" + "x" * 100))[0].startswith("evil [2Jname x")
    assert len(who(settings(tmp_path, GAIB_ACTOR="y" * 500))[0]) <= 64
    assert who(settings(tmp_path))[0]  # the OS account when the environment names nobody
