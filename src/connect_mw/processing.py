"""Running callbacks for a stored delivery and recording the outcome in the store.

This is the seam between the request path and processing: today the receiver calls
:func:`process` right after the store committed (``inline``); a deferred worker calls the
same functions with events it claims from the store. A failing callback never loses the
event: it stays stored, marked ``failed`` with the error and traceback.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from collections.abc import Awaitable
from typing import Any

import anyio.to_thread

from .callbacks import Callback, CallbackRegistry, Delivery
from .model import Notification
from .stores.base import ProcessingState, RecordOutcome, Store

log = logging.getLogger("connect_mw")


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
        "callback %s failed for key=%s envelope=%s: %s: %s",
        _describe(func),
        delivery.key,
        delivery.envelope_id,
        type(exc).__name__,
        exc,
    )
    for handler in registry.error_handlers:
        try:
            _call_sync(handler, delivery, exc)
        except Exception:
            log.exception("on_error handler %s raised", _describe(handler))
    return _error_text(func, exc)


def run_callbacks(registry: CallbackRegistry, calls: list[tuple[Callback, Delivery]]) -> list[str]:
    """Call each callback in order (every one, even after a failure); return the errors."""
    errors: list[str] = []
    for func, delivery in calls:
        try:
            with registry.call_context():
                _call_sync(func, delivery)
        except Exception as exc:
            errors.append(_report(registry, func, delivery, exc))
    return errors


async def arun_callbacks(
    registry: CallbackRegistry, calls: list[tuple[Callback, Delivery]]
) -> list[str]:
    """Async :func:`run_callbacks`: coroutines are awaited, plain functions run in a thread."""
    errors: list[str] = []
    for func, delivery in calls:
        try:
            with registry.call_context():
                await _call_async(func, delivery)
        except Exception as exc:
            errors.append(_report(registry, func, delivery, exc))
    return errors


def _outcome(errors: list[str]) -> tuple[ProcessingState, str | None]:
    if errors:
        return ProcessingState.FAILED, "\n".join(errors)
    return ProcessingState.PROCESSED, None


def process(
    store: Store, registry: CallbackRegistry, notification: Notification, outcome: RecordOutcome
) -> ProcessingState:
    """Run the callbacks a newly recorded delivery triggers and mark it in the store."""
    calls = registry.calls_for(notification, outcome.key, outcome.state, outcome.transitions)
    state, error = _outcome(run_callbacks(registry, calls))
    _mark(store, outcome.key, state, error)
    return state


async def aprocess(
    store: Store, registry: CallbackRegistry, notification: Notification, outcome: RecordOutcome
) -> ProcessingState:
    """Async :func:`process`."""
    calls = registry.calls_for(notification, outcome.key, outcome.state, outcome.transitions)
    state, error = _outcome(await arun_callbacks(registry, calls))
    try:
        await store.aset_processing(outcome.key, state, error)
    except Exception:
        log.exception("could not mark key=%s as %s; it stays pending", outcome.key, state)
    return state


def _mark(store: Store, key: str, state: ProcessingState, error: str | None) -> None:
    try:
        store.set_processing(key, state, error)
    except Exception:
        log.exception("could not mark key=%s as %s; it stays pending", key, state)
