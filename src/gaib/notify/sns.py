"""``SnsNotifier``: events published to an SNS topic (``gaib-backup-notifications``).

Each event is one ``sns.publish`` with the documented JSON message, ``Event.subject()`` as Subject and
the String message attributes ``event`` and ``tier`` so subscriptions can filter, and ``ServerId`` (the
server whose owner hears of it: ``Event.owner_server()``) on every event but the operator's, which the
notifier Lambda routes by. boto3 is imported on
first publish (through ``gaib.aws``), never at import time. The topic ARN is checked when the notifier
is built, before any request.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import Any

from gaib import aws
from gaib.errors import ConfigError, StorageError
from gaib.notify.base import NotifyError
from gaib.notify.events import Event

# arn:<partition>:sns:<region>:<12-digit account>:<topic name>
_TOPIC_ARN_RE = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):sns:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):(?P<account>\d{12}):"
    r"(?P<name>[A-Za-z0-9_-]{1,256}(?:\.fifo)?)"
)
SERVER_ATTRIBUTE = "ServerId"
"""The message attribute naming the server an event is for (absent on operator events)."""
_TOPIC_HINT = ("Set GAIB_BACKUP_TOPIC_ARN (or GAIB_NOTIFY_TOPIC_ARN) to the topic's ARN, e.g. "
               "arn:aws:sns:us-east-1:123456789012:gaib-backup-notifications (Terraform output "
               "notifications_topic_arn).")


def parse_topic_arn(topic_arn: str) -> tuple[str, str]:
    """``(region, topic name)`` of a standard SNS topic ARN; raises ConfigError for anything else."""
    text = topic_arn.strip() if isinstance(topic_arn, str) else ""
    match = _TOPIC_ARN_RE.fullmatch(text)
    if match is None:
        shown = text[:120] if text.isprintable() else "(unprintable value)"
        raise ConfigError(f"Not an SNS topic ARN: {shown!r}.", hint=_TOPIC_HINT)
    if match["name"].endswith(".fifo"):
        raise ConfigError(f"SNS topic {match['name']} is a FIFO topic; notifications need a standard topic.",
                          hint="Use the standard topic gaib-backup-notifications created by the Terraform.")
    return match["region"], match["name"]


class SnsNotifier:
    """Publishes events to ``topic_arn``.

    ``region`` defaults to the ARN's region and must match it when given; ``endpoint_url`` points boto3
    elsewhere (moto, LocalStack). ``secrets`` are scrubbed from every event before it is sent. Raises
    ConfigError for a malformed ARN (at construction) or a missing boto3, NotifyError when SNS refuses
    or cannot be reached.
    """

    def __init__(
        self,
        topic_arn: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        arn_region, self.topic_name = parse_topic_arn(topic_arn)
        if region and region != arn_region:
            raise ConfigError(f"The SNS topic is in {arn_region}, but the configured AWS region is {region}.",
                              hint="Publish in the topic's region: fix AWS_REGION or the topic ARN.")
        self.topic_arn = topic_arn.strip()
        self.region = arn_region
        self._endpoint_url = endpoint_url or None
        self._secrets = tuple(s for s in secrets if s)

    def __repr__(self) -> str:
        return f"SnsNotifier({self.topic_arn!r})"

    @functools.cached_property
    def client(self) -> Any:
        """The boto3 SNS client, made on first use."""
        try:
            return aws.client("sns", region=self.region, endpoint_url=self._endpoint_url)
        except ImportError:
            raise ConfigError("Publishing to SNS needs boto3, which is not installed.",
                              hint="Install Gaib with the aws extra: pip install 'gaib[aws]'.") from None
        except Exception as exc:  # botocore raises many unrelated classes while configuring a client
            raise self._fail(exc) from None

    def publish(self, event: Event) -> None:
        clean = event.redacted(self._secrets)
        message = clean.to_message()
        attributes = {
            "event": {"DataType": "String", "StringValue": clean.event},
            "tier": {"DataType": "String", "StringValue": clean.tier},
        }
        owner = clean.owner_server()
        if owner is not None:
            attributes[SERVER_ATTRIBUTE] = {"DataType": "String", "StringValue": owner}
        client = self.client
        try:
            client.publish(
                TopicArn=self.topic_arn,
                Message=json.dumps(message, ensure_ascii=False, separators=(",", ":")),
                Subject=clean.subject(),
                MessageAttributes=attributes,
            )
        except Exception as exc:  # botocore's ClientError and transport errors alike
            raise self._fail(exc) from None

    def _fail(self, exc: Exception) -> NotifyError:
        what = f"Publishing to SNS topic {self.topic_name}"
        code = aws.error_code(exc)
        if code in ("NotFound", "NotFoundException"):
            return NotifyError(f"{what}: the topic does not exist.", hint=_TOPIC_HINT)
        if code in ("AuthorizationError", "KMSAccessDenied", "KMSDisabled"):
            return NotifyError(f"{what}: AWS refused the request ({code}).",
                               hint="Allow sns:Publish on the topic (and kms:GenerateDataKey on its key) "
                                    "for this role.")
        translated = aws.translate(exc, what)
        # The generic StorageError hint talks about storage; keep only the specific ones.
        hint = None if translated.hint == StorageError.default_hint else translated.hint
        return NotifyError(translated.message, hint=hint)
