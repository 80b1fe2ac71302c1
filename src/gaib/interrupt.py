"""Ctrl-C: one process-wide flag that every wait honours, so an interrupted command ends within a second.

The operating system delivers SIGINT to the main thread only, and Python acts on it only between
bytecodes of that thread. Work running in other threads (an apply's concurrent steps, a replay's
channels, a scheduled run's servers) never sees it, and a pool that waits for them on the way out would
hold the process for as long as their longest sleep (a 10-minute name/topic wait). So:

* :func:`handling_sigint` (installed by the CLI around one command, main thread only) turns the first
  SIGINT into :func:`request_stop` plus ``KeyboardInterrupt`` in the main thread. While the command
  unwinds (releasing the lock, closing clients) a second SIGINT is ignored; a third ends the process at
  once (exit 130) for a cleanup that hangs.
* Every wait in the workers goes through :func:`sleep` (an Event, never ``time.sleep``): it wakes the
  moment the flag is set and raises :class:`Stopped`. :func:`check` raises it before a new request is
  sent, unless the thread is :func:`finishing` a cleanup (deleting a temporary webhook), which may still
  wait up to :data:`FINISHING_WAIT` for a rate limit.
* :class:`Workers` is a thread pool (a ``ThreadPoolExecutor`` inside) that, when the block it guards is
  interrupted, cancels what has not started and waits at most :data:`GRACE` seconds for the steps in
  flight (so an answer Discord is sending is still recorded), instead of waiting for every worker to
  finish.
* :func:`shielded` defers an interruption in the main thread to the end of a short critical section
  (taking or releasing the state lock), so a lock is never left half-taken or half-released.

``Stopped`` is a ``KeyboardInterrupt``: no ``except Exception`` (or ``except GaibError``) that records a
step's failure and goes on takes it for a failure. The CLI maps either to ``INTERRUPTED`` (exit 130).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar

if TYPE_CHECKING:  # loaded when the first pool is made (Workers.__init__), not with this module
    from concurrent.futures import Future

GRACE: Final = 0.5
"""Seconds an interrupted pool waits for the steps in flight to be answered and recorded."""

EXIT_INTERRUPTED: Final = 130

P = ParamSpec("P")
T = TypeVar("T")

_stop = threading.Event()
_local = threading.local()
_signals = 0
_shield_depth = 0
_pending = False


class Stopped(KeyboardInterrupt):
    """Raised in any thread that waits or is about to send once the run was interrupted."""


def interrupted() -> bool:
    """True once Ctrl-C was pressed during this command (or :func:`request_stop` was called)."""
    return _stop.is_set()


def request_stop() -> None:
    """Ask every wait to end and every worker to stop before its next request."""
    _stop.set()


def reset() -> None:
    """Forget an earlier interruption: called as a command starts (in-process runs reuse the module)."""
    global _signals, _pending
    _stop.clear()
    _signals = 0
    _pending = False


def check() -> None:
    """Raise :class:`Stopped` if the run was interrupted (not while :func:`finishing` a cleanup)."""
    if _stop.is_set() and not getattr(_local, "finishing", 0) and not _shielding():
        raise Stopped()


FINISHING_WAIT = 1.0
"""The longest wait a thread :func:`finishing` a cleanup still takes after an interruption (a rate limit
the run's own reads filled a moment ago); a longer one gives the cleanup up."""


def sleep(seconds: float) -> None:
    """Sleep ``seconds``, waking at once (with :class:`Stopped`) when the run is interrupted; a thread
    :func:`finishing` a cleanup still waits up to :data:`FINISHING_WAIT`, and gives a longer wait up.

    In the main thread the wait is also cut short by the SIGINT itself (``KeyboardInterrupt``); inside
    :func:`shielded` it is an ordinary sleep."""
    if _shielding() or (int(getattr(_local, "finishing", 0)) > 0 and seconds <= FINISHING_WAIT):
        if seconds > 0:
            time.sleep(seconds)
        return
    if _stop.is_set() or (seconds > 0 and _stop.wait(seconds)):
        raise Stopped()


@contextlib.contextmanager
def finishing() -> Iterator[None]:
    """Let this thread send requests after an interruption: for cleanups that leave nothing behind
    (a temporary webhook deleted). A wait longer than :data:`FINISHING_WAIT` still ends at once
    (:func:`sleep`), and the pool's :data:`GRACE` bounds the rest."""
    _local.finishing = getattr(_local, "finishing", 0) + 1
    try:
        yield
    finally:
        _local.finishing -= 1


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _signals, _pending
    _signals += 1
    _stop.set()
    if _signals >= 3:
        # The third Ctrl-C: the cleanup itself hangs (an unreachable lock table). Quit now; a lock
        # left behind names this process, which the next run sees is gone.
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    if _signals > 1:
        return  # the command is already unwinding: let it release what it holds
    if _shield_depth > 0:
        _pending = True  # raised when the critical section ends
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def handling_sigint() -> Iterator[None]:
    """Route SIGINT through :func:`_on_sigint` for the block (main thread only; elsewhere, or where
    SIGINT is ignored, nothing changes). Restores the previous handler afterwards."""
    reset()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:  # started with SIGINT ignored (nohup, a background job): keep it so
        yield
        return
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Defer a Ctrl-C in the main thread to the end of the block (a short critical section: taking or
    releasing a lock); it is then raised, also over an exception the block raised. Other threads are
    never interrupted by a signal, so there it does nothing."""
    global _shield_depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _shield_depth += 1
    try:
        yield
    except BaseException as exc:
        if _leave_shield():
            raise KeyboardInterrupt from exc
        raise
    if _leave_shield():
        raise KeyboardInterrupt


def _leave_shield() -> bool:
    """Leave one level of :func:`shielded`; True when a deferred Ctrl-C is now due."""
    global _shield_depth, _pending
    _shield_depth -= 1
    due = _shield_depth == 0 and _pending
    if due:
        _pending = False
    return due


def _shielding() -> bool:
    return _shield_depth > 0 and threading.current_thread() is threading.main_thread()


class Workers:
    """A thread pool whose ``with`` block, when interrupted, gives the steps in flight :data:`GRACE`
    seconds (the run's waits end at once; an answer on its way is still recorded), cancels the rest and
    returns without waiting any longer for workers still inside a request. Otherwise it behaves as the
    ``ThreadPoolExecutor`` it wraps: ``submit``, ``map``, ``shutdown``, and a block that waits for them all.

    Every command imports this module (the CLI installs :func:`handling_sigint`), but only the ones
    that send requests make a pool: ``concurrent.futures`` is imported by the first pool made, because
    it loads ``logging`` and ``traceback`` (a third of bare Python's start-up) that ``gaib --help`` and
    a listing never use (tests/cli/test_startup.py)."""

    def __init__(self, max_workers: int | None = None, thread_name_prefix: str = "") -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._pending: set[Future[Any]] = set()  # submitted and not done yet
        self._pending_lock = threading.Lock()
        self._stopped = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future = self._pool.submit(fn, *args, **kwargs)
        with self._pending_lock:
            self._pending.add(future)
        # Each future leaves the set as it ends (at once if it already has): submitting a level of 500
        # steps stays linear, where re-scanning the submitted ones on every submit was quadratic.
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._pending_lock:
            self._pending.discard(future)

    def map(self, fn: Callable[..., T], *iterables: Iterable[Any]) -> Iterator[T]:
        """``fn`` over ``iterables`` in the pool, results in order (``ThreadPoolExecutor.map``)."""
        return self._pool.map(fn, *iterables)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def stop(self) -> None:
        """Cancel what has not started and wait at most :data:`GRACE` seconds for what has (once)."""
        from concurrent.futures import wait

        request_stop()
        if self._stopped:
            return
        self._stopped = True
        self.shutdown(wait=False, cancel_futures=True)
        with self._pending_lock:
            running = [f for f in self._pending if not f.done()]
        if running:
            with shielded():
                wait(running, timeout=GRACE)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if (exc_type is not None and issubclass(exc_type, KeyboardInterrupt)) or interrupted():
            self.stop()
            return
        self.shutdown(wait=True)


def abandon_stuck_threads(code: int) -> None:
    """At the end of an interrupted process: if a worker is still inside a request (its answer will
    never be read), end the process now with ``code`` instead of letting the interpreter join it."""
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if not others:
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


__all__ = ["GRACE", "Stopped", "Workers", "abandon_stuck_threads", "check", "finishing", "handling_sigint",
           "interrupted", "request_stop", "reset", "shielded", "sleep"]
