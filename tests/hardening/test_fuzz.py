"""Fuzzing every reader and the settings: random bytes, deep nesting, huge numbers and wrong types.

Each reader of a kind of file must answer with that kind's documented error (state → StateError,
lock → a readable "unknown holder" record, catalog item → the damaged stand-in, manifest and stored
document → IntegrityError, config / gaib.yaml / theme → ConfigError) and never anything else. The
CLI-level properties add: a documented exit code, never INTERNAL_ERROR, and nothing written by a
read-only command (or by a command that failed).

Bounded for CI: derandomized, a few dozen examples each (the CLI runs in-process, so the whole
module takes seconds; nothing here needs the slow mark).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gaib.bundles import codec
from gaib.bundles.manifest import Manifest, Part, decode_manifest, parse_manifest, seal
from gaib.config.source import parse_yaml
from gaib.errors import EXIT_CONFIG, EXIT_INVALID_INPUT, ConfigError, GaibError, IntegrityError, StateError
from gaib.notify.local import read_events
from gaib.state.backend import LockInfo, lock_from_json
from gaib.state.model import State, parse_state
from gaib.storage.base import damaged_reason
from gaib.storage.documents import decode_json_document
from gaib.storage.items import check_query, decode_item, normalise_item
from tests.support.cli import CliRunner
from tests.support.exits import assert_documented
from tests.support.state import GUILD
from tests.support.store import make_project
from tests.support.tiers import on_tier
from tests.support.tree import fingerprint

FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CLI = settings(max_examples=40, deadline=None, derandomize=True, database=None,
               phases=(Phase.explicit, Phase.generate),
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture])

# --- strategies ----------------------------------------------------------------------------------

HUGE_INTS = st.sampled_from([2**63, 2**64 + 1, -(2**63) - 1, 10**39, 10**400, -(10**400)])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), HUGE_INTS,
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)


def _nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    if kind == "object":
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b"[" * depth  # unterminated


DEEP = st.builds(_nested, st.sampled_from([65, 300, 1100, 5000, 20000]), st.sampled_from(["list", "object", "open"]))
NUMBERS = st.sampled_from([b"1" + b"0" * 400, b"9" * 5000, b"1e400", b"-1e400", b"NaN", b"Infinity", b"1e-400",
                           b"[1e309]", b'{"serial": ' + b"9" * 4400 + b"}"])
NOT_UTF8 = st.sampled_from([b"\xff", b"\xfe\xff\x00{", b'{"a": "\xc3\x28"}', b"\x80" * 10, b"\xef\xbb\xbf{}"])


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()


HOSTILE_BYTES = st.one_of(st.binary(max_size=300), DEEP, NUMBERS, NOT_UTF8, JSON_VALUES.map(_json_bytes))


@st.composite
def _mutation(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(doc))
    target = out
    nested = sorted(k for k, v in out.items() if isinstance(v, dict) and v)
    if nested and draw(st.booleans()):
        target = out[draw(st.sampled_from(nested))]
    key = draw(st.sampled_from(sorted(target)))
    if draw(st.integers(0, 4)) == 0:
        del target[key]
    else:
        target[key] = draw(JSON_VALUES)
    return out


def _mutated(doc: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``doc`` with one field (top level or one level down) replaced by a random JSON value, or dropped."""
    return _mutation(doc)


def _valid_state() -> dict[str, Any]:
    return {"version": 1, "serial": 7, "lineage": "abc-123", "workspace": "default", "guild_id": GUILD,
            "resources": [{"mode": "managed", "type": "discord_role", "name": "mods", "provider": "p",
                           "instances": [{"schema_version": 0, "attributes": {"id": "1", "name": "Mods"}}]}],
            "outputs": {}}


def _valid_manifest() -> dict[str, Any]:
    enc = codec.encode(b"{}")
    part = Part(key=f"state/{GUILD}/default/backup.x.json.gz", codec=enc.codec, plain_size=enc.plain_size,
                stored_size=enc.stored_size, plain_sha256=enc.plain_sha256, stored_sha256=enc.stored_sha256)
    return seal(Manifest(kind="backup", id="20260101T000000000Z-00000000", server_id=GUILD, workspace="default",
                         created_at="2026-01-01T00:00:00Z", trigger="on-demand", tier="free", message="m",
                         serial=1, lineage="l", parts={"state": part}, counts={"resources": 0})).to_dict()


