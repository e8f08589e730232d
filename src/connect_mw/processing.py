"""Running callbacks for a stored event and recording the outcome in the store.

Both the request path (``inline`` mode) and workers (``deferred`` mode, see
:mod:`connect_mw.worker`) end here: the callbacks an event triggers are run in order, then the
event is *settled* — ``processed``; or ``failed`` with a retry time from the
:class:`RetryPolicy`; or ``dead`` once attempts are exhausted. A failing callback never loses
the event: it stays stored with the error and traceback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import random
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread

from .callbacks import Callback, CallbackRegistry, Delivery
from .errors import ParseError
from .metrics import Metrics
from .model import EnvelopeState, Notification
from .parse import parse
from .stores.base import ProcessingState, Store, StoredEvent, utcnow

log = logging.getLogger("connect_mw")
_NULL = Metrics()
Calls = list[tuple[Callback, Delivery]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and when a failing event is retried.

    Attempt ``n`` failing is retried after ``base_delay * 2**(n-1)`` capped at ``max_delay``,
    shortened by up to ``jitter`` (a fraction) at random so retries of many events spread
    out. After ``max_attempts`` attempts the event is dead.
    """

    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=10)
    max_delay: timedelta = timedelta(hours=1)
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("max_attempts must be >= 1 and jitter within [0, 1]")

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> timedelta:
        """The wait before the retry that follows failed attempt ``attempt`` (1-based)."""
        exponential = self.base_delay * (1 << min(max(attempt - 1, 0), 30))
        capped = min(exponential, self.max_delay)
        return capped * (1 - self.jitter * rand())


def _describe(func: object) -> str:
    return getattr(func, "__qualname__", None) or repr(func)


def _error_text(func: object, exc: BaseException) -> str:
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{_describe(func)} raised {type(exc).__name__}: {exc}\n{trace}"


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _call_sync(func: Any, *args: Any) -> None:
    result = func(*args)
    if inspect.isawaitable(result):
        asyncio.run(_await(result))


async def _call_async(func: Any, *args: Any) -> None:
    if inspect.iscoroutinefunction(func):
        await func(*args)
        return
    # Plain functions run in a worker thread so a slow one cannot stall the event loop.
    result = await anyio.to_thread.run_sync(lambda: func(*args))
    if inspect.isawaitable(result):
        await result


def _report(
    registry: CallbackRegistry, func: Callback, delivery: Delivery, exc: BaseException
) -> str:
    log.error(
        "callback %s failed for key=%s envelope=%s attempt=%d: %s: %s",
        _describe(func),
        delivery.key,
        delivery.envelope_id,
        delivery.attempt,
        type(exc).__name__,
        exc,
    )
    for handler in registry.error_handlers:
        try:
            _call_sync(handler, delivery, exc)
        except Exception:
            log.exception("on_error handler %s raised", _describe(handler))
    return _error_text(func, exc)


def run_callbacks(registry: CallbackRegistry, calls: Calls) -> list[str]:
    """Call each callback in order (every one, even after a failure); return the errors."""
    errors: list[str] = []
    for func, delivery in calls:
        try:
            with registry.call_context():
                _call_sync(func, delivery)
        except Exception as exc:
            errors.append(_report(registry, func, delivery, exc))
    return errors


