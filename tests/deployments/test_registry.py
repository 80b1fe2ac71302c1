"""The registry, history and audit commands; what apply records; retention by tier; damaged and hostile input."""

from __future__ import annotations

import gzip
import json
import shutil
import textwrap
from typing import Any

import pytest

from gaib.cli.context import Env
from gaib.settings import Settings
from gaib.storage.keys import TIER_SK, deployment_config_key, deployments_prefix, server_pk, theme_registry_key
from gaib.tiers.table import tier_item
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.discord.guild import Guild


def config(*roles: str) -> str:
    body = "".join(f"  - name: {r}\n" for r in roles)
    return (f'version: "1.0"\nroles:\n{body}categories:\n  - name: Info\n'
            "channels:\n  - name: rules\n    category: Info\n")


def app(cli: CliRunner) -> App:
    return App(Settings.resolve(Env(environ=cli.environ, cwd=cli.cwd)), clock=cli.clock)


def apply(reg: CliRunner, text: str, **env: str) -> dict[str, Any]:
    (reg.cwd / "discord-server.yaml").write_text(text)
    done = reg("server", "apply", "--auto-approve", "--json", env=env)
    assert done.exit_code == 0, done.stdout + done.stderr
    result: dict[str, Any] = done.data
    return result


def test_apply_records_deployments_that_registry_history_and_audit_show(reg: CliRunner) -> None:
    first = apply(reg, config("Admin"))["deployment"]
    assert first["kind"] == "apply" and first["result"] == "success" and first["theme"] is None
    assert first["counts"] == {"created": 3, "updated": 0, "deleted": 0, "failed": 0, "roles": 1, "categories": 1,
                               "channels": 1}
    assert (first["actor"], first["via"], first["previous"], first["parent"]) == ("tester", "cli", None, None)
    # An apply that changes nothing with the current deployment's config records nothing.
    again = apply(reg, config("Admin"))
    assert again["deployment"] is None and again["plan"]["empty"] is True
    second = apply(reg, config("Admin", "Member"), GAIB_ACTOR="ops-bot", CI="true")["deployment"]
    assert (second["actor"], second["via"], second["previous"], second["parent"]) == ("ops-bot", "ci", first["id"],
                                                                                      first["id"])
    assert second["serial"] > first["serial"] and second["config_sha256"] != first["config_sha256"]

    view = reg("server", "theme", "registry", "--json").data
    assert view["current"]["id"] == second["id"] and [d["id"] for d in view["recent"]] == [first["id"]]
    assert (view["tier"], view["keeps"]) == ("free", 5)
    text = reg("server", "theme", "registry").stdout
    assert f"current deployment {second['id']}" in text and "ops-bot (ci)" in text and "tester (cli)" in text

    page = reg("server", "theme", "history", "--limit", "1", "--json").data
    assert [d["id"] for d in page["deployments"]] == [second["id"]] and page["next_cursor"]
    rest = reg("server", "theme", "history", "--limit", "1", "--cursor", page["next_cursor"], "--json").data
    assert [d["id"] for d in rest["deployments"]] == [first["id"]] and rest["next_cursor"] is None

    # The registry document: the current deployment and the history, as the catalog has them.
    doc = json.loads(app(reg).store.get(theme_registry_key(reg.environ["DISCORD_GUILD_ID"])))
    assert doc["current"]["id"] == second["id"] and [e["id"] for e in doc["history"]] == [second["id"], first["id"]]

    events = reg("server", "theme", "audit", "--json").data["events"]
    assert [(e["what"], e["outcome"], e["from"], e["to"], e["actor"]) for e in events] == [
        ("deploy", "success", first["id"], second["id"], "ops-bot"), ("deploy", "success", None, first["id"], "tester")]
    assert reg("server", "theme", "audit", "--limit", "1", "--json").data["events"] == events[:1]