# --- readers of bytes ------------------------------------------------------------------------------


@FAST
@given(raw=st.one_of(HOSTILE_BYTES, _mutated(_valid_state()).map(_json_bytes)))
def test_state_reader_raises_only_state_errors(raw: bytes) -> None:
    try:
        state = parse_state(raw, "fuzz.tfstate")
    except StateError as exc:
        assert exc.exit_code == 3 and "fuzz.tfstate" in exc.message
        return
    assert isinstance(state, State)
    State.to_json(state)  # whatever loads can be written back
    json.loads(state.to_json())


@FAST
@given(raw=HOSTILE_BYTES)
def test_lock_reader_always_answers_with_a_lock_record(raw: bytes) -> None:
    info = lock_from_json(raw, "fuzz.lock")
    assert isinstance(info, LockInfo)
    assert all(isinstance(v, str) and len(v) <= 400 for v in info.to_dict().values())
    info.held_error()  # the "locked by ..." message can always be built


@FAST
@given(raw=st.one_of(HOSTILE_BYTES, st.text(max_size=200).map(str.encode)))
def test_catalog_item_reader_answers_an_item_or_the_damaged_stand_in(raw: bytes) -> None:
    item = decode_item(raw, "SERVER#1", "BACKUP#x")
    assert isinstance(item, dict)
    if damaged_reason(item) is None:
        assert normalise_item(item) == item  # a readable item is one any adapter could have stored


@FAST
@given(doc=st.one_of(JSON_VALUES, _mutated(_valid_manifest())))
def test_manifest_reader_raises_only_integrity_errors(doc: Any) -> None:
    try:
        manifest = parse_manifest(doc, "fuzz manifest")
    except IntegrityError:
        return
    assert isinstance(manifest, Manifest)
    assert seal(manifest).manifest_sha256 == manifest.manifest_sha256


@FAST
@given(raw=HOSTILE_BYTES)
def test_manifest_and_document_bytes_readers_raise_only_integrity_errors(raw: bytes) -> None:
    for read in (lambda: decode_manifest(raw, "snapshots/1/x/manifest.json"),
                 lambda: decode_json_document(raw, "themes/1/registry.json")):
        try:
            read()
        except IntegrityError as exc:
            assert exc.exit_code == 3
            continue


@FAST
@given(raw=st.one_of(st.binary(max_size=300), DEEP, NUMBERS, st.binary(max_size=50).map(lambda b: b"\x1f\x8b" + b)))
def test_part_decoder_raises_only_integrity_errors(raw: bytes) -> None:
    stored_sha = hashlib.sha256(raw).hexdigest()  # the stored checksum matches: decompression is tried
    try:
        codec.decode(raw, expected_plain_sha256="0" * 64, expected_stored_sha256=stored_sha, key="k")
    except IntegrityError:
        return
    pytest.fail("random bytes decoded to the expected plain checksum")


@FAST
@given(cursor=st.one_of(st.text(max_size=50), DEEP.map(lambda b: base64.urlsafe_b64encode(b[:3000]).decode()),
                        JSON_VALUES.map(lambda v: base64.urlsafe_b64encode(_json_bytes(v)).decode())))
def test_cursor_decoding_raises_only_invalid_input(cursor: str) -> None:
    try:
        check_query("SERVER#1", "BACKUP#", 10, cursor)
    except GaibError as exc:
        assert exc.exit_code == EXIT_INVALID_INPUT


@FAST
@given(raw=st.lists(HOSTILE_BYTES, max_size=4))
def test_events_reader_skips_what_it_cannot_read(tmp_path_factory: pytest.TempPathFactory, raw: list[bytes]) -> None:
    path = tmp_path_factory.mktemp("events") / "events.jsonl"
    path.write_bytes(b"\n".join(raw) + b"\n")
    events = read_events(path)
    assert all(isinstance(e, dict) for e in events)


# --- YAML readers: config, theme, gaib.yaml ----------------------------------------------------------

