"""Issue 15's reproductions, one test each: every damaged file and odd setting gets its documented
error, and the documented recovery works. (Defect 6, apply after objects vanished, is covered by
tests/iac/test_apply_cycle.py.)"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gaib.errors import EXIT_CONFIG, EXIT_LOCKED, EXIT_STATE
from tests.support.cli import CliRunner
from tests.support.state import GUILD
from tests.support.tiers import on_tier
from tests.support.tree import fingerprint

LOCK = Path(".gaib/workspaces/default/.lock")
STATE = Path(".gaib/workspaces/default/terraform.tfstate")
CATALOG = Path(".gaib/backups/catalog.sqlite3")
BAD_ID = "20260101T000000000Z-0badbeef"


# --- 1: an unreadable lock file -----------------------------------------------------------------


@pytest.mark.parametrize("content", [b"\xff", b"\x00\x01binary", b"[" * 5000, b"[1]", b'{"ID": "torn',
                                     b'{"Who": [[[[1]]]], "ID": 7}'])
def test_an_unreadable_lock_is_shown_held_and_unlock_releases_it(project: CliRunner, content: bytes) -> None:
    (project.cwd / LOCK).write_bytes(content)

    shown = project("server", "locks", "--json")
    assert shown.exit_code == 0, shown.stdout
    assert shown.data["locked"] is True
    blocked = project("server", "backup", "restore", _first_backup(project), "--yes", "--json")
    assert blocked.exit_code == EXIT_LOCKED, blocked.stdout
    assert blocked.error["code"] == "STATE_LOCKED"

    released = project("server", "unlock", "--yes", "--json")
    assert released.exit_code == 0, released.stdout
    assert not (project.cwd / LOCK).exists()
    restored = project("server", "backup", "restore", _first_backup(project), "--yes", "--json")
    assert restored.exit_code == 0, restored.stdout


def test_a_folder_in_place_of_the_lock_is_a_state_error_not_a_crash(project: CliRunner) -> None:
    (project.cwd / LOCK).mkdir()
    assert project("server", "locks", "--json").data["locked"] is True
    result = project("server", "unlock", "--yes", "--json")
    assert result.exit_code == EXIT_STATE and result.error["code"] == "STATE_INVALID", result.stdout


def _first_backup(cli: CliRunner) -> str:
    listed = cli("server", "backup", "list", "--json")
    assert listed.exit_code == 0, listed.stdout
    return str(listed.data["backups"][0]["id"])


# --- 2: an empty or damaged catalog is an error, never re-initialised -----------------------------


@pytest.mark.parametrize("content", [b"", b"\xff" * 100, b"SQLite format 3\x00" + b"\x00" * 40, b"{}"])
def test_a_damaged_catalog_is_reported_and_left_untouched(project: CliRunner, content: bytes) -> None:
    (project.cwd / CATALOG).write_bytes(content)
    before = fingerprint(project.cwd)

    for args in (("backup", "list"), ("snapshot", "list"), ("backup", "create", "-m", "x")):
        result = project("server", *args, "--json")
        assert result.exit_code == EXIT_STATE, (args, result.stdout)
        assert result.error["code"] == "INTEGRITY_ERROR"
        assert "catalog" in result.error["message"] and "damaged" in result.error["message"]
    text = project("server", "backup", "list")
    assert text.exit_code == EXIT_STATE and "No backups" not in text.stdout
    assert fingerprint(project.cwd) == before  # not re-initialised, nothing else written


# --- 3: one damaged catalog item is reported and skipped ------------------------------------------


def _damage_sqlite(cwd: Path, body: str) -> None:
    """Write a raw item body into the catalog, as bit rot or a hand edit would (the tier index, which
    makes SQLite refuse malformed JSON in new rows, is dropped first, as on a catalog that predates it)."""
    with sqlite3.connect(cwd / CATALOG) as conn:
        conn.execute("DROP INDEX IF EXISTS items_by_server_tier")
        conn.execute("INSERT INTO items (pk, sk, body, expires_at) VALUES (?, ?, ?, NULL)",
                     (f"SERVER#{GUILD}", f"BACKUP#{BAD_ID[:19]}#{BAD_ID}", body))
    conn.close()


def _damage_dynamodb(cli: CliRunner, attributes: dict[str, object]) -> None:
    import boto3

    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=cli.environ["AWS_ENDPOINT_URL"])
    item = {"PK": {"S": f"SERVER#{GUILD}"}, "SK": {"S": f"BACKUP#{BAD_ID[:19]}#{BAD_ID}"}, **attributes}
    client.put_item(TableName=cli.environ["GAIB_BACKUP_TABLE"], Item=item)


SQLITE_BODIES = ['{not json', "[1]", "null", '"text"', "[" * 3000 + "]" * 3000,
                 '{"id": 5, "format_version": [1], "workspace": {}}', '{"n": 1e999}', '{"n": ' + "9" * 5000 + "}",
                 json.dumps({"format_version": 2, "kind": "backup", "id": BAD_ID, "parts": {"state": 7}})]
DYNAMO_ITEMS: list[dict[str, object]] = [
    {"id": {"B": b"\x00\xff"}},
    {"id": {"S": BAD_ID}, "format_version": {"SS": ["a", "b"]}, "workspace": {"N": "3"}},
    {"format_version": {"N": "2"}, "kind": {"S": "backup"}, "id": {"S": BAD_ID}, "parts": {"L": [{"N": "1"}]}},
    {"n": {"N": "1" + "0" * 100}},
    {"id": {"S": BAD_ID}, "message": {"BS": [b"\x01"]}},
]


def _assert_damaged_item_reported_and_deletable(cli: CliRunner) -> None:
    listed = cli("server", "backup", "list", "--json")
    assert listed.exit_code == 0, listed.stdout
    assert [b["message"] for b in listed.data["backups"]] == ["seed"]
    assert listed.data["damaged"] == [BAD_ID]
    text = cli("server", "backup", "list")
    assert text.exit_code == 0 and "seed" in text.stdout
    assert f"backup {BAD_ID} has a damaged catalog item" in text.stderr

    deleted = cli("server", "backup", "delete", BAD_ID, "--yes", "--json")
    assert deleted.exit_code == 0, deleted.stdout
    assert cli("server", "backup", "list", "--json").data["damaged"] == []


@pytest.mark.parametrize("body", SQLITE_BODIES, ids=range(len(SQLITE_BODIES)))
def test_one_damaged_sqlite_item_never_hides_the_other_backups(project: CliRunner, body: str) -> None:
    _damage_sqlite(project.cwd, body)
    _assert_damaged_item_reported_and_deletable(project)


@pytest.mark.parametrize("attributes", DYNAMO_ITEMS, ids=range(len(DYNAMO_ITEMS)))
def test_one_damaged_dynamodb_item_never_hides_the_other_backups(aws_project: CliRunner,
                                                                  attributes: dict[str, object]) -> None:
    _damage_dynamodb(aws_project, attributes)
    _assert_damaged_item_reported_and_deletable(aws_project)


def test_a_damaged_item_is_refused_by_writes_that_would_build_on_it(tmp_path: Path) -> None:
    from gaib.errors import IntegrityError
    from gaib.storage.sqlite_catalog import SqliteCatalog

    catalog = SqliteCatalog(tmp_path / "store")
    catalog.put_if_absent("SERVER#1", "QUOTA#x#20260101", {"count": 1})
    catalog.close()
    with sqlite3.connect(tmp_path / "store" / "catalog.sqlite3") as conn:
        conn.execute("UPDATE items SET body = '[2]'")
    conn.close()
    with pytest.raises(IntegrityError):
        catalog.increment("SERVER#1", "QUOTA#x#20260101", ceiling=10)
    with pytest.raises(IntegrityError):
        catalog.update("SERVER#1", "QUOTA#x#20260101", {"note": "x"})
    with sqlite3.connect(tmp_path / "store" / "catalog.sqlite3") as conn:
        assert conn.execute("SELECT body FROM items").fetchall() == [("[2]",)]
    conn.close()


# --- 4 and 8: a hostile state is STATE_INVALID at load ---------------------------------------------


def _state_doc(**changes: object) -> str:
    doc: dict[str, object] = {"version": 1, "serial": 5, "lineage": "abc-123", "workspace": "default",
                              "guild_id": GUILD, "resources": [], "outputs": {}}
    doc.update(changes)
    return json.dumps(doc)


HOSTILE_STATES = {
    "2000 nested lists": "[" * 2000 + "]" * 2000,
    "deep resources": _state_doc().replace('"resources": []', '"resources": ' + "[" * 200 + "]" * 200),
    "serial 10^400": _state_doc().replace('"serial": 5', '"serial": 1' + "0" * 400),
    "serial 2^63": _state_doc(serial=2**63),
    "serial 1e400": _state_doc().replace('"serial": 5', '"serial": 1e400'),
    "workspace ../..": _state_doc(workspace="../.."),
    "workspace with a newline": _state_doc(workspace="a\nb"),
    "guild id not digits": _state_doc(guild_id="../../x"),
    "guild id a list": _state_doc(guild_id=[1]),
    "NaN": _state_doc().replace('"serial": 5', '"serial": NaN'),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_STATES))
def test_a_hostile_state_is_state_invalid_at_load(project: CliRunner, name: str) -> None:
    (project.cwd / STATE).write_text(HOSTILE_STATES[name])
    before = fingerprint(project.cwd)
    for args in (("state", "ls"), ("backup", "create"), ("workspace", "show"), ("plan",)):
        result = project("server", *args, "--json")
        assert result.exit_code == EXIT_STATE, (args, result.stdout)
        assert result.error["code"] == "STATE_INVALID", result.stdout
        assert "terraform.tfstate" in result.error["message"]
    assert fingerprint(project.cwd) == before


# --- 5: lock_stale_after is range-checked at load --------------------------------------------------


@pytest.mark.parametrize("value", ["1e309", "-5", "0", "nan", "inf", "abc", "", "999999999999"])
def test_a_lock_stale_after_out_of_range_is_a_config_error(project: CliRunner, value: str) -> None:
    result = project("server", "locks", "--json", env={"GAIB_LOCK_STALE_AFTER": value})
    if value == "":
        assert result.exit_code == 0  # unset: the default
        return
    assert result.exit_code == EXIT_CONFIG, result.stdout
    assert result.error["code"] == "CONFIG_INVALID"
    assert "lock_stale_after" in result.error["message"]


def test_a_negative_lock_stale_after_in_gaib_yaml_never_lets_a_run_break_a_fresh_lock(project: CliRunner) -> None:
    backup_id = _first_backup(project)
    taker = project("server", "backup", "restore", backup_id, "--yes", "--json")  # a fresh lock, left held:
    assert taker.exit_code == 0                                                  # write one by hand
    fresh = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    (project.cwd / LOCK).write_text(json.dumps({"ID": "other", "Who": "someone@elsewhere (pid 1)",
                                                "Created": fresh, "Operation": "apply"}))
    (project.cwd / "gaib.yaml").write_text("backend:\n  lock_stale_after: -5\n")
    result = project("server", "backup", "restore", backup_id, "--yes", "--json")
    assert result.exit_code == EXIT_CONFIG and result.error["code"] == "CONFIG_INVALID", result.stdout
    assert "lock_stale_after" in result.error["message"]
    assert json.loads((project.cwd / LOCK).read_text())["ID"] == "other"


# --- 7: user text on a terminal is escaped ---------------------------------------------------------


def test_a_backup_message_with_control_characters_is_escaped_on_the_terminal(project: CliRunner) -> None:
    on_tier(project, "premium")  # a second on-demand backup today
    made = project("server", "backup", "create", "-m", "\x1b[31mred\nfake row\u202e", "--json")
    assert made.exit_code == 0, made.stdout
    text = project("server", "backup", "list")
    assert "\x1b" not in text.stdout and "\u202e" not in text.stdout
    assert "\\x1b[31mred\\x0afake row\\u202e" in text.stdout
    assert len(text.stdout.strip().splitlines()) == 3  # header and two rows: no fake row
    data = project("server", "backup", "list", "--json")
    assert "\u202e" not in data.stdout  # escaped in the JSON text, same value once decoded
    assert data.data["backups"][0]["message"] == "\x1b[31mred\nfake row\u202e"


def test_a_lock_holder_with_control_characters_is_escaped(project: CliRunner) -> None:
    fresh = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    (project.cwd / LOCK).write_text(json.dumps({"ID": "x\x1b[2J", "Who": "evil\x1b]0;title\x07\nfake: line",
                                                "Created": fresh, "Operation": "apply"}))
    shown = project("server", "locks")
    assert shown.exit_code == 0
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "evil\\x1b]0;title\\x07\\x0afake: line" in shown.stdout
    blocked = project("server", "backup", "restore", _first_backup(project), "--yes")
    assert blocked.exit_code == EXIT_LOCKED
    assert "\x1b" not in blocked.stderr and "evil\\x1b]0;title" in blocked.stderr


def test_error_messages_quoting_user_input_are_escaped(project: CliRunner) -> None:
    result = project("server", "state", "show", "discord_role.\x1b[31mx")
    assert result.exit_code != 0
    assert "\x1b" not in result.stderr and "\\x1b" in result.stderr


# --- 9: the bot token never reaches a stored file --------------------------------------------------

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.fake-token-for-the-tests_0123456789"
CONFIG = """version: "1.0"
roles:
  - name: Members
