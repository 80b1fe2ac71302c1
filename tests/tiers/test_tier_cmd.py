"""``gaib server tier show`` and ``gaib server tier set``, on local storage and on S3 + DynamoDB (moto).

A tier change writes the TIER item with who and when, an audit record and a ``tier.changed`` event, and
re-tags every stored object of the server; the tags are read back from moto with boto3 (and from the
local store's sidecars), not through Gaib's own reader.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from gaib.storage.keys import TIER_SK, server_pk
from tests.support.cli import CliRunner
from tests.support.state import GUILD, seed_state
from tests.support.storage.raw import Storage, tags_of

T0 = datetime(2026, 11, 25, 17, 20, tzinfo=UTC)  # a Wednesday
REGISTRY = f"themes/{GUILD}/registry.json"


def events(cli: CliRunner) -> list[dict[str, Any]]:
    path = cli.cwd / ".gaib" / "backups" / ".events" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def store_registry(cli: CliRunner) -> None:
    """A document (the theme registry) beside the backups, as the registry writes it."""
    from gaib.storage.open import open_storage

    storage = Storage(cli)
    store, _ = open_storage(root=storage.root, bucket=storage.bucket, table=storage.table, region="us-east-1",
                            environ=cli.environ)
    store.replace(REGISTRY, b'{"history": []}', expected_generation=None,
                  tags={"Tier": "free", "ServerId": GUILD, "Kind": "registry"})


def caller_arn() -> str:
    import boto3

    return str(boto3.client("sts").get_caller_identity()["Arn"])


def test_show_on_a_new_server_is_free_with_its_limits_and_next_runs(bcli: CliRunner) -> None:
    bcli.clock = lambda: T0
    shown = bcli("server", "tier", "show", "--json").data
    assert shown["tier"] == "free" and shown["registered"] is False and shown["set_by"] is None
    assert shown["limits"]["on_demand_backups_per_day"] == 1 and shown["limits"]["retention_days"] == 7
    assert shown["limits"]["cross_region"] is False and shown["limits"]["theme_history_keep_last"] == 5
    assert shown["retention"]["backups"]["description"] == "keep 7 days, and always the newest"
    assert shown["next_scheduled_run"] == {"backup": "2026-11-26T03:00:00Z", "snapshot": None}
    assert shown["usage"]["objects"] == 0 and shown["usage"]["stored_bytes"] == 0
    text = bcli("server", "tier", "show")
    assert text.exit_code == 0
    assert "free tier" in text.stdout and "1 per UTC day" in text.stdout and "Next scheduled backup run" in text.stdout
    # Showing writes nothing.
    assert Storage(bcli).items() == []


def test_set_premium_writes_who_and_when_audits_and_retags_every_object(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    bcli.clock = lambda: T0
    bcli.environ["GAIB_ACTOR"] = "ops@example"
    made = bcli("server", "backup", "create", "--json").data
    store_registry(bcli)
    assert {k: v["Tier"] for k, v in tags_of(bcli).items()} == {made["key"]: "free", REGISTRY: "free"}

    # On AWS who changed it is the caller's identity as STS says (GAIB_ACTOR is self-declared: ignored there).
    who = caller_arn() if "GAIB_BACKUP_BUCKET" in bcli.environ else "ops@example"
    done = bcli("server", "tier", "set", "premium", "--yes", "--json")
    assert done.exit_code == 0, done.stdout
    change = done.data
    assert (change["previous_tier"], change["tier"], change["changed"]) == ("free", "premium", True)
    assert change["set_by"] == who and change["set_at"] == "2026-11-25T17:20:00Z"
    assert change["retagged"] == {"tier": "premium", "changed": 2, "unchanged": 0,
                                  "changed_bytes": change["retagged"]["changed_bytes"], "complete": True,
                                  "error": None, "failed_key": None}
    # Issue 25: on the local store, the notes say only what is true there (no us-west-2 replication note
    # followed by "replication exists only on S3").
    if "GAIB_BACKUP_BUCKET" in bcli.environ:
        assert any("S3 Batch Replication" in n for n in change["notes"])
        assert not any("local store" in n for n in change["notes"])
    else:
        assert [n for n in change["notes"] if "eplicat" in n or "Glacier" in n] == [
            "The backups are in the local store: the tags are recorded, but lifecycle rules and replication "
            "exist only on S3."]
        assert not any("us-west-2" in n for n in change["notes"])
    # Every object now carries Tier=premium (read past Gaib); other tags are kept.
    tags = tags_of(bcli)
    assert {k: v["Tier"] for k, v in tags.items()} == {made["key"]: "premium", REGISTRY: "premium"}
    assert tags[REGISTRY]["Kind"] == "registry" and tags[made["key"]]["ServerId"] == GUILD
    # The item, the audit record and the event.
    items = {i["SK"]: i for i in Storage(bcli).items() if i["PK"] == server_pk(GUILD)}
    assert {k: items[TIER_SK][k] for k in ("tier", "server_tier", "set_by", "set_at", "previous_tier")} == {
        "tier": "premium", "server_tier": "premium", "set_by": who, "set_at": "2026-11-25T17:20:00Z",
        "previous_tier": "free"}
    (audit,) = [i for sk, i in items.items() if sk.startswith("AUDIT#")]
    assert {k: audit[k] for k in ("action", "from", "to", "by", "at")} == {
        "action": "tier.set", "from": "free", "to": "premium", "by": who, "at": "2026-11-25T17:20:00Z"}
    (event,) = [e for e in events(bcli) if e["event"] == "tier.changed"]
    assert event["tier"] == "premium" and event["server_id"] == GUILD and event["id"] == audit["id"]
    # New backups are premium, and show says so, with who/when and the premium rows.
    assert bcli("server", "backup", "create", "--json").data["tier"] == "premium"
    shown = bcli("server", "tier", "show", "--json").data
    assert (shown["tier"], shown["set_by"], shown["previous_tier"]) == ("premium", who, "free")
    assert shown["next_scheduled_run"] == {"backup": "2026-11-25T18:00:00Z", "snapshot": "2026-11-29T04:00:00Z"}
    text = bcli("server", "tier", "show").stdout
    assert f"premium tier (set by {who} at 2026-11-25T17:20:00Z)" in text and "us-west-2" in text


def test_setting_again_retags_only_what_still_carries_another_tier(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    assert bcli("server", "backup", "create", "--json").exit_code == 0
    assert bcli("server", "tier", "set", "premium", "--yes").exit_code == 0
    store_registry(bcli)  # a writer that still read the old tier stores an object tagged free
    again = bcli("server", "tier", "set", "premium", "--yes", "--json").data
    assert again["changed"] is False and again["retagged"]["changed"] == 1 and again["retagged"]["unchanged"] == 1
    assert {v["Tier"] for v in tags_of(bcli).values()} == {"premium"}
    text = bcli("server", "tier", "set", "premium", "--yes")
    assert "(unchanged)" in text.stdout and "Re-tagged 0 objects" in text.stdout


def test_moving_back_to_free_retags_and_tells_what_prune_will_do(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    assert bcli("server", "tier", "set", "premium", "--yes").exit_code == 0
    assert bcli("server", "backup", "create", "--json").data["tier"] == "premium"
    down = bcli("server", "tier", "set", "free", "--yes")
    assert down.exit_code == 0
    assert "moved from the premium tier to free" in down.stdout
    assert "prune --dry-run" in down.stdout
    assert ("no longer replicated" in down.stdout) == ("GAIB_BACKUP_BUCKET" in bcli.environ)
    assert {v["Tier"] for v in tags_of(bcli).values()} == {"free"}


def test_a_stored_tier_that_is_not_a_tier_name_shows_as_free_with_a_warning(bcli: CliRunner) -> None:
    Storage(bcli).catalog().put_if_absent(server_pk(GUILD), TIER_SK, {"tier": "PREMIUM\x1b[31m",
                                                                      "server_tier": "premium"})
    shown = bcli("server", "tier", "show", "--json").data
    assert shown["tier"] == "free" and shown["limits"]["on_demand_backups_per_day"] == 1
    assert shown["unreadable_value"] == "'PREMIUM\\x1b[31m'"
    text = bcli("server", "tier", "show").stdout
    assert "is not a tier name; it reads as free" in text and "\x1b" not in text


def test_set_without_yes_and_without_a_terminal_changes_nothing(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    assert bcli("server", "backup", "create", "--json").exit_code == 0
    before = (Storage(bcli).items(), tags_of(bcli))
    refused = bcli("server", "tier", "set", "premium", "--json")
    assert refused.exit_code == 6 and refused.error["code"] == "CONFIRMATION_REQUIRED"
    assert (Storage(bcli).items(), tags_of(bcli)) == before
    asked = bcli("server", "tier", "set", "premium", input="n\n", tty=True)
    assert asked.exit_code == 6 and "Move server" in asked.stderr
    assert (Storage(bcli).items(), tags_of(bcli)) == before
    yes = bcli("server", "tier", "set", "premium", input="y\n", tty=True)
    assert yes.exit_code == 0 and bcli("server", "tier", "show", "--json").data["tier"] == "premium"


HOSTILE_TIERS = ["PREMIUM", "Premium", "premium ", " premium", "", "enterprise", "../premium", "premium\x00",
                 "__class__", "pr\u00e9mium", "x" * 10_000, "free;premium", "premium\n"]


@pytest.mark.parametrize("name", HOSTILE_TIERS, ids=range(len(HOSTILE_TIERS)))
def test_hostile_tier_names_exit_6_and_change_nothing(bcli: CliRunner, name: str) -> None:
    seed_state(bcli.cwd)
    assert bcli("server", "backup", "create", "--json").exit_code == 0
    before = (Storage(bcli).items(), tags_of(bcli))
    r = bcli("server", "tier", "set", name, "--yes", "--json")
    assert r.exit_code == 6, r.stdout
    assert r.error["code"] == "INVALID_TIER"
    assert len(r.stdout) < 2_000  # the name is never echoed whole
    assert (Storage(bcli).items(), tags_of(bcli)) == before


HOSTILE_SERVERS = ["../etc/passwd", "1 OR 1=1", "-5", "\uff11\uff12\uff13", "1" * 21, "123/456", "12%2e",
                   "x" * 5000, "1\x00"]


@pytest.mark.parametrize("server", HOSTILE_SERVERS, ids=range(len(HOSTILE_SERVERS)))
def test_hostile_server_ids_exit_6_before_anything_is_read_or_written(cli: CliRunner, server: str) -> None:
    for args in (("tier", "show"), ("tier", "set", "premium", "--yes"), ("backup", "prune", "--yes"),
                 ("snapshot", "prune", "--dry-run")):
        r = cli("server", *args, "-g", server, "--json")
        assert r.exit_code == 6, (args, r.stdout)
        assert r.error["code"] == "INVALID_NAME"
    assert not (cli.cwd / ".gaib").exists()


def test_a_retagging_stopped_by_the_storage_exits_8_and_running_set_again_finishes_it(cli: CliRunner) -> None:
    """Local store: the sidecar folder of the backups is replaced by a file, so their tags cannot be written."""
    import shutil

    cli.environ["DISCORD_GUILD_ID"] = GUILD
    seed_state(cli.cwd)
    assert cli("server", "backup", "create", "--json").exit_code == 0
    store_registry(cli)
    meta = cli.cwd / ".gaib" / "backups" / ".meta" / "state" / GUILD / "default"
    saved = meta.with_name("saved")
    shutil.move(meta, saved)
    meta.write_bytes(b"in the way")
    r = cli("server", "tier", "set", "premium", "--yes", "--json")
    assert r.exit_code == 8, r.stdout
    err = r.error
    assert err["code"] == "PARTIAL_FAILURE" and "is now on the premium tier" in err["message"]
    assert "run 'gaib server tier set premium --yes' again" in err["suggestion"]
    assert err["details"]["tier"]["retagged"]["complete"] is False
    assert cli("server", "tier", "show", "--json").data["tier"] == "premium"
    meta.unlink()
    shutil.move(saved, meta)
    again = cli("server", "tier", "set", "premium", "--yes", "--json")
    assert again.exit_code == 0, again.stdout
    assert {v["Tier"] for v in tags_of(cli).values()} == {"premium"}