# PyYAML takes seconds to give up on thousands of nesting levels, so the random pool nests a few
# hundred deep (past every limit already) and the regression tests try the deeper files once.
YAML_BYTES = st.one_of(
    st.binary(max_size=300), NUMBERS, NOT_UTF8, JSON_VALUES.map(_json_bytes),
    st.builds(lambda n, kind: _nested(n, kind), st.sampled_from([65, 100, 400]), st.sampled_from(["list", "object"])),
    JSON_VALUES.map(lambda v: json.dumps({"version": "1.0", "roles": v}).encode()),
    st.sampled_from([b"a: " + b"[" * 300,
                     b"a: &x [1]\n" + b"".join(b"b%d: &x%d [*x, *x]\n" % (i, i) for i in range(40)),
                     b"a: !!python/object:os.system 1", b"a: 1\na: 2", b"roles:\n  - name: " + b"9" * 5000,
                     b"version: '1.0'\nroles:\n  - {name: x, color: " + b"9" * 400 + b"}", b"\x00"]),
)


YAML = settings(FAST, max_examples=30)


@YAML
@given(raw=YAML_BYTES)
def test_config_reader_raises_only_config_errors(raw: bytes) -> None:
    from gaib.config.load import read_config

    try:
        read_config(raw, filename="discord-server.yaml", environ={})
    except ConfigError as exc:
        assert exc.exit_code == EXIT_CONFIG
    with contextlib.suppress(ConfigError):
        parse_yaml(raw, "x.yaml", allow_empty=True)


@YAML
@given(manifest=YAML_BYTES, body=YAML_BYTES)
def test_theme_reader_raises_only_config_errors(tmp_path_factory: pytest.TempPathFactory, manifest: bytes,
                                                 body: bytes) -> None:
    from gaib.themes.loader import ThemeSearch, discover, read_theme

    root = tmp_path_factory.mktemp("themes")
    folder = root / "themes" / "fuzz"
    folder.mkdir(parents=True)
    (folder / "theme.yaml").write_bytes(manifest)
    (folder / "server.yaml").write_bytes(body)
    try:
        theme = read_theme(folder, "project")
        theme.render_defaults()
    except ConfigError:
        pass
    found, broken = discover(ThemeSearch(project_dir=root, home=None))
    assert any(t.name == "fuzz" for t in found) or any(b.name == "fuzz" for b in broken)


@YAML
@given(raw=st.one_of(YAML_BYTES, st.builds(lambda k, v: json.dumps({"backend": {k: v}}).encode(),
                                          st.sampled_from(["type", "bucket", "path", "lock_stale_after", "region"]),
                                          JSON_VALUES)))
def test_project_file_raises_only_config_errors(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    from gaib.cli.context import Env
    from gaib.settings import Settings

    cwd = tmp_path_factory.mktemp("project")
    (cwd / "gaib.yaml").write_bytes(raw)
    try:
        Settings.resolve(Env(environ={}, cwd=cwd))
    except GaibError as exc:
        assert exc.exit_code in (EXIT_CONFIG, EXIT_INVALID_INPUT), exc.to_dict()


SETTING_TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["1e309", "-5", "0", "nan", "inf", "-inf", "1e-9",
                                                                "999999999999", "3600", "\x00", "../..", "a\x00b"]))


@FAST
@given(name=st.sampled_from(["GAIB_LOCK_STALE_AFTER", "GAIB_WORKSPACE", "DISCORD_GUILD_ID", "GAIB_STATE_PATH",
                             "GAIB_BACKUP_PATH", "GAIB_CONFIG", "GAIB_BACKEND"]), value=SETTING_TEXT)
def test_settings_are_checked_at_load(tmp_path_factory: pytest.TempPathFactory, name: str, value: str) -> None:
    from gaib.cli.context import Env
    from gaib.setting_values import MAX_LOCK_STALE_SECONDS
    from gaib.settings import Settings

    try:
        s = Settings.resolve(Env(environ={name: value}, cwd=tmp_path_factory.mktemp("settings")))
    except GaibError as exc:
        assert exc.exit_code in (EXIT_CONFIG, EXIT_INVALID_INPUT), exc.to_dict()
        return
    assert 0 < s.lock_stale_after.total_seconds() <= MAX_LOCK_STALE_SECONDS
    assert "\x00" not in str(s.state_dir) + str(s.backup_dir) + str(s.config_file)


# --- the CLI: documented exit codes, never INTERNAL_ERROR, nothing written ---------------------------

