"""SnsNotifier against moto's server over HTTP, all the way to the Lambda's Discord embed."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable

import pytest

from gaib.aws_lambda import discord_notifier as dn
from gaib.errors import ConfigError, StorageError, TierLimit
from gaib.notify.base import NotifyError
from gaib.notify.events import Event, Sizes
from gaib.notify.sns import SnsNotifier, parse_topic_arn
from tests.support.clocks import AT
from tests.support.sns import BOT_TOKEN, REGION, Topic, assert_no_secret, lambda_record, owner_webhook
from tests.support.store import backup_storage_env
from tests.support.webhook import WebhookSink

SERVER = "123456789012345678"


@pytest.mark.aws
def test_failed_backup_travels_from_notifier_through_sns_to_a_discord_embed(
    aws_env: dict[str, str], moto_endpoint: str, secret_env: str, webhook: WebhookSink,
    monkeypatch: pytest.MonkeyPatch, more_webhooks: Callable[[], WebhookSink],
) -> None:
    topic = Topic(moto_endpoint)
    table = backup_storage_env(aws_env)["GAIB_BACKUP_TABLE"]
    monkeypatch.setenv(dn.ENV_CATALOG_TABLE, table)
    own = more_webhooks()
    owner_webhook(moto_endpoint, table, SERVER, own.url)
    leak = f"PUT failed: {webhook.url} answered 503 (Authorization: Bot {BOT_TOKEN})"
    event = Event.failed("backup", StorageError(leak), tier="premium", at=AT, server_id=SERVER,
                         workspace="default", id="20250101T030000Z-abc123",
                         message=f"Scheduled backup failed {BOT_TOKEN}", sizes=Sizes(2048, 1572864), duration_ms=1840)

    SnsNotifier(topic.arn, region=REGION, endpoint_url=moto_endpoint).publish(event)

    [envelope] = topic.receive()
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic.arn
    assert envelope["Subject"] == "Gaib: Backup failed - server 123456789012345678 (default)"
    assert envelope["MessageAttributes"] == {"event": {"Type": "String", "Value": "backup.failed"},
                                             "tier": {"Type": "String", "Value": "premium"},
                                             "ServerId": {"Type": "String", "Value": SERVER}}
    message = json.loads(envelope["Message"])
    assert message == event.to_message()
    assert message["error"] == {"code": "STORAGE_ERROR",
                                "message": "PUT failed: [redacted] answered 503 (Authorization: Bot [redacted])"}
    assert message["message"] == "Scheduled backup failed [redacted]"

    result = dn.handler({"Records": [lambda_record(envelope)]}, None)

    assert result["delivered"] == 1 and result["owners"] == 1
    assert webhook.received() == []  # the server's event is its owner's, not the operator's
    [request] = own.received()
    assert_no_secret(json.dumps(request.json))
    [embed] = request.json["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert (embed["title"], embed["color"]) == ("Backup failed", dn.COLOR_FAILURE)
    assert embed["description"] == "Scheduled backup failed [redacted]"
    assert fields["Server"] == SERVER and fields["Workspace"] == "default" and fields["Tier"] == "premium"
    assert fields["Backup ID"] == "20250101T030000Z-abc123"
    assert fields["Error"] == "STORAGE_ERROR: PUT failed: [redacted] answered 503 (Authorization: Bot [redacted])"
    assert fields["Stored size"] == "2.0 KiB (2,048 bytes)"
    assert fields["Duration"] == "1.8 s"
    assert embed["timestamp"] == "2025-01-01T03:00:05+00:00"


@pytest.mark.aws
def test_message_attributes_let_a_subscription_filter_events(
    aws_env: dict[str, str], moto_endpoint: str, secret_env: str, webhook: WebhookSink
) -> None:
    topic = Topic(moto_endpoint, filter_policy={"event": ["scheduled-run.summary", "quota.reached"]})
    notifier = SnsNotifier(topic.arn, endpoint_url=moto_endpoint, secrets=["known-secret-value"])
    notifier.publish(Event.succeeded("snapshot", tier="premium", at=AT, server_id=SERVER, id="s-1"))
    notifier.publish(Event.quota_reached(TierLimit("free tier: 1 snapshot per week (known-secret-value)"),
                                         tier="free", at=AT, server_id=SERVER))
    notifier.publish(Event.summary(tier="free", at=AT, ok=8, failed=2, skipped=0, duration_ms=245_000))

    everything = topic.receive(0, expect=3)
    filtered = topic.receive(1, expect=2)

    assert sorted(json.loads(e["Message"])["event"] for e in everything) == [
        "quota.reached", "scheduled-run.summary", "snapshot.succeeded"]
    assert sorted(json.loads(e["Message"])["event"] for e in filtered) == ["quota.reached", "scheduled-run.summary"]
    assert all("known-secret-value" not in e["Message"] for e in everything)

    result = dn.handler({"Records": [lambda_record(e) for e in filtered]}, None)
    # The quota event is the server's (it has no webhook of its own here): never the operator's.
    assert (result["delivered"], result["unrouted"]) == (1, 1)
    [only] = webhook.received()
    summary = only.json["embeds"][0]
    assert summary["title"] == "Scheduled run summary (free)"
    assert summary["color"] == dn.COLOR_WARNING
    assert {f["name"]: f["value"] for f in summary["fields"]}["Duration"] == "4 min 05 s"


@pytest.mark.aws
def test_publishing_to_a_missing_topic_is_a_notify_error(aws_env: dict[str, str], moto_endpoint: str) -> None:
    arn = f"arn:aws:sns:{REGION}:123456789012:gaib-missing-{uuid.uuid4().hex[:8]}"

    with pytest.raises(NotifyError) as info:
        SnsNotifier(arn, endpoint_url=moto_endpoint).publish(Event.succeeded("backup", tier="free", at=AT))
    assert "does not exist" in info.value.message
    assert "GAIB_BACKUP_TOPIC_ARN" in info.value.hint


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "gaib-backup-notifications",
        "arn:aws:sqs:us-east-1:123456789012:gaib-backup-notifications",
        "arn:aws:sns:us-east-1:12345:gaib-backup-notifications",
        "arn:aws:sns:us-east-1:123456789012:",
        "arn:aws:sns:us-east-1:123456789012:name with spaces",
        "arn:aws:sns::123456789012:gaib-backup-notifications",
        "arn:aws:sns:us-east-1:123456789012:gaib-backup-notifications:sub-id",
        "arn:aws:sns:us-east-1:123456789012:gaib.fifo",
        "arn:aws:sns:us-east-1:123456789012:x\nInjected",
    ],
)
def test_malformed_topic_arns_are_refused_before_any_request(arn: str) -> None:
    with pytest.raises(ConfigError) as info:
        SnsNotifier(arn, endpoint_url="http://127.0.0.1:9")  # nothing listens there
    assert info.value.exit_code == 2
    assert "\n" not in info.value.message
    assert "arn:aws:sns:" in info.value.hint or "standard topic" in info.value.hint


def test_region_must_match_the_topic_arn() -> None:
    arn = "arn:aws:sns:eu-west-1:123456789012:gaib-backup-notifications"

    assert parse_topic_arn(arn) == ("eu-west-1", "gaib-backup-notifications")
    assert SnsNotifier(arn).region == "eu-west-1"
    assert SnsNotifier(arn, region="eu-west-1").region == "eu-west-1"
    with pytest.raises(ConfigError, match="eu-west-1"):
        SnsNotifier(arn, region="us-east-1")


def test_other_partitions_are_accepted() -> None:
    assert parse_topic_arn("arn:aws-us-gov:sns:us-gov-west-1:123456789012:t") == ("us-gov-west-1", "t")
    assert parse_topic_arn("arn:aws-cn:sns:cn-north-1:123456789012:t_1-x") == ("cn-north-1", "t_1-x")


def test_unreachable_sns_is_a_notify_error(aws_env: dict[str, str]) -> None:
    arn = f"arn:aws:sns:{REGION}:123456789012:gaib-backup-notifications"
    notifier = SnsNotifier(arn, endpoint_url="http://127.0.0.1:9")

    with pytest.raises(NotifyError) as info:
        notifier.publish(Event.succeeded("backup", tier="free", at=AT))
    assert "could not be reached" in info.value.message
    assert "AWS_ENDPOINT_URL" in info.value.hint


def test_building_a_notifier_does_not_import_boto3() -> None:
    code = ("import sys\nfrom gaib.notify.sns import SnsNotifier\n"
            "SnsNotifier('arn:aws:sns:us-east-1:123456789012:gaib-backup-notifications')\n"
            "print('boto3' in sys.modules, 'botocore' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert out.split() == ["False", "False"]
