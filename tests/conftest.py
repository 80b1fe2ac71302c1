"""Registers the shared fixtures (tests/support/fixtures) once for the whole suite; folder conftests hold
only what is local to their folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest_plugins = [
    "tests.support.fixtures.aws",
    "tests.support.fixtures.cli",
    "tests.support.fixtures.store",
    "tests.support.fixtures.guild",
    "tests.support.fixtures.webhook",
    "tests.support.fixtures.terraform",
]


def pytest_configure(config: pytest.Config) -> None:
    """A suite started as a background job of a shell without job control (``cmd &`` in a script) inherits
    SIGINT ignored, and so would every process a test starts: Gaib keeps an ignored SIGINT ignored (as under
    nohup), so the Ctrl-C tests could not interrupt anything. The suite itself runs with Python's default."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests run first, in collection order, the rest after them in theirs: with parallel workers
    (pytest-xdist hands out tests in this order) the long tests start early, spread over the workers,
    instead of one of them ending the run alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _no_interruption_carried_over() -> Iterator[None]:
    """A test that interrupts (Ctrl-C, end of input at a prompt, a stopped pool) sets the process-wide
    stop flag of :mod:`gaib.interrupt`; the next test in this worker starts without it."""
    from gaib import interrupt

    yield
    interrupt.reset()