TARGETS = {
    "state": ".gaib/workspaces/default/terraform.tfstate",
    "lock": ".gaib/workspaces/default/.lock",
    "gaib.yaml": "gaib.yaml",
    "workspace file": ".gaib/workspace",
    "format-version": ".gaib/backups/format-version",
    "config": "discord-server.yaml",
}
READ_ONLY = [("backup", "list"), ("snapshot", "list"), ("state", "ls"), ("locks",), ("workspace", "show"),
             ("theme", "ls")]
WRITING = [("backup", "create", "-m", "fuzz"), ("plan",)]


@pytest.fixture(scope="module")
def fuzz_project(tmp_path_factory: pytest.TempPathFactory) -> CliRunner:
    """One seeded project (state, one backup); each example works on a fresh copy of it."""
    import shutil

    base = tmp_path_factory.mktemp("fuzz-base")
    cli = CliRunner(cwd=base, environ={k: v for k, v in os.environ.items()
                                       if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))})

    project = make_project(cli)
    on_tier(project, "premium")  # so 'backup create' reaches the files under test, not the daily quota
    shutil.rmtree(base / ".gaib" / "backups" / ".locks", ignore_errors=True)
    return project


def _copy(project: CliRunner, tmp_path: Path, n: int) -> CliRunner:
    import shutil

    target = tmp_path / f"case-{n}"
    shutil.copytree(project.cwd, target)
    return CliRunner(cwd=target, environ=dict(project.environ))


@CLI
@given(target=st.sampled_from(sorted(TARGETS)), raw=HOSTILE_BYTES)
def test_cli_on_a_damaged_file_gives_documented_errors_and_writes_nothing(
        fuzz_project: CliRunner, tmp_path_factory: pytest.TempPathFactory, target: str, raw: bytes) -> None:
    cli = _copy(fuzz_project, tmp_path_factory.mktemp("cli"), 0)
    (cli.cwd / TARGETS[target]).write_bytes(raw)
    before = fingerprint(cli.cwd)
    for args in READ_ONLY:
        result = cli("server", *args, "--json")
        assert_documented(result)
        assert fingerprint(cli.cwd) == before, (target, args)
    for args in WRITING:
        before = fingerprint(cli.cwd)
        result = cli("server", *args, "--json")
        assert_documented(result)
        if result.exit_code != 0:
            assert fingerprint(cli.cwd) == before, (target, args, result.stdout)


@CLI
@given(name=st.sampled_from(["GAIB_LOCK_STALE_AFTER", "GAIB_WORKSPACE", "DISCORD_GUILD_ID", "GAIB_STATE_PATH",
                             "GAIB_BACKUP_PATH", "GAIB_CONFIG"]), value=SETTING_TEXT)
def test_cli_with_an_odd_setting_gives_documented_errors_and_writes_nothing(
        fuzz_project: CliRunner, tmp_path_factory: pytest.TempPathFactory, name: str, value: str) -> None:
    cli = _copy(fuzz_project, tmp_path_factory.mktemp("cli"), 0)
    before = fingerprint(cli.cwd)
    for args in READ_ONLY:
        result = cli("server", *args, "--json", env={name: value})
        assert_documented(result)
        assert fingerprint(cli.cwd) == before, (name, value, args)


@CLI
@given(body=st.one_of(HOSTILE_BYTES.map(lambda b: b.decode("utf-8", "replace")),
                      _mutated(_valid_manifest()).map(json.dumps)))
def test_cli_lists_around_a_damaged_catalog_item(fuzz_project: CliRunner, tmp_path_factory: pytest.TempPathFactory,
                                                 body: str) -> None:
    import sqlite3

    cli = _copy(fuzz_project, tmp_path_factory.mktemp("cli"), 0)
    with sqlite3.connect(cli.cwd / ".gaib/backups/catalog.sqlite3") as conn:
        conn.execute("DROP INDEX IF EXISTS items_by_server_tier")
        conn.execute("INSERT INTO items VALUES (?, ?, ?, NULL)",
                     (f"SERVER#{GUILD}", "BACKUP#20990101T000000000Z#20990101T000000000Z-00000000", body))
    conn.close()
    before = fingerprint(cli.cwd)
    listed = cli("server", "backup", "list", "--json")
    assert listed.exit_code == 0, listed.stdout
    assert any(b["message"] == "seed" for b in listed.data["backups"])
    assert fingerprint(cli.cwd) == before
