"""Owners hear about their own server only (issue 24, item 6 and item 7's two-server test).

Two servers, each with its own webhook secret registered by ``gaib server notify set`` on moto; events
published by ``SnsNotifier`` to a topic, read from an SQS queue subscribed to it, handed to the notifier
Lambda as SQS records; each webhook receiver then holds exactly its server's events, the operator's holds
the operator events, and no log line carries a webhook URL.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from gaib.aws_lambda import discord_notifier as dn
from gaib.errors import StorageError
from gaib.notify import webhook as gaib_webhook
from gaib.notify.events import Event
from gaib.notify.sns import SnsNotifier
from gaib.secrets import base as secrets_base
from gaib.storage import keys
from tests.support.cli import CliRunner
from tests.support.clocks import AT
from tests.support.sns import REGION, Topic, lambda_record, owner_webhook, sqs_record
from tests.support.store import backup_storage_env
from tests.support.webhook import WEBHOOK_ID, WEBHOOK_TOKEN, Received, WebhookSink

A = "223456789012345678"
B = "323456789012345678"
C = "423456789012345678"  # a server without a webhook of its own


def _server_of(request: Received) -> str | None:
    [embed] = request.json["embeds"]
    return {f["name"]: f["value"] for f in embed.get("fields", [])}.get("Server")


def _titles(sink: WebhookSink) -> list[str]:
    return sorted(r.json["embeds"][0]["title"] for r in sink.received())


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record at DEBUG (botocore's too); after the test, none may hold a webhook URL or token.
    A test's own boto3 calls that carry a URL (making a secret) are followed by ``logs.clear()``."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    texts = [r.getMessage() for r in caplog.get_records("setup") + caplog.get_records("call")]
    assert texts, "nothing was logged: the leak check would be vacuous"
    for text in texts:
        assert WEBHOOK_TOKEN not in text and f"/webhooks/{WEBHOOK_ID}" not in text


@pytest.fixture
def fleet(aws_env: dict[str, str], moto_endpoint: str, secret_env: str, cli: CliRunner,
          monkeypatch: pytest.MonkeyPatch, more_webhooks: Callable[[], WebhookSink],
          logs: pytest.LogCaptureFixture) -> dict[str, Any]:
    """Catalog + bucket on moto, the Lambda pointed at the catalog, and servers A and B each registered with
    ``gaib server notify set`` to a secret (tagged with its server) holding its own webhook receiver's URL."""
    storage = backup_storage_env(aws_env)
    monkeypatch.setenv(dn.ENV_CATALOG_TABLE, storage["GAIB_BACKUP_TABLE"])
    cli.environ.update(storage)
    secrets = boto3.client("secretsmanager")
    sinks = {}
    for server in (A, B):
        sink = more_webhooks()
        name = f"gaib/webhooks/owner-{server}-{uuid.uuid4().hex[:6]}"
        secrets.create_secret(Name=name, SecretString=sink.url, Tags=[{"Key": "ServerId", "Value": server}])
        logs.clear()  # the test's own request carried the URL; from here on, only Gaib's code runs
        done = cli("server", "notify", "set", "--webhook-secret", name, "-g", server, "--json")
        assert done.exit_code == 0, done.stdout + done.stderr
        assert WEBHOOK_TOKEN not in done.stdout + done.stderr
        sinks[server] = sink
    return {"sinks": sinks, "table": storage["GAIB_BACKUP_TABLE"]}