async def arun_callbacks(registry: CallbackRegistry, calls: Calls) -> list[str]:
    """Async :func:`run_callbacks`: coroutines are awaited, plain functions run in a thread."""
    errors: list[str] = []
    for func, delivery in calls:
        try:
            with registry.call_context():
                await _call_async(func, delivery)
        except Exception as exc:
            errors.append(_report(registry, func, delivery, exc))
    return errors


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one attempt ended: the state to record, its error and when to retry."""

    state: ProcessingState
    error: str | None = None
    retry_at: datetime | None = None


def judge(errors: list[str], attempt: int, policy: RetryPolicy) -> Verdict:
    """The verdict for an attempt that produced ``errors``."""
    if not errors:
        return Verdict(ProcessingState.PROCESSED)
    error = "\n".join(errors)
    if attempt >= policy.max_attempts:
        return Verdict(ProcessingState.DEAD, error)
    return Verdict(ProcessingState.FAILED, error, utcnow() + policy.delay(attempt))


def _log_verdict(key: str, attempt: int, verdict: Verdict) -> None:
    if verdict.state is ProcessingState.PROCESSED:
        log.info("processed key=%s attempt=%d", key, attempt)
    elif verdict.state is ProcessingState.FAILED:
        log.warning("retrying key=%s after attempt=%d at %s", key, attempt, verdict.retry_at)
    else:
        log.error("dead key=%s after attempt=%d", key, attempt)


def restore(event: StoredEvent) -> Notification:
    """The notification a stored event was recorded from (its raw body parsed again)."""
    if event.raw is None:
        raise ValueError(f"event {event.key} was loaded without its raw body")
    notification = parse(event.raw, None)
    return dataclasses.replace(notification, account_id=event.account_id)


def calls_for_event(
    registry: CallbackRegistry, event: StoredEvent, state: EnvelopeState | None
) -> Calls:
    """The callbacks a claimed event triggers (raises ``ParseError`` if its body is bad)."""
    notification = restore(event)
    current = state or EnvelopeState(envelope_id=event.envelope_id, account_id=event.account_id)
    return registry.calls_for(notification, event.key, current, event.transitions, event.attempts)


def _too_many_crashes(event: StoredEvent, policy: RetryPolicy) -> Verdict | None:
    if event.attempts > policy.max_attempts:
        return Verdict(
            ProcessingState.DEAD,
            f"claimed {event.attempts} times without finishing (worker crashed or timed out)",
        )
    return None


@dataclass(frozen=True)
class Processor:
    """Everything processing an event needs: the store, the callbacks, retries, metrics."""

    store: Store
    callbacks: CallbackRegistry
    retry: RetryPolicy = RetryPolicy()
    metrics: Metrics = _NULL

    def settle(self, key: str, worker: str, attempt: int, verdict: Verdict) -> bool:
        """Record ``verdict`` for ``worker``'s claim on ``key``; ``False`` if it was lost."""
        self._note(key, attempt, verdict)
        try:
            held = self.store.finish(
                key, worker, verdict.state, error=verdict.error, retry_at=verdict.retry_at
            )
        except Exception:
            return self._unrecorded(key, verdict)
        return self._held(key, worker, held)

    async def asettle(self, key: str, worker: str, attempt: int, verdict: Verdict) -> bool:
        """Async :meth:`settle`, through the store's own async twin (``afinish``)."""
        self._note(key, attempt, verdict)
        try:
            held = await self.store.afinish(
                key, worker, verdict.state, error=verdict.error, retry_at=verdict.retry_at
            )
        except Exception:
            return self._unrecorded(key, verdict)
        return self._held(key, worker, held)

    def _note(self, key: str, attempt: int, verdict: Verdict) -> None:
        _log_verdict(key, attempt, verdict)
        self.metrics.increment("connect_mw_events_total", state=verdict.state.value)

    @staticmethod
    def _unrecorded(key: str, verdict: Verdict) -> bool:
        log.exception("could not record %s for key=%s; its lease will expire", verdict.state, key)
        return False

    @staticmethod
    def _held(key: str, worker: str, held: bool) -> bool:
        if not held:
            log.warning("key=%s was claimed by another worker before %s finished", key, worker)
        return held

    def process(self, event: StoredEvent, worker: str) -> ProcessingState:
        """Run the callbacks of a claimed event and settle it."""
        started = time.perf_counter()
        verdict = _too_many_crashes(event, self.retry)
        if verdict is None:
            try:
                calls = calls_for_event(
                    self.callbacks, event, self.store.get_envelope(event.envelope_id)
                )
            except (ParseError, ValueError) as exc:
                verdict = Verdict(ProcessingState.DEAD, f"stored body cannot be parsed: {exc}")
            else:
                errors = run_callbacks(self.callbacks, calls)
                verdict = judge(errors, event.attempts, self.retry)
        self.metrics.observe("connect_mw_processing_seconds", time.perf_counter() - started)
        self.settle(event.key, worker, event.attempts, verdict)
        return verdict.state

    async def aprocess(self, event: StoredEvent, worker: str) -> ProcessingState:
        """Async :meth:`process`: callbacks run on the event loop (plain ones in threads)."""
        started = time.perf_counter()
        verdict = _too_many_crashes(event, self.retry)
        if verdict is None:
            try:
                state = await self.store.aget_envelope(event.envelope_id)
                calls = calls_for_event(self.callbacks, event, state)
            except (ParseError, ValueError) as exc:
                verdict = Verdict(ProcessingState.DEAD, f"stored body cannot be parsed: {exc}")
            else:
                errors = await arun_callbacks(self.callbacks, calls)
                verdict = judge(errors, event.attempts, self.retry)
        self.metrics.observe("connect_mw_processing_seconds", time.perf_counter() - started)
        await self.asettle(event.key, worker, event.attempts, verdict)
        return verdict.state
