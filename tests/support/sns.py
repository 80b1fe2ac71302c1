"""An SNS topic on moto with SQS queues subscribed, to read what a notifier published as SNS delivers it
(the envelope), and the record SNS hands a subscribed Lambda. Every body read is checked for secrets."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3

from tests.support.webhook import WEBHOOK_ID, WEBHOOK_TOKEN

BOT_TOKEN = "MTEyMjMzNDQ1NTY2Nzc4ODk5.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"
REGION = "us-east-1"


def assert_no_secret(text: str) -> None:
    assert WEBHOOK_TOKEN not in text
    assert f"/webhooks/{WEBHOOK_ID}" not in text
    assert BOT_TOKEN not in text


class Topic:
    """A fresh SNS topic on moto with an SQS queue subscribed (raw delivery off: the body is the envelope)."""

    def __init__(self, endpoint: str, *, filter_policy: dict[str, Any] | None = None) -> None:
        suffix = uuid.uuid4().hex[:10]
        self.sns = boto3.client("sns", endpoint_url=endpoint, region_name=REGION)
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
        self.arn = self.sns.create_topic(Name=f"gaib-backup-notifications-{suffix}")["TopicArn"]
        self.queues = [self.subscribe(f"all-{suffix}")]
        if filter_policy is not None:
            self.queues.append(self.subscribe(f"filtered-{suffix}", filter_policy))

    def subscribe(self, name: str, filter_policy: dict[str, Any] | None = None) -> str:
        url: str = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {"RawMessageDelivery": "false"}
        if filter_policy is not None:
            attributes["FilterPolicy"] = json.dumps(filter_policy)
        self.sns.subscribe(TopicArn=self.arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
        return url

    def receive(self, queue: int = 0, expect: int = 1) -> list[dict[str, Any]]:
        """The SQS message bodies (SNS envelopes) of ``queue``, waiting for ``expect`` of them."""
        bodies: list[str] = []
        for _ in range(10):
            reply = self.sqs.receive_message(QueueUrl=self.queues[queue], MaxNumberOfMessages=10,
                                             WaitTimeSeconds=1)
            bodies += [m["Body"] for m in reply.get("Messages", [])]
            if len(bodies) >= expect:
                break
        for body in bodies:
            assert_no_secret(body)
        return [json.loads(b) for b in bodies]


def lambda_record(envelope: dict[str, Any]) -> dict[str, Any]:
    """The record SNS hands a subscribed Lambda: the same envelope SQS received, under ``Sns``."""
    return {"EventSource": "aws:sns", "EventVersion": "1.0",
            "EventSubscriptionArn": f"{envelope['TopicArn']}:{uuid.uuid4()}", "Sns": envelope}


def sqs_record(envelope: dict[str, Any]) -> dict[str, Any]:
    """The record an SQS event source hands a Lambda for a message a topic delivered (raw delivery off):
    the SNS envelope as the body."""
    return {"messageId": str(uuid.uuid4()), "eventSource": "aws:sqs", "body": json.dumps(envelope),
            "attributes": {}, "messageAttributes": {}}


def owner_webhook(endpoint: str, table: str, server_id: str, url: str, *, tag: str | None = None) -> str:
    """A webhook secret ``gaib/webhooks/...`` holding ``url``, tagged ``ServerId`` = ``tag`` (default: the
    server), and the catalog item ``SERVER#{server_id}/NOTIFY`` naming it, as ``gaib server notify set``
    writes it; returns the secret's name. The table must exist (``gaib.storage.aws.ensure_table``)."""
    name = f"gaib/webhooks/{server_id}-{uuid.uuid4().hex[:8]}"
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION)
    secrets.create_secret(Name=name, SecretString=url, Tags=[{"Key": "ServerId", "Value": tag or server_id}])
    boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION).put_item(
        TableName=table, Item={"PK": {"S": f"SERVER#{server_id}"}, "SK": {"S": "NOTIFY"},
                               "kind": {"S": "notify"}, "server_id": {"S": server_id},
                               "webhook_secret": {"S": name}})
    return name
