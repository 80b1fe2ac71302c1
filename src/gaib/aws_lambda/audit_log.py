"""SNS → CloudWatch Logs audit trail (AWS Lambda handler ``gaib.aws_lambda.audit_log.handler``).

Every message on ``gaib-backup-notifications`` becomes one JSON line on stdout, which Lambda writes to
its log group (``/aws/lambda/gaib-notification-audit``, KMS-encrypted, ``log_retention_days``): a
searchable record of every backup, snapshot, restore, verification and run summary, and of every
CloudWatch alarm. Standard library only. Gaib's messages carry no secret (publishers scrub them);
whole webhook URLs and Discord-token-shaped strings are still replaced, so a foreign publisher cannot
put one into the audit log. A message is clipped to 64 KiB; a record without an SNS message is counted
as skipped, never an error.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

MAX_MESSAGE = 64 * 1024
_WEBHOOK_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]*/webhooks/[^\s\"'<>]*", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}")


def _scrub(text: str) -> str:
    return _TOKEN.sub("[redacted]", _WEBHOOK_URL.sub("[redacted]", text))[:MAX_MESSAGE]


def audit_line(sns: dict[str, Any]) -> dict[str, Any]:
    """The JSON object logged for one SNS notification: its ids, subject, attributes and message (parsed
    when it is JSON, else text)."""
    raw = _scrub(str(sns.get("Message", "")))
    try:
        message: Any = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: a hostile message nested thousands deep
        message = raw
    attributes = sns.get("MessageAttributes")
    return {
        "audit": "gaib-backup-notifications",
        "message_id": str(sns.get("MessageId", ""))[:100],
        "topic": str(sns.get("TopicArn", ""))[:300],
        "timestamp": str(sns.get("Timestamp", ""))[:40],
        "subject": _scrub(str(sns.get("Subject") or ""))[:200],
        "event": attributes.get("event", {}).get("Value") if isinstance(attributes, dict)
        and isinstance(attributes.get("event"), dict) else None,
        "message": message,
    }


def handler(event: Any, context: Any = None) -> dict[str, int]:
    """Lambda entry point: one log line per SNS record; returns the counts."""
    records = event.get("Records") if isinstance(event, dict) else None
    logged = skipped = 0
    for record in records if isinstance(records, list) else []:
        sns = record.get("Sns") if isinstance(record, dict) else None
        if not isinstance(sns, dict) or not isinstance(sns.get("Message"), str):
            skipped += 1
            continue
        sys.stdout.write(json.dumps(audit_line(sns), ensure_ascii=False, separators=(",", ":")) + "\n")
        logged += 1
    sys.stdout.flush()
    return {"logged": logged, "skipped": skipped}
