"""Deliver simulated messages over HTTP the way DocuSign Connect does, scaled down.

Like DocuSign: each message is a signed POST; the listener has ``timeout`` seconds (100 by
default) to answer; anything but a 2xx, a timeout or a connection error is a failure, and
the message is sent again with ``retryCount`` incremented (JSON SIM) — the same logical
event, a different body. Unlike DocuSign, which retries a failed message about once a day,
at most ten times, the simulator retries ``max_attempts - 1`` times after ``retry_delay``
seconds (doubling), so a local run ends in seconds.

Optional stress: ``duplicates`` (the fraction of messages delivered a second time, as when an
acknowledgement is lost), ``shuffle`` (any order, across and within envelopes) and
``concurrency`` (requests in flight). Without ``shuffle`` each envelope's messages go in
DocuSign order, one at a time, envelopes in parallel.

``hold_on_failure`` behaves like a Connect configuration with SIM and acknowledgement that
DocuSign has marked as failing: every message goes in one queue, in DocuSign order (by the
time of its event), one at a time; while a message is failing, every later message is held
back behind it (counted in ``Report.held``) until it is acknowledged or given up, then the
queue is flushed in order.

Needs ``httpx`` (``pip install 'connect-mw[server]'``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .messages import SimulatedMessage
from .report import Progress, Report

if TYPE_CHECKING:
    import httpx

DOCUSIGN_TIMEOUT = 100.0


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    """Where and how to deliver (see the module docstring)."""

    url: str
    hmac_keys: tuple[str, ...] = ()
    timeout: float = DOCUSIGN_TIMEOUT
    max_attempts: int = 3
    retry_delay: float = 0.5
    concurrency: int = 8
    duplicates: float = 0.0
    shuffle: bool = False
    seed: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    hold_on_failure: bool = False

    def __post_init__(self) -> None:
        if self.hold_on_failure and self.shuffle:
            raise ValueError("hold_on_failure keeps DocuSign's order: it excludes shuffle")
        if self.max_attempts < 1 or self.concurrency < 1:
            raise ValueError("max_attempts and concurrency must be at least 1")
        if not 0.0 <= self.duplicates <= 1.0:
            raise ValueError("duplicates is a fraction between 0 and 1")
        if self.timeout <= 0 or self.retry_delay < 0:
            raise ValueError("timeout must be positive and retry_delay not negative")


@dataclass(frozen=True, slots=True)
class Send:
    """One scheduled delivery of a message: the original, or a duplicate sent again later."""

    message: SimulatedMessage
    duplicate: bool = False

    @property
    def first_retry_count(self) -> int:
        """A duplicate is DocuSign sending again after a lost acknowledgement: ``retryCount`` 1."""
        return 1 if self.duplicate else 0


def plan(
    messages: Sequence[SimulatedMessage], options: DeliveryOptions, rng: random.Random
) -> list[list[Send]]:
    """Lanes of sends: a lane goes in order, one request at a time; lanes run concurrently."""
    sends: list[Send] = []
    for message in messages:
        sends.append(Send(message))
        if options.duplicates and rng.random() < options.duplicates:
            sends.append(Send(message, duplicate=True))
    if options.shuffle:
        rng.shuffle(sends)
        return [[send] for send in sends]
    if options.hold_on_failure:  # one queue, in the order the events happened
        return [sorted(sends, key=lambda send: send.message.moment.at)]
    lanes: dict[str, list[Send]] = {}
    for send in sends:
        lanes.setdefault(send.message.lane, []).append(send)
    return list(lanes.values())


class Deliverer:
    """Runs one delivery: ``await Deliverer(options).run(messages)``."""

    def __init__(
        self,
        options: DeliveryOptions,
        *,
        progress: Progress | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.options = options
        self.progress = progress
        self.transport = transport
        self.report = Report(total=0)

    async def run(self, messages: Sequence[SimulatedMessage]) -> Report:
        """Deliver every message (and duplicate); return the counts."""
        import httpx  # noqa: PLC0415 - optional dependency, only the simulator needs it

        lanes = plan(messages, self.options, random.Random(self.options.seed))
        self.report = Report(total=sum(len(lane) for lane in lanes))
        started = time.perf_counter()
        limits = httpx.Limits(max_connections=self.options.concurrency)
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(self.options.timeout), limits=limits, transport=self.transport
        ) as client:
            pending = iter(lanes)
            workers = min(self.options.concurrency, len(lanes))
            await asyncio.gather(*(self._work(client, pending) for _ in range(workers)))
        self.report.elapsed = time.perf_counter() - started
        if self.progress is not None:
            self.progress.close(self.report)
        return self.report

    async def _work(self, client: httpx.AsyncClient, lanes: Iterator[list[Send]]) -> None:
        for lane in lanes:  # one iterator shared by every worker: each lane is taken once
            held: set[int] = set()
            for position, send in enumerate(lane):
                behind = range(position + 1, len(lane)) if self.options.hold_on_failure else ()
                await self._deliver(client, send, behind, held)
            self.report.held += len(held)

    async def _deliver(
        self, client: httpx.AsyncClient, send: Send, behind: range | tuple[()], held: set[int]
    ) -> bool:
        """Deliver one send with retries; while it fails, the sends ``behind`` it are held."""
        options = self.options
        ok = False
        for attempt in range(options.max_attempts):
            body = send.message.body(send.first_retry_count + attempt)
            outcome, latency, ok = await self._post(client, send.message, body)
            self.report.record(
                outcome, latency, ok=ok, retry=attempt > 0, duplicate=send.duplicate and not attempt
            )
            if ok:
                break
            held.update(behind)
            if attempt + 1 < options.max_attempts:
                await asyncio.sleep(options.retry_delay * 2**attempt)
        self.report.delivered += ok
        self.report.failed += not ok
        if self.progress is not None:
            self.progress.update(self.report)
        return ok

    async def _post(
        self, client: httpx.AsyncClient, message: SimulatedMessage, body: bytes
    ) -> tuple[str, float, bool]:
        import httpx  # noqa: PLC0415

        headers = message.headers(body, self.options.hmac_keys)
        headers.update(dict(self.options.headers))
        started = time.perf_counter()
        try:
            response = await client.post(self.options.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return "timeout", time.perf_counter() - started, False
        except httpx.TransportError as exc:
            return type(exc).__name__, time.perf_counter() - started, False
        latency = time.perf_counter() - started
        return str(response.status_code), latency, 200 <= response.status_code < 300


async def adeliver(
    messages: Sequence[SimulatedMessage],
    options: DeliveryOptions,
    *,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Report:
    """Deliver ``messages`` as configured by ``options``; return the :class:`Report`."""
    deliverer = Deliverer(options, progress=progress, transport=transport)
    return await deliverer.run(messages)


def deliver(
    messages: Sequence[SimulatedMessage],
    options: DeliveryOptions,
    *,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Report:
    """:func:`adeliver` from synchronous code (starts its own event loop)."""
    return asyncio.run(adeliver(messages, options, progress=progress, transport=transport))
