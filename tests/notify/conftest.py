from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from gaib.aws_lambda import discord_notifier
from tests.infra.webhook_sink import WebhookSink, local_webhook

AT = datetime(2025, 1, 1, 3, 0, 5, tzinfo=UTC)


@pytest.fixture
def webhook() -> Iterator[WebhookSink]:
    """A Discord-webhook-shaped endpoint on 127.0.0.1 for the Lambda at the end of the SNS path."""
    with local_webhook() as sink:
        yield sink


@pytest.fixture(autouse=True)
def _fresh_lambda_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    discord_notifier.clear_cache()
    monkeypatch.delenv(discord_notifier.ENV_SECRET_ARN, raising=False)
    monkeypatch.delenv(discord_notifier.ENV_PARAMETER, raising=False)
    yield
    discord_notifier.clear_cache()
