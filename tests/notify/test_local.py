"""FileNotifier and read_events on real files, with real concurrent writer processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gaib.errors import InvalidInput, StorageError
from gaib.notify.base import NotifyError
from gaib.notify.events import Event
from gaib.notify.local import FileNotifier, events_path, read_events
from gaib.storage.open import open_storage
from tests.support.clocks import AT
from tests.support.webhook import WEBHOOK_ID, WEBHOOK_TOKEN

SERVER = "123456789012345678"


def backup_event(n: int, message: str = "Backup written") -> Event:
    return Event.succeeded("backup", tier="free", at=AT, server_id=SERVER, workspace="default",
                           id=f"20250101T030000Z-{n:06d}", message=message, duration_ms=n)


def test_published_events_read_back_in_order_as_their_messages(tmp_path: Path) -> None:
    path = events_path(tmp_path / "store")
    notifier = FileNotifier(path)
    events = [backup_event(1), Event.failed("backup", StorageError("disk full"), tier="free", at=AT,
                                            server_id=SERVER), Event.summary(tier="free", at=AT, ok=1, failed=1,
                                                                             skipped=0)]
    for event in events:
        notifier.publish(event)

    assert path == tmp_path / "store" / ".events" / "events.jsonl"
    assert read_events(path) == [e.to_message() for e in events]
    assert path.read_bytes().count(b"\n") == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_read_events_limit_returns_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    notifier = FileNotifier(path)
    for n in range(5):
        notifier.publish(backup_event(n))

    assert [e["duration_ms"] for e in read_events(path, limit=2)] == [3, 4]
    assert read_events(path, limit=0) == []
    assert len(read_events(path, limit=50)) == 5
    assert read_events(tmp_path / "missing.jsonl") == []
    with pytest.raises(InvalidInput):
        read_events(path, limit=-1)


def test_torn_last_line_is_skipped_and_sealed_by_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    notifier = FileNotifier(path)
    notifier.publish(backup_event(1))
    notifier.publish(backup_event(2))
    with path.open("ab") as fh:  # a writer killed halfway through its line
        fh.write(b'{"event":"backup.succeeded","server_id":"1234')

    assert [e["duration_ms"] for e in read_events(path)] == [1, 2]

    notifier.publish(backup_event(3))
    assert [e["duration_ms"] for e in read_events(path)] == [1, 2, 3]
    lines = path.read_bytes().split(b"\n")
    assert lines[2] == b'{"event":"backup.succeeded","server_id":"1234'  # the fragment, on its own line
    assert json.loads(lines[3])["duration_ms"] == 3


def test_secrets_given_to_the_notifier_never_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    url = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"
    FileNotifier(path, secrets=["plain-secret-1234"]).publish(
        Event.failed("restore", StorageError(f"POST {url} failed"), tier="premium", at=AT,
                     message="token plain-secret-1234 was refused"))

    raw = path.read_text(encoding="utf-8")
    assert WEBHOOK_TOKEN not in raw and f"/webhooks/{WEBHOOK_ID}" not in raw
    assert "plain-secret-1234" not in raw
    assert read_events(path)[0]["message"] == "token [redacted] was refused"


def test_unwritable_location_is_a_notify_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")

    with pytest.raises(NotifyError) as info:
        FileNotifier(blocker / "events.jsonl").publish(backup_event(1))
    assert info.value.error_code == "NOTIFY_FAILED" and info.value.exit_code == 1
    assert "not-a-folder" in info.value.message


def test_events_file_is_outside_the_store_key_space(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store, _ = open_storage(backend="local", root=root, environ={})
    store.put("state/123456789012345678/default/backup.20250101T030000Z.json.gz", b"data")
    FileNotifier(events_path(root)).publish(backup_event(1))

    assert [info.key for info in store.list()] == ["state/123456789012345678/default/backup.20250101T030000Z.json.gz"]
    store.put("state/123456789012345678/default/backup.20250102T030000Z.json.gz", b"more")
    assert len(read_events(events_path(root))) == 1


def test_an_event_published_before_the_store_exists_does_not_block_it(tmp_path: Path) -> None:
    root = tmp_path / "store"
    FileNotifier(events_path(root)).publish(Event.failed("backup", StorageError("bucket down"), tier="free", at=AT))
    store, _ = open_storage(backend="local", root=root, environ={})

    store.put("state/123456789012345678/default/backup.20250101T030000Z.json.gz", b"data")


WRITER = """
import sys, time
from pathlib import Path
from datetime import datetime, UTC
from gaib.notify.events import Event
from gaib.notify.local import FileNotifier

path, writer, count, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
notifier = FileNotifier(path)
pad = "w%d " % writer * 200  # ~600-character messages: lines of about 1 KB
while not go.exists():
    time.sleep(0.005)
for seq in range(count):
    notifier.publish(Event.succeeded("backup", tier="premium", at=datetime.now(UTC), server_id=str(writer + 1),
                                     workspace="default", id="w%d-%06d" % (writer, seq), message=pad,
                                     duration_ms=seq))
"""


def test_concurrent_writer_processes_never_tear_or_lose_a_line(tmp_path: Path) -> None:
    path = tmp_path / "store" / ".events" / "events.jsonl"
    go = tmp_path / "go"
    writers, per_writer = 6, 150
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w), str(per_writer), str(go)],
                              stderr=subprocess.PIPE) for w in range(writers)]
    time.sleep(0.3)  # let every interpreter start, so they really append at the same time
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()

    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.split(b"\n")[:-1]
    assert len(lines) == writers * per_writer
    parsed = [json.loads(line) for line in lines]  # every line is one whole JSON object
    for w in range(writers):
        mine = [e for e in parsed if e["server_id"] == str(w + 1)]
        assert [e["id"] for e in mine] == [f"w{w}-{s:06d}" for s in range(per_writer)]  # complete, in order
        assert all(e["message"] == (f"w{w} " * 200).strip() for e in mine)
    assert read_events(path) == parsed
    assert os.stat(path).st_size == len(raw)
