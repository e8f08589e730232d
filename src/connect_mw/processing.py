"""Processing stored events: run their callbacks, then settle how the attempt ended.

The :class:`Processor` owns both modes. **Deferred** (the default): after the commit it
only tells the queue (``notify``), and a :class:`~connect_mw.worker.Worker` claims the event
later. **Inline**: right after the commit it claims that very event through the queue — so
the queue's per-envelope order holds inline too: an event whose envelope has an earlier one
unfinished is left to a worker — and runs its callbacks before the answer goes out.

Either way an attempt ends *settled*: ``processed``; or ``failed`` with a retry time from
the :class:`RetryPolicy`; or ``dead`` once attempts are exhausted. A failing callback never
loses the event: it stays stored with the error and traceback. Every step is written once,
as a generator of effects (:mod:`connect_mw.effects`).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Literal

import msgspec

from .correlation import bound, correlation_id
from .display import display
from .effects import Blocking, Invoke, Steps, adrive, drive
from .errors import ParseError
from .metrics import Metrics, report_count, report_time
from .model import EnvelopeState, Notification, PayloadFormat
from .parse import parse
from .parse.raw_body import LazyBody
from .parse.rest import parse_rest_envelope
from .queues.api import Queue
from .routing import Callback, CallContext, Delivery, Router
from .stores.api import ProcessingState, Snapshot, Store, StoredEvent, utcnow
from .tracing import NO_SPAN, Span, start_span

log = logging.getLogger("connect_mw")
Calls = list[tuple[Callback, Delivery]]
Mode = Literal["deferred", "inline"]
DEFAULT_LEASE = timedelta(minutes=5)


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


def _describe(func: object) -> str:
    return getattr(func, "__qualname__", None) or repr(func)


def _error_text(func: object, exc: BaseException) -> str:
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{_describe(func)} raised {type(exc).__name__}: {exc}\n{trace}"


@contextmanager
def in_delivery(
    context: CallContext, parent: Span, kind: str, func: object, delivery: Delivery
) -> Iterator[None]:
    """Where a user callable runs for ``delivery``.

    Its correlation id bound (:mod:`connect_mw.correlation`), its span
    (``connect_mw.<kind>`` under ``parent``) current, then the router's ``context``.
    """
    cid = correlation_id(delivery.key)
    attributes: dict[str, str | int] = {
        "correlation_id": cid,
        "key": delivery.key,
        "envelope_id": delivery.envelope_id,
        "attempt": delivery.attempt,
        "callback": _describe(func),
    }
    if delivery.transition is not None:
        attributes["transition"] = delivery.transition.name
    span = parent.child(f"connect_mw.{kind}", **attributes)
    with bound(cid), span, span.current(), context():
        yield


def run_callbacks(router: Router, calls: Calls, parent: Span = NO_SPAN) -> Steps[list[str]]:
    """Call each callback in order (every one, even after a failure); return the errors.

    Every ``on_error`` handler hears about each failure, plain or ``async def`` alike. Each
    runs :func:`in_delivery` (correlation id, a span under ``parent``).
    """
    errors: list[str] = []
    for func, delivery in calls:
        scope = partial(in_delivery, router.call_context, parent, "callback", func, delivery)
        try:
            yield Invoke(func, (delivery,), scope)
        except Exception as exc:
            errors.append(_error_text(func, exc))
            yield from _report(router, func, delivery, exc, parent)
    return errors


def _report(
    router: Router, func: Callback, delivery: Delivery, exc: Exception, parent: Span
) -> Steps[None]:
    log.error(
        "callback %s failed for key=%s envelope=%s attempt=%d: %s: %s",
        _describe(func),
        display(delivery.key),
        display(delivery.envelope_id),
        delivery.attempt,
        type(exc).__name__,
        exc,
        extra={
            "correlation_id": correlation_id(delivery.key),
            "key": display(delivery.key),
            "envelope_id": display(delivery.envelope_id),
            "attempt": delivery.attempt,
            "callback": _describe(func),
        },
    )
    for handler in router.error_handlers:
        scope = partial(in_delivery, router.call_context, parent, "on_error", handler, delivery)
        try:
            yield Invoke(handler, (delivery, exc), scope)
        except Exception:
            log.exception(
                "on_error handler %s raised",
                _describe(handler),
                extra={"correlation_id": correlation_id(delivery.key)},
            )


def restore(event: StoredEvent) -> Notification:
    """The notification a stored event was recorded from (its raw body parsed again)."""
    if event.raw is None:
        raise ValueError(f"event {event.key} was loaded without its raw body")
    if event.format is PayloadFormat.REST_POLL:  # an envelope read by reconciliation
        return parse_rest_envelope(event.raw, event.account_id)
    notification = parse(event.raw, None, warn=False)  # the receiver warned already
    return msgspec.structs.replace(notification, account_id=event.account_id)


def calls_for_event(
    router: Router, event: StoredEvent, notification: Notification, state: EnvelopeState | None
) -> Calls:
    """The callbacks a claimed event (recorded from ``notification``) triggers."""
    current = state or EnvelopeState(envelope_id=event.envelope_id, account_id=event.account_id)
    raw = event.raw or b""
    return router.calls_for(
        notification,
        event.key,
        current,
        event.transitions,
        event.attempts,
        raw=raw,
        body=LazyBody(raw),
    )


#: Completes a notification before its callbacks run (e.g. fetches a minimal message's
#: envelope summary from DocuSign); plain or ``async def``.
Enrich = Callable[[Notification], Notification | Awaitable[Notification]]


def _too_many_crashes(event: StoredEvent, policy: RetryPolicy) -> Verdict | None:
    if event.attempts > policy.max_attempts:
        return Verdict(
            ProcessingState.DEAD,
            f"claimed {event.attempts} times without finishing (worker crashed or timed out)",
        )
    return None


def _log_verdict(event: StoredEvent, worker: str, verdict: Verdict, seconds: float) -> None:
    fields = {
        "correlation_id": correlation_id(event.key),
        "outcome": verdict.state.value,
        "envelope_id": display(event.envelope_id),
        "event": display(event.event),
        "envelope_status": "-" if event.status is None else display(event.status),
        "key": display(event.key),
        "attempt": event.attempts,
        "duration_ms": round(seconds * 1000, 3),
        "retry_at": None if verdict.retry_at is None else verdict.retry_at.isoformat(),
        "worker": worker,
    }
    described = (
        "envelope=%(envelope_id)s event=%(event)s key=%(key)s attempt=%(attempt)d "
        "correlation=%(correlation_id)s in %(duration_ms).1f ms"
    )
    if verdict.state is ProcessingState.PROCESSED:
        log.info("processed " + described, fields, extra=fields)
    elif verdict.state is ProcessingState.FAILED:
        log.warning("retrying at %(retry_at)s " + described, fields, extra=fields)
    else:
        log.error("dead " + described, fields, extra=fields)


@dataclass(frozen=True)
class Processor:
    """Everything processing an event needs, and the two modes (see the module docstring).

    ``lease_for`` is how long a claim holds before another worker may take the event.
    ``enrich``, if given, completes each notification before its callbacks run; when it
    raises, the attempt fails and is retried like a failing callback.
    """

    store: Store
    queue: Queue
    router: Router
    retry: RetryPolicy = RetryPolicy()
    metrics: Metrics = dataclasses.field(default_factory=Metrics)
    mode: Mode = "deferred"
    lease_for: timedelta = DEFAULT_LEASE
    enrich: Enrich | None = None
    inline_worker: str = dataclasses.field(
        default_factory=lambda: f"inline:{random.getrandbits(32):08x}"
    )

    def __post_init__(self) -> None:
        if self.mode not in ("deferred", "inline"):
            raise ValueError(f"mode must be 'deferred' or 'inline', not {self.mode!r}")

    def claim(
        self, worker: str, limit: int = 1, key: str | None = None
    ) -> Steps[list[StoredEvent]]:
        """Claim up to ``limit`` events for ``worker`` (only ``key``, if given)."""
        claim = partial(self.queue.claim, worker, lease_for=self.lease_for, limit=limit, key=key)
        events: list[StoredEvent] = yield Blocking(claim, self.queue.offload)
        return events

    def after_commit(self, key: str) -> Steps[None]:
        """What follows a new commit: run it now (inline, if the queue allows), or notify."""
        if self.mode == "inline":
            events = yield from self.claim(self.inline_worker, key=key)
            for event in events:
                yield from self.steps(event, self.inline_worker)
            if events:
                return
        self.queue.notify(key)

    def steps(self, event: StoredEvent, worker: str) -> Steps[ProcessingState]:
        """Run the callbacks of ``event`` (claimed by ``worker``) and settle it.

        Traced as ``connect_mw.process`` with a child span per callback
        (:mod:`connect_mw.tracing`); logged as ``processed``, ``retrying`` or ``dead``.
        """
        started = time.perf_counter()
        span = start_span(
            "connect_mw.process",
            correlation_id=correlation_id(event.key),
            key=event.key,
            envelope_id=event.envelope_id,
            event=event.event,
            attempt=event.attempts,
            worker=worker,
        )
        try:
            verdict = _too_many_crashes(event, self.retry)
            if verdict is None:
                verdict = yield from self._attempt(event, span)
            elapsed = time.perf_counter() - started
            report_time(self.metrics, "connect_mw_processing_seconds", elapsed)
            span.set(outcome=verdict.state.value)
            if verdict.state is not ProcessingState.PROCESSED:
                span.fail(verdict.state.value)
            _log_verdict(event, worker, verdict, elapsed)
            yield from self.settle(event.key, worker, event.attempts, verdict)
        finally:
            span.end()
        return verdict.state

    def _attempt(self, event: StoredEvent, span: Span) -> Steps[Verdict]:
        stored: StoredEvent | None = yield self._store_call(self.store.get_event, event.key)
        snapshot: Snapshot | None = yield self._store_call(self.store.load, event.envelope_id)
        if stored is None:
            return Verdict(ProcessingState.DEAD, "the event is no longer stored")
        try:
            notification = restore(stored)
        except (ParseError, ValueError) as exc:
            return Verdict(ProcessingState.DEAD, f"stored body cannot be parsed: {exc}")
        if self.enrich is not None:
            plain = Delivery(notification, event.key, EnvelopeState(event.envelope_id))
            scope = partial(
                in_delivery, self.router.call_context, span, "enrich", self.enrich, plain
            )
            try:
                notification = yield Invoke(self.enrich, (notification,), scope)
            except Exception as exc:
                log.warning(
                    "enrich failed for key=%s: %s: %s",
                    display(event.key),
                    type(exc).__name__,
                    exc,
                    extra={"correlation_id": correlation_id(event.key)},
                )
                return judge([_error_text(self.enrich, exc)], event.attempts, self.retry)
        state = None if snapshot is None else snapshot.state
        claimed = dataclasses.replace(stored, attempts=event.attempts)
        calls = calls_for_event(self.router, claimed, notification, state)
        errors = yield from run_callbacks(self.router, calls, span)
        return judge(errors, event.attempts, self.retry)

    def _store_call(self, method: Callable[[str], object], arg: str) -> Blocking:
        return Blocking(partial(method, arg), self.store.offload)

    def settle(self, key: str, worker: str, attempt: int, verdict: Verdict) -> Steps[bool]:
        """Record ``verdict`` for ``worker``'s claim on ``key``; ``False`` if it was lost."""
        report_count(self.metrics, "connect_mw_events_total", state=verdict.state.value)
        finish = partial(
            self.queue.finish,
            key,
            worker,
            verdict.state,
            error=verdict.error,
            retry_at=verdict.retry_at,
        )
        try:
            held: bool = yield Blocking(finish, self.queue.offload)
        except Exception:
            log.exception(
                "could not record %s for key=%s; its lease will expire", verdict.state, display(key)
            )
            return False
        if not held:
            log.warning(
                "key=%s was claimed by another worker before %s finished", display(key), worker
            )
        return held

    def process(self, event: StoredEvent, worker: str) -> ProcessingState:
        """Run :meth:`steps` in this thread."""
        return drive(self.steps(event, worker))

    async def aprocess(self, event: StoredEvent, worker: str) -> ProcessingState:
        """Run :meth:`steps` on the event loop (plain callbacks in worker threads)."""
        return await adrive(self.steps(event, worker))
