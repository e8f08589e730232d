"""Each step written once: pipelines as generators of effects, run by two thin drivers.

The pipeline code (recording, processing, the worker loop) is a generator that *yields*
what it needs done — a blocking call of a store or queue, a user callback, a batch of
sub-pipelines to run side by side, a wait — and gets the result sent back (or the
exception thrown in). It never does I/O itself, so it is the same code under WSGI and
ASGI. :func:`drive` runs a pipeline in the calling thread; :func:`adrive` runs it on an
event loop, blocking calls offloaded the way their store says, coroutine callbacks
awaited. These two drivers are the only sync/async pair, and ``tests/processing`` runs
every pipeline through both (parity).
"""

from __future__ import annotations

import abc
import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread

_R = TypeVar("_R")
Steps = Generator["Effect", Any, _R]
Offload = Callable[[Callable[[], Any]], Awaitable[Any]]


async def _in_thread(call: Callable[[], _R]) -> _R:
    return await anyio.to_thread.run_sync(call)


class Effect(abc.ABC):
    """Something a pipeline needs done; both drivers know how to do it."""

    @abc.abstractmethod
    def run(self) -> Any:
        """Do it in the calling thread."""

    @abc.abstractmethod
    async def arun(self) -> Any:
        """Do it on the event loop."""


@dataclass(frozen=True, slots=True)
class Blocking(Effect):
    """A blocking call (a store or queue method); ``offload`` runs it from async code."""

    call: Callable[[], Any]
    offload: Offload = _in_thread

    def run(self) -> Any:
        """Call it."""
        return self.call()

    async def arun(self) -> Any:
        """Await it through ``offload`` (a worker thread unless the store says otherwise)."""
        return await self.offload(self.call)


@dataclass(frozen=True, slots=True)
class Invoke(Effect):
    """A user callable, plain or ``async def``, inside ``context`` (e.g. Flask's app context).

    In a thread, a coroutine it returns runs to completion on a new event loop; on an event
    loop, coroutine functions are awaited and plain functions run in a worker thread, so a
    slow one cannot stall the loop.
    """

    func: Callable[..., Any]
    args: tuple[Any, ...]
    context: Callable[[], AbstractContextManager[object]] = nullcontext

    def run(self) -> Any:
        """Call it; run what it returns to completion if it is awaitable."""
        with self.context():
            result = self.func(*self.args)
            if inspect.isawaitable(result):
                return asyncio.run(_awaited(result))
            return result

    async def arun(self) -> Any:
        """Await it (coroutine functions) or call it in a worker thread."""
        with self.context():
            if inspect.iscoroutinefunction(self.func):
                return await self.func(*self.args)
            result = await anyio.to_thread.run_sync(lambda: self.func(*self.args))
            if inspect.isawaitable(result):
                return await result
            return result


async def _awaited(awaitable: Awaitable[_R]) -> _R:
    return await awaitable


@dataclass(frozen=True, slots=True)
class Gather(Effect):
    """Run several pipelines side by side (threads, or tasks); the list of their results."""

    pipelines: list[Steps[Any]]
    thread_prefix: str = "connect-mw"

    def run(self) -> list[Any]:
        """One thread per pipeline (none for a single one)."""
        if len(self.pipelines) < 2:
            return [drive(p) for p in self.pipelines]
        with ThreadPoolExecutor(len(self.pipelines), self.thread_prefix) as pool:
            return list(pool.map(drive, self.pipelines))

    async def arun(self) -> list[Any]:
        """One task per pipeline."""
        results: list[Any] = [None] * len(self.pipelines)

        async def one(i: int) -> None:
            results[i] = await adrive(self.pipelines[i])

        async with anyio.create_task_group() as group:
            for i in range(len(self.pipelines)):
                group.start_soon(one, i)
        return results


@dataclass(frozen=True, slots=True)
class Wait(Effect):
    """Wait until ``event`` is set or ``timeout`` seconds passed, then clear it."""

    event: threading.Event
    timeout: float

    def run(self) -> None:
        """Block this thread."""
        self.event.wait(self.timeout)
        self.event.clear()

    async def arun(self) -> None:
        """Wait in a worker thread the loop may abandon on cancellation."""
        await anyio.to_thread.run_sync(self.event.wait, self.timeout, abandon_on_cancel=True)
        self.event.clear()


def drive(steps: Steps[_R]) -> _R:
    """Run a pipeline in the calling thread."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        try:
            value = effect.run()
        except Exception as exc:
            error = exc


async def adrive(steps: Steps[_R]) -> _R:
    """Run a pipeline on the event loop."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        try:
            value = await effect.arun()
        except Exception as exc:
            error = exc
