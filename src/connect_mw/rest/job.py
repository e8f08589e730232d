"""Periodic reconciliation: :func:`~connect_mw.rest.reconcile.reconcile_receiver` every N seconds.

A :class:`ReconcileJob` runs beside a worker (``connect-mw worker … --reconcile-every
SECONDS``) or in your own process: in a thread of its own (:meth:`ReconcileJob.start`) or
on your event loop (:meth:`ReconcileJob.arun`), until a stop flag is set. Each run resumes
from the watermark in the receiver's store; ``since`` is used only while there is none
(the first run). A run that fails (DocuSign unreachable, refused, the store down) is logged
and the job carries on: the next run repeats what the failed one did not commit. Stopping
interrupts a run in flight; what it committed stays, the rest is read again next time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio

from ..errors import ConfigurationError
from ..worker import Stop
from .errors import DocuSignError
from .operations import DEFAULT_PAGE_SIZE
from .reconcile import (
    DEFAULT_OVERLAP,
    WATERMARK,
    ReconcileReport,
    read_watermark,
    reconcile_receiver,
)
from .settings import DocuSignSettings

if TYPE_CHECKING:
    from ..receiver import Receiver
    from .client import AsyncESignClient

log = logging.getLogger("connect_mw.rest")
#: How often a running job looks at its stop flag (seconds).
STOP_POLL = 0.1


def summary(report: ReconcileReport) -> str:
    """One line about a run: found, new, fired, the watermark."""
    return (
        f"reconciled {report.since.isoformat()} .. {report.until.isoformat()}: "
        f"found {report.found}, new {report.new}, duplicates {report.duplicates}, "
        f"transitions {len(report.transitions)}, unreadable {len(report.unreadable)}; "
        f"watermark {report.watermark or '-'}"
    )


class ReconcileJob:
    """Reconcile ``receiver`` with DocuSign every ``every`` seconds (see the module).

    ``every`` counts from the end of one run to the start of the next; the first run starts
    at once. ``client_options`` are passed to each
    :class:`~connect_mw.rest.AsyncESignClient` the job opens (``retry``, ``timeout``…).
    ``runs``, ``failures``, ``last_report`` and ``last_error`` tell how it goes.
    """

    def __init__(
        self,
        receiver: Receiver,
        settings: DocuSignSettings,
        every: float,
        *,
        since: datetime | None = None,
        marker: str = WATERMARK,
        overlap: timedelta = DEFAULT_OVERLAP,
        page_size: int = DEFAULT_PAGE_SIZE,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        if every <= 0:
            raise ConfigurationError("the reconciliation interval must be positive")
        self.receiver = receiver
        self.settings = settings
        self.every = every
        self.since = since
        self.marker = marker
        self.overlap = overlap
        self.page_size = page_size
        self.client_options = dict(client_options or {})
        self.runs = 0
        self.failures = 0
        self.last_report: ReconcileReport | None = None
        self.last_error: str | None = None

    def __repr__(self) -> str:
        return f"ReconcileJob(every={self.every}, marker={self.marker!r})"

    def _client(self) -> AsyncESignClient:
        from .client import AsyncESignClient  # noqa: PLC0415 (httpx only when a job runs)

        return AsyncESignClient(self.settings, **self.client_options)

    async def arun_once(self, client: AsyncESignClient | None = None) -> ReconcileReport | None:
        """One run (with ``client``, or one of its own); ``None`` when it failed (logged)."""
        if client is None:
            async with self._client() as own:
                return await self.arun_once(own)
        self.runs += 1
        try:
            report = await self._reconcile(client)
        except (DocuSignError, ConfigurationError) as exc:
            self._failed(str(exc))
            log.error("reconciliation failed: %s", exc)
            return None
        except Exception as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
            log.exception("reconciliation failed")
            return None
        self.last_report, self.last_error = report, None
        log.info("%s", summary(report))
        return report

    async def _reconcile(self, client: AsyncESignClient) -> ReconcileReport:
        stored = await read_watermark(self.receiver.store, self.marker)
        return await reconcile_receiver(
            self.receiver,
            client,
            since=self.since if stored is None else None,
            marker=self.marker,
            overlap=self.overlap,
            page_size=self.page_size,
        )

    def _failed(self, error: str) -> None:
        self.failures += 1
        self.last_error = error

    def run_once(self) -> ReconcileReport | None:
        """One run in this thread (on an event loop of its own)."""
        return anyio.run(self.arun_once)

    async def arun(self, stop: Stop) -> None:
        """Run every ``every`` seconds on this event loop until ``stop`` is set."""
        async with self._client() as client, anyio.create_task_group() as group:
            group.start_soon(_cancel_when_set, stop, group.cancel_scope)
            while True:
                await self.arun_once(client)
                await anyio.sleep(self.every)

    def run(self, stop: Stop) -> None:
        """Run :meth:`arun` in this thread until ``stop`` is set."""
        if not stop.is_set():
            anyio.run(self.arun, stop)

    def start(self, stop: Stop) -> threading.Thread:
        """Run :meth:`run` in a daemon thread; join it after setting ``stop``."""
        thread = threading.Thread(
            target=self.run, args=(stop,), name="connect-mw-reconcile", daemon=True
        )
        thread.start()
        return thread


async def _cancel_when_set(stop: Stop, scope: anyio.CancelScope) -> None:
    while not stop.is_set():
        await anyio.sleep(STOP_POLL)
    scope.cancel()
