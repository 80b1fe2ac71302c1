"""The SNS → Discord notifier Lambda, run against a real local webhook endpoint and moto's server."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import boto3
import pytest

from gaib.aws_lambda import discord_notifier as dn
from tests.support.webhook import WEBHOOK_ID, WEBHOOK_TOKEN, Reply, WebhookSink

FAST = dn.RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, timeout=5.0)


def sns_event(*messages: str, subject: str | None = None) -> dict[str, Any]:
    records = []
    for text in messages:
        sns: dict[str, Any] = {"Type": "Notification", "MessageId": str(uuid.uuid4()), "Message": text}
        if subject is not None:
            sns["Subject"] = subject
        records.append({"EventSource": "aws:sns", "Sns": sns})
    return {"Records": records}


def gaib_message(**overrides: Any) -> str:
    msg: dict[str, Any] = {
        "event": "backup.failed",
        "server_id": "123456789012345678",
        "workspace": "default",
        "tier": "premium",
        "id": "20250101T030000Z-abc123",
        "message": "Scheduled backup failed",
        "error": {"code": "STORAGE_ERROR", "message": "S3 PutObject returned 503"},
        "sizes": {"stored_bytes": 2048, "plain_bytes": 1572864},
        "at": "2025-01-01T03:00:05Z",
    }
    msg.update(overrides)
    return json.dumps(msg)


def field_map(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


def assert_within_discord_limits(embed: dict[str, Any]) -> None:
    assert len(embed["title"]) <= 256
    assert len(embed.get("description", "")) <= 4096
    fields = embed.get("fields", [])
    assert len(fields) <= 25
    for f in fields:
        assert 0 < len(f["name"]) <= 256
        assert 0 < len(f["value"]) <= 1024
    total = len(embed["title"]) + len(embed.get("description", "")) + len(embed.get("footer", {}).get("text", ""))
    total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    assert total <= 6000


@pytest.fixture
def no_leak(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Any:
    """After the test: the webhook token/URL appears in no log record and nothing printed."""
    caplog.set_level(logging.DEBUG)
    yield
    out, err = capsys.readouterr()
    records = caplog.get_records("setup") + caplog.get_records("call")  # caplog.records is teardown's here
    assert records, "the notifier logged nothing: the leak check would be vacuous"
    texts = [out, err] + [r.getMessage() for r in records] + [str(r.args) for r in records]
    for text in texts:
        assert WEBHOOK_TOKEN not in text
        assert f"/api/webhooks/{WEBHOOK_ID}" not in text


# --- end to end: secret on moto → embed on the webhook ----------------------------------------------


def test_failed_backup_posts_red_embed_with_all_fields(secret_env: str, webhook: WebhookSink, no_leak: Any) -> None:
    result = dn.handler(sns_event(gaib_message()), None)

    assert result["delivered"] == 1 and result["failed"] == 0
    [req] = webhook.received()
    assert req.headers["Content-Type"] == "application/json"
    assert req.json["allowed_mentions"] == {"parse": []}
    [embed] = req.json["embeds"]
    assert embed["title"] == "Backup failed"
    assert embed["color"] == dn.COLOR_FAILURE
    assert embed["description"] == "Scheduled backup failed"
    fields = field_map(embed)
    assert fields["Server"] == "123456789012345678"
    assert fields["Workspace"] == "default"
    assert fields["Tier"] == "premium"
    assert fields["Backup ID"] == "20250101T030000Z-abc123"
    assert fields["Error"] == "STORAGE_ERROR: S3 PutObject returned 503"
    assert fields["Stored size"] == "2.0 KiB (2,048 bytes)"
    assert fields["Plain size"] == "1.5 MiB (1,572,864 bytes)"
    assert embed["timestamp"] == "2025-01-01T03:00:05+00:00"
    assert embed["footer"]["text"] == "gaib · backup.failed"


def test_snapshot_success_is_green_and_has_no_error_field(secret_env: str, webhook: WebhookSink) -> None:
    dn.handler(sns_event(gaib_message(event="snapshot.succeeded", error=None, message="Weekly snapshot")), None)

    [embed] = webhook.received()[0].json["embeds"]
    assert embed["title"] == "Snapshot succeeded"
    assert embed["color"] == dn.COLOR_SUCCESS
    fields = field_map(embed)
    assert "Error" not in fields
    assert fields["Snapshot ID"] == "20250101T030000Z-abc123"


@pytest.mark.parametrize(
    ("counts", "color"),
    [
        ({"ok": 10, "failed": 0, "skipped": 2}, dn.COLOR_SUCCESS),
        ({"ok": 8, "failed": 2, "skipped": 0}, dn.COLOR_WARNING),
        ({"ok": 0, "failed": 3, "skipped": 0}, dn.COLOR_FAILURE),
    ],
)
def test_scheduled_run_summary_shows_counts(
    secret_env: str, webhook: WebhookSink, counts: dict[str, int], color: int
) -> None:
    msg = json.dumps({"event": "scheduled-run.summary", "tier": "free", "counts": counts, "message": "Daily run"})
    dn.handler(sns_event(msg), None)

    [embed] = webhook.received()[0].json["embeds"]
    assert embed["title"] == "Scheduled run summary (free)"
    assert embed["color"] == color
    fields = field_map(embed)
    shown = (fields["OK"], fields["Failed"], fields["Skipped"])
    assert shown == tuple(str(counts[k]) for k in ("ok", "failed", "skipped"))


@pytest.mark.parametrize(
    ("event", "title", "color", "id_label"),
    [
        ("restore.succeeded", "Restore succeeded", dn.COLOR_SUCCESS, "Restored from"),
        ("restore.failed", "Restore failed", dn.COLOR_FAILURE, "Restored from"),
        ("rollback.succeeded", "Rollback succeeded", dn.COLOR_SUCCESS, "Rolled back to"),
        ("rollback.failed", "Rollback failed", dn.COLOR_FAILURE, "Rolled back to"),
        ("verify.failed", "Verification failed", dn.COLOR_FAILURE, "Checked ID"),
        ("quota.reached", "Quota reached", dn.COLOR_WARNING, "ID"),
    ],
)
def test_restore_rollback_verify_and_quota_events_have_their_own_title_and_colour(
    secret_env: str, webhook: WebhookSink, event: str, title: str, color: int, id_label: str
) -> None:
    dn.handler(sns_event(gaib_message(event=event), subject="ignored for known events"), None)

    [embed] = webhook.received()[0].json["embeds"]
    assert (embed["title"], embed["color"]) == (title, color)
    assert field_map(embed)[id_label] == "20250101T030000Z-abc123"
    assert embed["footer"]["text"] == f"gaib · {event}"


@pytest.mark.parametrize(
    ("duration_ms", "shown"),
    [(850, "850 ms"), (12_345, "12.3 s"), (245_000, "4 min 05 s"), (7_380_000, "2 h 03 min"), ("soon", "soon")],
)
def test_duration_is_shown_readably(duration_ms: Any, shown: str) -> None:
    embed = dn.build_embed(gaib_message(duration_ms=duration_ms))

    assert field_map(embed)["Duration"] == shown


def test_message_without_duration_has_no_duration_field() -> None:
    assert "Duration" not in field_map(dn.build_embed(gaib_message(duration_ms=None)))


def test_plain_text_message_becomes_a_text_embed(secret_env: str, webhook: WebhookSink) -> None:
    dn.handler(sns_event("Backups are paused for maintenance", subject="Maintenance"), None)

    [embed] = webhook.received()[0].json["embeds"]
    assert embed["title"] == "Maintenance"
    assert embed["description"] == "Backups are paused for maintenance"
    assert embed["color"] == dn.COLOR_NEUTRAL


def test_cloudwatch_alarm_message_is_rendered(secret_env: str, webhook: WebhookSink) -> None:
    alarm = {
        "AlarmName": "gaib-missed-run-premium",
        "NewStateValue": "ALARM",
        "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed: no datapoints",
        "StateChangeTime": "2025-01-01T05:00:00.000+0000",
        "Trigger": {
            "MetricName": "ScheduledRunHeartbeat",
            "Namespace": "Gaib/Backups",
            "Dimensions": [{"name": "Tier", "value": "premium"}, {"name": "Operation", "value": "backup"}],
        },
    }
    dn.handler(sns_event(json.dumps(alarm)), None)

    [embed] = webhook.received()[0].json["embeds"]
    assert embed["title"] == "Alarm gaib-missed-run-premium is ALARM"
    assert embed["color"] == dn.COLOR_FAILURE
    assert field_map(embed)["Dimensions"] == "Tier=premium, Operation=backup"


@pytest.mark.parametrize(
    "body",
    [
        "{}",
        "[1, 2, 3]",
        "null",
        '"just a json string"',
        "{not json",
        json.dumps({"event": 42, "server_id": ["../x"], "tier": {"nested": True}, "sizes": "big", "counts": 7,
                    "duration_ms": -1}),
        json.dumps({"event": "backup.failed", "error": "plain string error", "at": "yesterday-ish"}),
        json.dumps({"event": "backup.succeeded", "sizes": {"stored_bytes": -5, "plain_bytes": float("1e308")}}),
        json.dumps({"event": "backup.succeeded", "id": "ü" * 5000, "message": "💥" * 10000}),
        json.dumps({f"unknown_{i}": "x" * 2000 for i in range(100)} | {"event": "backup.failed"}),
        "[" * 5000 + "]" * 5000,
    ],
    ids=[
        "empty-object", "list", "null", "json-string", "broken-json", "wrong-types", "string-error",
        "odd-sizes", "huge-unicode", "many-unknown-keys", "deep-nesting",
    ],
)
def test_hostile_or_unexpected_messages_never_crash_and_fit_discord_limits(
    secret_env: str, webhook: WebhookSink, body: str
) -> None:
    result = dn.handler(sns_event(body), None)

    assert result["delivered"] == 1
    [embed] = webhook.received()[0].json["embeds"]
    assert_within_discord_limits(embed)


def test_embed_limits_with_every_field_at_maximum() -> None:
    big = "x" * 5000
    msg = gaib_message(
        server_id=big, workspace=big, tier=big, id=big, message=big * 2,
        error={"code": big, "message": big}, sizes={"stored_bytes": big, "plain_bytes": big},
        counts={"ok": big, "failed": big, "skipped": big}, duration_ms=big,
    )
    embed = dn.build_embed(msg, "s" * 400)

    assert_within_discord_limits(embed)
    assert embed["title"] == "Backup failed"
    assert len(embed["fields"]) >= 1  # trimmed to fit, not emptied


def test_records_without_sns_message_are_skipped(secret_env: str, webhook: WebhookSink) -> None:
    event = {"Records": [{"Sns": {"Message": 5}}, {"nope": 1}, "garbage", sns_event("ok")["Records"][0]]}
    result = dn.handler(event, None)

    assert result["delivered"] == 1 and result["skipped"] == 2
    assert len(webhook.received()) == 1


@pytest.mark.parametrize("event", [{}, {"Records": "x"}, None, [], {"Records": []}])
def test_event_without_records_posts_nothing(event: Any, webhook: WebhookSink) -> None:
    # No secret is configured: an empty event must not even need it.
    assert dn.handler(event, None)["delivered"] == 0
    assert webhook.received() == []


# --- failing webhook ---------------------------------------------------------------------------------


def test_5xx_then_success_is_retried(secret_env: str, webhook: WebhookSink, no_leak: Any) -> None:
    webhook.script(Reply(500, {"message": "boom"}), Reply(502), Reply(204))

    result = dn.handler(sns_event(gaib_message()), None, policy=FAST)

    assert result["delivered"] == 1
    assert result["statuses"] == [204]
    reqs = webhook.received()
    assert len(reqs) == 3
    assert reqs[0].json == reqs[2].json  # the same message, re-sent


def test_429_waits_for_retry_after_from_body(secret_env: str, webhook: WebhookSink, no_leak: Any) -> None:
    webhook.script(Reply(429, {"message": "You are being rate limited.", "retry_after": 0.3, "global": False}))

    result = dn.handler(sns_event(gaib_message()), None, policy=FAST)

    assert result["delivered"] == 1
    first, second = webhook.received()
    assert second.at - first.at >= 0.3  # FAST's own backoff is at most 0.05 s: this wait is retry_after


def test_429_honours_retry_after_header_and_body(monkeypatch: pytest.MonkeyPatch, webhook: WebhookSink) -> None:
    waits: list[float] = []
    monkeypatch.setattr(dn, "_sleep", waits.append)  # the clock is the one thing tests may replace
    webhook.script(
        Reply(429, None, {"Retry-After": "2"}),
        Reply(429, {"retry_after": 1.25}),
        Reply(204),
    )

    delivery = dn.post_webhook(webhook.url, {"content": "x"})

    assert delivery.ok and delivery.attempts == 3
    assert waits == [2.0, 1.25]


def test_retry_after_longer_than_allowed_fails_as_transient(
    monkeypatch: pytest.MonkeyPatch, webhook: WebhookSink
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(dn, "_sleep", waits.append)
    webhook.script(Reply(429, {"retry_after": 3600}))

    with pytest.raises(dn.WebhookUnavailable):
        dn.post_webhook(webhook.url, {"content": "x"})
    assert waits == []
    assert len(webhook.received()) == 1


def test_persistent_5xx_gives_up_with_capped_backoff(monkeypatch: pytest.MonkeyPatch, webhook: WebhookSink) -> None:
    waits: list[float] = []
    monkeypatch.setattr(dn, "_sleep", waits.append)
    webhook.script(*[Reply(503)] * 10)
    policy = dn.RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=2.0)

    with pytest.raises(dn.WebhookUnavailable) as info:
        dn.post_webhook(webhook.url, {"content": "x"}, policy)

    assert len(webhook.received()) == 6
    assert waits == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert WEBHOOK_TOKEN not in str(info.value)


def test_handler_raises_for_lambda_retry_when_discord_stays_down(
    secret_env: str, webhook: WebhookSink, no_leak: Any
) -> None:
    webhook.script(*[Reply(500)] * 4)

    with pytest.raises(dn.WebhookUnavailable):
        dn.handler(sns_event(gaib_message()), None, policy=FAST)
    assert len(webhook.received()) == 4


def test_permanent_404_stops_without_retrying(secret_env: str, webhook: WebhookSink, no_leak: Any) -> None:
    webhook.script(Reply(404, {"message": "Unknown Webhook", "code": 10015}))

    result = dn.handler(sns_event(gaib_message(), gaib_message(event="backup.succeeded")), None, policy=FAST)

    assert len(webhook.received()) == 1  # neither retried nor the second record sent
    assert result["failed"] == 1 and result["skipped"] == 1 and result["delivered"] == 0
    assert result["stopped"] is not None and "404" in result["stopped"]
    assert WEBHOOK_TOKEN not in json.dumps(result)


def test_other_4xx_gives_up_on_that_record_only(secret_env: str, webhook: WebhookSink) -> None:
    webhook.script(Reply(400, {"message": "Invalid Form Body", "code": 50035}), Reply(204))

    result = dn.handler(sns_event(gaib_message(), gaib_message()), None, policy=FAST)

    assert result["statuses"] == [400, 204]
    assert result["failed"] == 1 and result["delivered"] == 1 and result["stopped"] is None


def test_unreachable_webhook_is_transient_and_not_leaked(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.support.procs import free_port

    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(dn, "_sleep", lambda s: None)
    url = f"http://127.0.0.1:{free_port()}/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"

    with pytest.raises(dn.WebhookUnavailable) as info:
        dn.post_webhook(url, {"content": "x"}, FAST)
    assert WEBHOOK_TOKEN not in str(info.value) + caplog.text
    assert "URLError" in caplog.text or "ConnectionRefusedError" in caplog.text


# --- where the URL comes from -----------------------------------------------------------------------


def test_secret_as_json_object(aws_env: dict[str, str], webhook: WebhookSink, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = boto3.client("secretsmanager").create_secret(
        Name=f"gaib/webhook-json-{uuid.uuid4().hex}", SecretString=json.dumps({"url": webhook.url})
    )["ARN"]
    monkeypatch.setenv(dn.ENV_SECRET_ARN, arn)

    assert dn.handler(sns_event(gaib_message()), None)["delivered"] == 1
    assert len(webhook.received()) == 1


@pytest.fixture
def ssm_env(aws_env: dict[str, str], webhook: WebhookSink, monkeypatch: pytest.MonkeyPatch) -> str:
    """An SSM SecureString parameter on moto holding the webhook URL; the env var names it."""
    name = f"/gaib/test/{uuid.uuid4().hex}/discord-webhook"
    boto3.client("ssm").put_parameter(Name=name, Value=webhook.url, Type="SecureString")
    monkeypatch.setenv(dn.ENV_PARAMETER, name)
    return name


def test_url_from_ssm_securestring(ssm_env: str, webhook: WebhookSink, no_leak: Any) -> None:
    assert dn.handler(sns_event(gaib_message()), None)["delivered"] == 1
    assert len(webhook.received()) == 1


def test_secret_is_cached_between_invocations_and_reread_after_expiry(
    aws_env: dict[str, str], webhook: WebhookSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("secretsmanager")
    arn = client.create_secret(Name=f"gaib/webhook-rot-{uuid.uuid4().hex}", SecretString=webhook.url)["ARN"]
    monkeypatch.setenv(dn.ENV_SECRET_ARN, arn)
    now = [1000.0]
    monkeypatch.setattr(dn, "_monotonic", lambda: now[0])

    assert dn.webhook_url_from_env() == webhook.url
    client.put_secret_value(SecretId=arn, SecretString="https://discord.example/api/webhooks/1/rotated")
    assert dn.webhook_url_from_env() == webhook.url  # still cached
    now[0] += dn.SECRET_CACHE_SECONDS + 1
    assert dn.webhook_url_from_env() == "https://discord.example/api/webhooks/1/rotated"


def test_missing_secret_is_a_config_error_without_the_arn_contents(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(dn.ENV_SECRET_ARN, "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf")
    with pytest.raises(dn.NotifierConfigError, match="ResourceNotFoundException"):
        dn.handler(sns_event("x"), None)


def test_no_configuration_is_a_config_error() -> None:
    with pytest.raises(dn.NotifierConfigError, match="neither"):
        dn.handler(sns_event("x"), None)


def test_both_sources_configured_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(dn.ENV_SECRET_ARN, "arn:aws:secretsmanager:us-east-1:123456789012:secret:a")
    monkeypatch.setenv(dn.ENV_PARAMETER, "/a")
    with pytest.raises(dn.NotifierConfigError, match="only one"):
        dn.webhook_url_from_env()


@pytest.mark.parametrize(
    "value",
    [
        "not a url",
        "ftp://discord.com/api/webhooks/1/SECRETTOKEN",
        "http://discord.com/api/webhooks/1/SECRETTOKEN",  # plain http to a real host
        "http://10.0.0.1/api/webhooks/1/SECRETTOKEN",
        "https:///api/webhooks/1/SECRETTOKEN",
        '{"url": 5, "note": "SECRETTOKEN"}',
        '{"webhook": "https://discord.com/api/webhooks/1/SECRETTOKEN"}',
        "{SECRETTOKEN",
        "https://discord.com/api/webhooks/1/SECRET TOKEN",
    ],
)
def test_unusable_secret_values_are_rejected_without_echoing_them(value: str) -> None:
    with pytest.raises(dn.NotifierConfigError) as info:
        dn.parse_webhook_secret(value)
    assert "SECRET" not in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  https://discord.com/api/webhooks/1/abc\n", "https://discord.com/api/webhooks/1/abc"),
        ('{"webhook_url": "https://discord.com/api/webhooks/1/abc"}', "https://discord.com/api/webhooks/1/abc"),
        ("http://localhost:8080/api/webhooks/1/abc", "http://localhost:8080/api/webhooks/1/abc"),
    ],
)
def test_accepted_secret_values(value: str, expected: str) -> None:
    assert dn.parse_webhook_secret(value) == expected


def test_default_policy_handler_path_retries_in_real_time(secret_env: str, webhook: WebhookSink) -> None:
    # The deployed handler uses the default policy (first backoff 0.5 s): one 503, then delivered.
    webhook.script(Reply(503))
    started = time.monotonic()

    result = dn.handler(sns_event(gaib_message()), None)

    assert result["delivered"] == 1
    assert time.monotonic() - started >= dn.RetryPolicy().base_delay
    assert len(webhook.received()) == 2


def test_module_imports_only_stdlib_at_top_level() -> None:
    import ast
    import sys
    from pathlib import Path

    tree = ast.parse(Path(dn.__file__).read_text())
    top_level = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            top_level.add(node.module.split(".")[0])
    assert top_level - {"__future__"} <= set(sys.stdlib_module_names)