@pytest.mark.aws
def test_two_servers_events_reach_only_their_own_webhooks_through_sns_sqs_and_the_lambda(
    moto_endpoint: str, fleet: dict[str, Any], webhook: WebhookSink, logs: pytest.LogCaptureFixture
) -> None:
    topic = Topic(moto_endpoint)
    notifier = SnsNotifier(topic.arn, region=REGION, endpoint_url=moto_endpoint)
    events = [
        Event.failed("backup", StorageError("S3 answered 503"), tier="free", at=AT, server_id=A, workspace="default"),
        Event.succeeded("snapshot", tier="premium", at=AT, server_id=B, workspace="default"),
        Event.tier_changed(tier="premium", at=AT, server_id=A),
        Event.summary(tier="free", at=AT, ok=2, failed=1, skipped=0),  # run-level: the operator's
        Event.succeeded("backup", tier="free", at=AT),  # no server: the operator's
        Event.failed("backup", StorageError("denied"), tier="free", at=AT, server_id=C),  # C has no webhook
    ]
    for event in events:
        notifier.publish(event)
    envelopes = topic.receive(expect=len(events))
    assert len(envelopes) == len(events)
    attributes = {json.loads(e["Message"])["event"] + "/" + str(json.loads(e["Message"])["server_id"]):
                  e["MessageAttributes"].get("ServerId", {}).get("Value") for e in envelopes}
    assert attributes["scheduled-run.summary/None"] is None and attributes["backup.failed/" + A] == A

    result = dn.handler({"Records": [sqs_record(e) for e in envelopes]}, None)

    a, b = fleet["sinks"][A], fleet["sinks"][B]
    assert _titles(a) == ["Backup failed", "Tier changed"]
    assert {_server_of(r) for r in a.received()} == {A}
    assert _titles(b) == ["Snapshot succeeded"]
    assert {_server_of(r) for r in b.received()} == {B}
    assert _titles(webhook) == ["Backup succeeded", "Scheduled run summary (free)"]
    assert {_server_of(r) for r in webhook.received()} == {None}
    assert (result["delivered"], result["owners"], result["unrouted"], result["failed"]) == (5, 3, 1, 0)
    assert any(C in r.getMessage() for r in logs.get_records("call"))  # the dropped server is named


def _envelope(message: dict[str, Any], server: str | None) -> dict[str, Any]:
    attributes = {"event": {"Type": "String", "Value": str(message.get("event"))}}
    if server is not None:
        attributes["ServerId"] = {"Type": "String", "Value": server}
    return {"Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": f"arn:aws:sns:{REGION}:1:t",
            "Subject": "Gaib", "Message": json.dumps(message), "MessageAttributes": attributes}


@pytest.mark.aws
def test_forged_misrouted_and_hostile_records_reach_no_one(
    moto_endpoint: str, fleet: dict[str, Any], webhook: WebhookSink, logs: pytest.LogCaptureFixture,
    more_webhooks: Callable[[], WebhookSink],
) -> None:
    table, b_secret_holder = fleet["table"], more_webhooks()
    d, e, f = "523456789012345678", "623456789012345678", "723456789012345678"
    # D's item names a secret bound to B (tag ServerId=B); E's secret holds a URL that is not Discord's;
    # F's item (written behind Gaib's back) names a path outside gaib/webhooks/.
    owner_webhook(moto_endpoint, table, d, b_secret_holder.url, tag=B)
    owner_webhook(moto_endpoint, table, e, "https://collector.example.com/api/webhooks/1/x")
    boto3.client("dynamodb").put_item(TableName=table, Item={
        "PK": {"S": f"SERVER#{f}"}, "SK": {"S": "NOTIFY"}, "webhook_secret": {"S": "../../gaib/operator-webhook"}})
    logs.clear()
    records = [
        lambda_record(_envelope({"event": "backup.failed", "server_id": B}, A)),  # attribute and body disagree
        lambda_record(_envelope({"event": "backup.failed", "server_id": d}, d)),
        lambda_record(_envelope({"event": "backup.failed", "server_id": e}, e)),
        lambda_record(_envelope({"event": "backup.failed", "server_id": f}, f)),
        lambda_record(_envelope({"event": "backup.failed"}, "../" + A)),  # malformed ServerId
    ]

    result = dn.handler({"Records": records}, None)

    assert (result["delivered"], result["skipped"], result["unrouted"]) == (0, 2, 3)
    for sink in (*fleet["sinks"].values(), b_secret_holder, webhook):
        assert sink.received() == []


@pytest.mark.aws
def test_raw_sqs_delivery_routes_by_the_message_attribute(
    fleet: dict[str, Any], webhook: WebhookSink, logs: pytest.LogCaptureFixture
) -> None:
    raw = {"messageId": "1", "eventSource": "aws:sqs",
           "body": json.dumps({"event": "verify.failed", "server_id": B, "tier": "premium"}),
           "messageAttributes": {"ServerId": {"stringValue": B, "dataType": "String"}}}

    result = dn.handler({"Records": [raw]}, None)

    assert result["owners"] == 1
    assert _titles(fleet["sinks"][B]) == ["Verification failed"]
    assert fleet["sinks"][A].received() == [] and webhook.received() == []


