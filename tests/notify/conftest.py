from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_lambda_cache(fresh_notifier: None) -> None:
    """Every test here starts with the notifier Lambda's cache empty and its secret variables unset."""
