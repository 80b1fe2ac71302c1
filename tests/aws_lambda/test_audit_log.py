"""The notification audit Lambda: one JSON line per SNS message in CloudWatch Logs, never a secret."""

from __future__ import annotations

import json

import pytest

from gaib.aws_lambda import audit_log

TOKEN = "MTEyMjMzNDQ1NTY2Nzc4ODk5.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"
HOOK = "https://discord.com/api/webhooks/112233/sEcReT-token"


def record(message: object, subject: str | None = "Gaib: Backup failed", event: str | None = "backup.failed") -> dict:
    sns: dict[str, object] = {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:t",
                              "Subject": subject, "Timestamp": "2026-11-25T03:00:05.000Z", "Message": message}
    if event is not None:
        sns["MessageAttributes"] = {"event": {"Type": "String", "Value": event}}
    return {"EventSource": "aws:sns", "Sns": sns}


def test_each_message_is_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    message = json.dumps({"event": "backup.failed", "server_id": "1", "message": "Scheduled backup failed"})
    result = audit_log.handler({"Records": [record(message), record("plain alarm text", event=None)]})

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert result == {"logged": 2, "skipped": 0}
    assert lines[0]["message"]["event"] == "backup.failed" and lines[0]["event"] == "backup.failed"
    assert lines[0]["message_id"] == "m-1" and lines[0]["subject"] == "Gaib: Backup failed"
    assert lines[1]["message"] == "plain alarm text" and lines[1]["event"] is None


def test_a_foreign_publishers_secrets_are_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    audit_log.handler({"Records": [record(f"token {TOKEN} hook {HOOK}", subject=f"leak {TOKEN}")]})

    out = capsys.readouterr().out
    assert TOKEN not in out and "sEcReT-token" not in out and out.count("[redacted]") == 3


@pytest.mark.parametrize("event", [None, {}, {"Records": "x"}, {"Records": [{"Sns": {"Message": 5}}, "junk"]}])
def test_anything_else_is_skipped_not_an_error(event: object, capsys: pytest.CaptureFixture[str]) -> None:
    result = audit_log.handler(event)
    assert result["logged"] == 0 and capsys.readouterr().out == ""