def test_a_failed_apply_records_nothing_but_the_audit_log_says_so(reg: CliRunner) -> None:
    apply(reg, config("Admin"))
    (reg.cwd / "discord-server.yaml").write_text(config("Admin", "Member"))
    wrong = "not-the-token-0123456789abcdef"
    failed = reg("server", "apply", "--auto-approve", "--json", env={"DISCORD_BOT_TOKEN": wrong})
    assert failed.exit_code == 4 and failed.error["code"] == "DISCORD_INVALID_TOKEN", failed.stdout
    assert len(reg("server", "theme", "history", "--json").data["deployments"]) == 1
    events = reg("server", "theme", "audit", "--json", env={"DISCORD_BOT_TOKEN": wrong}).data["events"]
    assert (events[0]["what"], events[0]["outcome"], events[0]["error"]["code"]) == (
        "failure", "failed", "DISCORD_INVALID_TOKEN")
    assert wrong not in json.dumps(events)


def test_a_partial_apply_is_recorded_as_partial(reg: CliRunner, guild: Any) -> None:
    apply(reg, config("Admin"))
    (reg.cwd / "discord-server.yaml").write_text(config("Admin", "Member", "Guest"))
    done = len(guild.requests())
    guild.set_faults(on_requests=range(done + 4, done + 12), kinds=["5xx"])  # the first create, every retry
    r = reg("server", "apply", "--auto-approve", "--json")
    guild.set_faults(rate=0.0)
    assert r.exit_code == 8, r.stdout
    recorded = r.error["details"]["deployment"]
    assert recorded["result"] == "partial" and recorded["counts"]["failed"] == 1 and recorded["counts"]["created"] == 1
    latest = reg("server", "theme", "history", "--json").data["deployments"][0]
    assert latest["id"] == recorded["id"]
    events = reg("server", "theme", "audit", "--json").data["events"]
    assert (events[0]["what"], events[0]["outcome"]) == ("deploy", "partial")
    # Finishing it records a successful deployment of the same config.
    finished = apply(reg, config("Admin", "Member", "Guest"))["deployment"]
    assert finished["result"] == "success" and finished["config_sha256"] == recorded["config_sha256"]


def test_the_free_tier_keeps_exactly_five_deployments_and_premium_keeps_all(reg: CliRunner) -> None:
    sid = reg.environ["DISCORD_GUILD_ID"]
    ids = [apply(reg, config(f"Role {i}"))["deployment"]["id"] for i in range(7)]
    listed = reg("server", "theme", "history", "--json").data["deployments"]
    assert [d["id"] for d in listed] == ids[::-1][:5]
    store = app(reg).store
    parts = sorted(o.key for o in store.list(deployments_prefix(sid)))
    assert parts == sorted(deployment_config_key(sid, i) for i in ids[2:])  # pruned with their config parts
    pruned = reg("server", "theme", "rollback", "--to", ids[0], "--dry-run", "--json")
    assert pruned.exit_code == 6 and pruned.error["code"] == "NOT_FOUND", pruned.stdout

    catalog = app(reg).catalog
    catalog.delete(server_pk(sid), TIER_SK)
    catalog.put_if_absent(server_pk(sid), TIER_SK, {**tier_item(sid, "premium"), "set_by": "operator"})
    more = [apply(reg, config(f"Role {i}"))["deployment"]["id"] for i in range(7, 10)]
    listed = reg("server", "theme", "history", "--json").data["deployments"]
    assert [d["id"] for d in listed] == (ids[2:] + more)[::-1]
    assert reg("server", "theme", "registry", "--json").data["keeps"] is None