channels:
  - name: general
    topic: "{topic}"
"""


@pytest.mark.parametrize("topic,env", [
    ("${DISCORD_BOT_TOKEN}", {}),
    ("token is ${MY_COPY}", {"MY_COPY": TOKEN}),
    (TOKEN, {}),
])
def test_a_config_holding_the_token_is_refused_naming_the_field(project: CliRunner, topic: str,
                                                                  env: dict[str, str]) -> None:
    (project.cwd / "discord-server.yaml").write_text(CONFIG.format(topic=topic))
    before = fingerprint(project.cwd)
    for args in (("plan",), ("apply", "--auto-approve")):
        result = project("server", *args, "--json", env={"DISCORD_BOT_TOKEN": TOKEN, **env})
        assert result.exit_code == EXIT_CONFIG, result.stdout
        assert result.error["code"] == "SECRET_REFUSED"
        assert "discord-server.yaml:6" in result.error["message"] and "channels[0].topic" in result.error["message"]
        assert TOKEN not in result.stdout + result.stderr
    assert fingerprint(project.cwd) == before


def test_a_backup_message_holding_the_token_is_refused_and_nothing_is_stored(bproject: CliRunner) -> None:
    before = bproject("server", "backup", "list", "--json").data["backups"]
    result = bproject("server", "backup", "create", "-m", f"token {TOKEN}", "--json",
                      env={"DISCORD_BOT_TOKEN": TOKEN})
    assert result.exit_code == EXIT_CONFIG and result.error["code"] == "SECRET_REFUSED", result.stdout
    assert "message" in result.error["message"]
    assert bproject("server", "backup", "list", "--json").data["backups"] == before
    # Refused before the quota and before Discord is read (Discord points nowhere here).
    snap = bproject("server", "snapshot", "create", "-m", f"token {TOKEN}", "--json", env={"DISCORD_BOT_TOKEN": TOKEN})
    assert snap.exit_code == EXIT_CONFIG and snap.error["code"] == "SECRET_REFUSED", snap.stdout
    assert TOKEN not in snap.stdout + snap.stderr
    assert bproject("server", "snapshot", "list", "--json").data["snapshots"] == []


def test_every_storing_port_refuses_the_token(project: CliRunner) -> None:
    from gaib.cli.context import Env
    from gaib.errors import SecretRefused
    from gaib.settings import Settings
    from gaib.state.model import Instance, Resource
    from gaib.wiring import App

    env = Env(environ={**project.environ, "DISCORD_BOT_TOKEN": TOKEN}, cwd=project.cwd)
    before = fingerprint(project.cwd)
    with App(Settings.resolve(env)) as app:
        state = app.state.get("default")
        assert state is not None
        state.serial += 1
        state.resources.append(Resource(type="discord_channel", name="leak", instances=[
            Instance(attributes={"id": "1", "name": "leak", "topic": f"see {TOKEN}"})]))
        with pytest.raises(SecretRefused, match=r"resources\[3\]\.instances\[0\]\.attributes\.topic"):
            app.state.put(state, expected_serial=4)
        import gzip

        with pytest.raises(SecretRefused, match="line 2"):
            app.store.put(f"exports/{GUILD}/config.20260101T000000000Z-00000000.yaml",
                          gzip.compress(f"a: 1\nb: {TOKEN}\n".encode()))
        with pytest.raises(SecretRefused, match="note"):
            app.catalog.put_if_absent(f"SERVER#{GUILD}", "X", {"note": TOKEN})
    assert fingerprint(project.cwd) == before


def test_names_from_files_are_escaped_in_listings(project: CliRunner) -> None:
    doc = json.loads((project.cwd / STATE).read_text())
    doc["resources"][0]["name"] = "mods\x1b[2J\nfake"
    (project.cwd / STATE).write_text(json.dumps(doc))
    listed = project("server", "state", "ls")
    assert listed.exit_code == 0 and "\x1b" not in listed.stdout
    assert "discord_role.mods\\x1b[2J\\x0afake" in listed.stdout
    theme = project.cwd / "themes" / "evil"
    theme.mkdir(parents=True)
    (theme / "theme.yaml").write_text('name: evil\nversion: 1.0.0\ndescription: "\\e[31mred\\u202e"\n')
    (theme / "server.yaml").write_text("roles: []\n")
    themes = project("server", "theme", "ls")
    assert themes.exit_code == 0 and "\x1b" not in themes.stdout and "\u202e" not in themes.stdout
    assert "\\x1b[31mred\\u202e" in themes.stdout