def test_the_lambdas_copies_of_keys_names_and_url_rule_match_gaibs() -> None:
    # The Lambda is deployed alone and cannot import gaib: these copies must stay equal.
    assert (dn.SERVER_PK_PREFIX, dn.NOTIFY_SK) == (keys.SERVER_PK_PREFIX, keys.NOTIFY_SK)
    assert dn.WEBHOOK_SECRET_PREFIX == secrets_base.WEBHOOK_SECRET_PREFIX
    assert re.compile(dn.WEBHOOK_NAME_PATTERN).pattern == secrets_base._WEBHOOK_NAME_RE.pattern
    assert secrets_base._ARN_PREFIX_RE.pattern == dn.SECRET_ARN_PREFIX_PATTERN
    assert gaib_webhook._URL_RE.pattern == dn.DISCORD_URL_PATTERN
    assert (dn.DISCORD_HOSTS, dn.LOOPBACK_HOSTS) == (gaib_webhook.DISCORD_HOSTS, gaib_webhook.LOOPBACK_HOSTS)
    assert dn.SERVER_ATTRIBUTE == "ServerId"


@pytest.mark.parametrize("raw", [
    "https://collector.example.com/api/webhooks/1/token",
    "https://discord.com.example.com/api/webhooks/1/token",
    "http://discord.com/api/webhooks/1/token",
    "https://discord.com/api/webhooks/1/token?wait=true#x",
    "https://discord.com/api/webhooks/1/tok en",
    "https://user@discord.com/api/webhooks/1/token",
    "https://discord.com:8443/api/webhooks/1/token",
    "MTEyMjMzNDQ1NTY2Nzc4ODk5.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB",
    '{"token": "abc"}',
    "",
])
def test_both_sides_refuse_what_is_not_a_discord_webhook_url_without_echoing_it(raw: str) -> None:
    with pytest.raises(dn.OwnerRouteError) as lam:
        dn.parse_owner_webhook(raw)
    with pytest.raises(gaib_webhook.WebhookSecretInvalid) as cli_side:
        gaib_webhook.parse_webhook_url(raw, "gaib/webhooks/x")
    for text in (str(lam.value), cli_side.value.message):
        assert not raw or raw not in text


@pytest.mark.parametrize("raw", [
    "https://discord.com/api/webhooks/112233/abc-DEF_1",
    "https://canary.discord.com/api/v10/webhooks/112233/abc",
    ' {"url": "https://discordapp.com/api/webhooks/1/x"} ',
    "http://127.0.0.1:8080/api/webhooks/1/x",
])
def test_both_sides_accept_discord_webhook_urls(raw: str) -> None:
    assert dn.parse_owner_webhook(raw) == gaib_webhook.parse_webhook_url(raw, "gaib/webhooks/x")


@pytest.mark.aws
def test_a_raw_delivery_queue_on_moto_routes_by_its_message_attributes(
    moto_endpoint: str, fleet: dict[str, Any], webhook: WebhookSink, logs: pytest.LogCaptureFixture
) -> None:
    topic = Topic(moto_endpoint)
    url = topic.sqs.create_queue(QueueName=f"raw-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    arn = topic.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic.sns.subscribe(TopicArn=topic.arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    notifier = SnsNotifier(topic.arn, region=REGION, endpoint_url=moto_endpoint)
    notifier.publish(Event.failed("snapshot", StorageError("slow"), tier="premium", at=AT, server_id=A))
    notifier.publish(Event.summary(tier="premium", at=AT, ok=1, failed=1, skipped=0))
    messages: list[dict[str, Any]] = []
    for _ in range(10):
        reply = topic.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                          MessageAttributeNames=["All"])
        messages += reply.get("Messages", [])
        if len(messages) >= 2:
            break
    # What the SQS event source hands the Lambda: the raw body and the attributes in its own spelling.
    records = [{"messageId": m["MessageId"], "eventSource": "aws:sqs", "body": m["Body"],
                "messageAttributes": {k: {"stringValue": v.get("StringValue"), "dataType": v.get("DataType")}
                                      for k, v in m.get("MessageAttributes", {}).items()}} for m in messages]

    result = dn.handler({"Records": records}, None)

    assert (result["delivered"], result["owners"]) == (2, 1)
    assert _titles(fleet["sinks"][A]) == ["Snapshot failed"]
    assert _titles(webhook) == ["Scheduled run summary (premium)"]
    assert fleet["sinks"][B].received() == []