def test_a_corrupted_config_part_is_refused_and_discord_is_untouched(reg: CliRunner, discord: Guild) -> None:
    sid = reg.environ["DISCORD_GUILD_ID"]
    first = apply(reg, config("Admin"))["deployment"]["id"]
    apply(reg, config("Admin", "Member"))
    store = app(reg).store
    key = deployment_config_key(sid, first)
    damaged = bytearray(store.get(key))
    damaged[len(damaged) // 2] ^= 0x01
    store.delete(key)
    store.put(key, bytes(damaged))
    mark = discord.mark()
    before = (reg.cwd / "discord-server.yaml").read_text()
    for args in (("--steps", "1", "--dry-run"), ("--steps", "1", "--yes"), ("--to", first, "--yes")):
        r = reg("server", "theme", "rollback", *args, "--json")
        assert r.exit_code == 3 and r.error["code"] == "INTEGRITY_ERROR", (args, r.stdout)
    assert discord.writes_since(mark) == []
    assert (reg.cwd / "discord-server.yaml").read_text() == before
    assert len(reg("server", "theme", "history", "--json").data["deployments"]) == 2
    failures = [e for e in reg("server", "theme", "audit", "--json").data["events"] if e["what"] == "failure"]
    assert len(failures) == 3 and {e["error"]["code"] for e in failures} == {"INTEGRITY_ERROR"}


@pytest.mark.parametrize("bad", ["../x", "20261125T170312042Z-A1B2C3D4", "x" * 5000, "20261125T170312042Z-a1b2c3d4/..",
                                 "２０２６", "%2e%2e", "", "20261325T170312042Z-a1b2c3d4",
                                 "20261125T170312042Z-a1b2c3d4"])
def test_hostile_or_unknown_to_ids_are_refused(reg: CliRunner, discord: Guild, bad: str) -> None:
    apply(reg, config("Admin"))
    mark = discord.mark()
    r = reg("server", "theme", "rollback", "--to", bad, "--yes", "--json")
    assert r.exit_code == 6 and r.error["code"] in ("INVALID_NAME", "NOT_FOUND"), r.stdout
    assert discord.writes_since(mark) == []


def test_an_id_of_another_server_is_refused(reg: CliRunner, discord: Guild) -> None:
    apply(reg, config("Admin"))
    other = reg("server", "theme", "history", "-g", "123456789012345678", "--json")
    assert other.exit_code == 0 and other.data["deployments"] == []
    # Record a deployment of another server in the same store, then name it from this one.
    from gaib.deployments.registry import record
    from gaib.deployments.store import NewDeployment

    ports = app(reg)
    theirs = record(ports, NewDeployment(server_id="123456789012345678", workspace="default", action="apply",
                                         actor="someone", via="cli", config_text=config("Theirs"), result="success"),
                    operation="apply", from_id=None).deployment.id
    mark = discord.mark()
    r = reg("server", "theme", "rollback", "--to", theirs, "--yes", "--json")
    assert r.exit_code == 6 and r.error["code"] == "NOT_FOUND", r.stdout
    assert discord.writes_since(mark) == []


THEME_YAML = textwrap.dedent("""
    name: castle
    version: "{version}"
    variables:
      motto:
        type: string
        default: "Stand fast"
      api_token:
        type: string
        default: "none"
""")
THEME_BODY = textwrap.dedent("""
    version: "1.0"
    roles:
      - name: Keeper
    categories:
      - name: Hall
    channels:
      - name: gate
        category: Hall
        topic: "${motto}"
{extra}
""")


def write_theme(reg: CliRunner, version: str, extra: str = "") -> None:
    folder = reg.cwd / "themes" / "castle"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "theme.yaml").write_text(THEME_YAML.format(version=version))
    (folder / "server.yaml").write_text(THEME_BODY.replace("{extra}", extra))


