from __future__ import annotations

from collections.abc import Iterator

import pytest

from gaib.aws_lambda import discord_notifier
from tests.infra.webhook_sink import WebhookSink, local_webhook


@pytest.fixture
def webhook() -> Iterator[WebhookSink]:
    """The webhook endpoint the notifier posts to. Swap the implementation here to test another one."""
    with local_webhook() as sink:
        yield sink


@pytest.fixture(autouse=True)
def _fresh_notifier_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    discord_notifier.clear_cache()
    monkeypatch.delenv(discord_notifier.ENV_SECRET_ARN, raising=False)
    monkeypatch.delenv(discord_notifier.ENV_PARAMETER, raising=False)
    yield
    discord_notifier.clear_cache()