def test_rollback_works_after_the_theme_files_are_gone(reg: CliRunner, discord: Guild) -> None:
    write_theme(reg, "1.0.0")
    user = 'version: "1.0"\ntheme:\n  name: castle\n  variables:\n    motto: "Hold the line"\n'
    v1 = apply(reg, user)["deployment"]
    assert (v1["theme"]["name"], v1["theme"]["version"], v1["theme"]["origin"]) == ("castle", "1.0.0", "project")
    at_v1 = discord.names()
    write_theme(reg, "1.1.0", "      - name: tower\n        category: Hall\n")
    apply(reg, user)
    assert "tower" in discord.names()
    shutil.rmtree(reg.cwd / "themes")
    assert reg("server", "plan", "--json").exit_code == 2  # the config names a theme that is gone

    done = reg("server", "theme", "rollback", "--steps", "1", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert discord.names() == at_v1 and discord.channel("gate")["topic"] == "Hold the line"
    # The config file now stands alone (the theme merged in), so plan works without the theme's files.
    written = (reg.cwd / "discord-server.yaml").read_text()
    assert "castle 1.0.0" in written and "theme:" not in written
    assert reg("server", "plan", "--json").data["empty"] is True


def test_secrets_are_never_stored(reg: CliRunner, guild: Any) -> None:
    write_theme(reg, "1.0.0")
    token, api_key = guild.token, "sk-live-0123456789abcdef0123"
    user = textwrap.dedent("""
        version: "1.0"
        theme:
          name: castle
          variables:
            motto: "${MOTTO}"
            api_token: "${API_KEY}"
    """)
    (reg.cwd / "discord-server.yaml").write_text(user)
    done = reg("server", "apply", "--auto-approve", "--json", env={"MOTTO": "the-motto-from-env", "API_KEY": api_key})
    assert done.exit_code == 0, done.stdout
    variables = done.data["deployment"]["theme"]["variables"]
    # Only declared variables; one named like a secret is redacted; one from the environment is
    # recorded as the expression, never its value.
    assert variables == {"motto": "${MOTTO}", "api_token": "[redacted]"}
    assert "the-motto-from-env" not in json.dumps(done.data["deployment"])
    # The bot token itself, by reference or written out under an innocent name, is refused before
    # anything is applied or recorded (SECRET_REFUSED), and the refusal writes nothing, not even audit.
    history = reg("server", "theme", "history", "--json").data["deployments"]
    audit = reg("server", "theme", "audit", "--json").data["events"]
    for motto in ('"${DISCORD_BOT_TOKEN}"', f'"{token}"'):
        (reg.cwd / "discord-server.yaml").write_text(user.replace('"${MOTTO}"', motto))
        refused = reg("server", "apply", "--auto-approve", "--json", env={"API_KEY": api_key})
        assert refused.exit_code == 2 and refused.error["code"] == "SECRET_REFUSED", refused.stdout
        assert "theme.variables.motto" in refused.error["message"] and token not in refused.stdout
    assert reg("server", "theme", "history", "--json").data["deployments"] == history
    assert reg("server", "theme", "audit", "--json").data["events"] == audit
    # Nothing stored anywhere (items, parts, documents, audit events) holds the token or the key.
    store, catalog = app(reg).store, app(reg).catalog
    sid = reg.environ["DISCORD_GUILD_ID"]
    blobs = []
    for info in store.list(""):
        data = store.get(info.key)
        blobs.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    blobs.append(json.dumps(catalog.query(server_pk(sid), "", limit=1000).items).encode())
    assert blobs and not [b for b in blobs if token.encode() in b or api_key.encode() in b]


def test_a_refused_config_is_read_under_the_lock_yet_writes_nothing(reg: CliRunner, discord: Guild) -> None:
    """Apply reads the config while the guild is read (under the state lock): a refused one changes
    nothing, is not audited as a failed apply, and leaves the lock free for the next run."""
    first = apply(reg, config("Admin"))["deployment"]
    mark = discord.mark()
    (reg.cwd / "discord-server.yaml").write_text('version: "1.0"\nroles:\n  - name: Admin\n    color: "sand"\n')
    bad = reg("server", "apply", "--auto-approve", "--json")
    assert bad.exit_code == 2 and bad.error["code"] == "CONFIG_INVALID", bad.stdout
    assert discord.writes_since(mark) == []
    assert [e for e in reg("server", "theme", "audit", "--json").data["events"] if e["what"] == "failure"] == []
    assert reg("server", "locks", "--json").data["lock"] is None
    second = apply(reg, config("Admin", "Member"))["deployment"]
    assert second["previous"] == first["id"] and second["counts"]["created"] == 1
