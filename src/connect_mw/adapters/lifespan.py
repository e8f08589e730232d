"""The ASGI lifespan scope: run the in-process worker for as long as the app lives.

At startup a :class:`~connect_mw.worker.Worker` starts as a task on the server's event loop;
at shutdown it stops claiming, finishes the batch in flight (bounded by
``shutdown_timeout``), and the store is closed, before the server is told shutdown is
complete. The wrapped app still sees every lifespan message; an app that ignores lifespan
(or no app at all) is answered here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anyio

from ..worker import Worker
from .asgi_types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class _Progress:
    startup_received: bool = False
    shutdown_received: bool = False
    startup_sent: bool = False
    shutdown_sent: bool = False


class Lifespan:
    """Serves one lifespan scope around ``app`` (``None`` for a standalone receiver)."""

    def __init__(
        self,
        app: ASGIApp | None,
        worker: Worker | None,
        on_shutdown: Callable[[], None],
        shutdown_timeout: float,
    ) -> None:
        self.app = app
        self.worker = worker
        self.on_shutdown = on_shutdown
        self.shutdown_timeout = shutdown_timeout
        self.progress = _Progress()
        self._stop = anyio.Event()
        self._stopped = anyio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the worker beside the app's own lifespan handling."""
        self._send = send
        self._receive = receive
        async with anyio.create_task_group() as group:
            if self.worker is not None:
                group.start_soon(self._run_worker)
            else:
                self._stopped.set()
            try:
                if self.app is not None:
                    await self.app(scope, self.receive, self.send)
                if not self.progress.shutdown_sent:
                    await self._answer_ourselves()
            finally:
                await self._stop_worker()

    async def _run_worker(self) -> None:
        assert self.worker is not None
        try:
            await self.worker.arun(self._stop)
        finally:
            self._stopped.set()

    async def _stop_worker(self) -> None:
        self._stop.set()
        if self.worker is not None:
            self.worker.wake()
        with anyio.move_on_after(self.shutdown_timeout):
            await self._stopped.wait()

    async def receive(self) -> Message:
        """The server's messages, noted on the way to the app."""
        message = await self._receive()
        if message["type"] == "lifespan.startup":
            self.progress.startup_received = True
        elif message["type"] == "lifespan.shutdown":
            self.progress.shutdown_received = True
        return message

    async def send(self, message: Message) -> None:
        """The app's answers: shutdown completes only after the worker stopped."""
        if message["type"] == "lifespan.startup.complete":
            self.progress.startup_sent = True
        elif message["type"] == "lifespan.shutdown.complete":
            await self._stop_worker()
            self.on_shutdown()
            self.progress.shutdown_sent = True
        await self._send(message)

    async def _answer_ourselves(self) -> None:
        if not self.progress.startup_received:
            await self.receive()
        if not self.progress.startup_sent:
            await self.send({"type": "lifespan.startup.complete"})
        while not self.progress.shutdown_received:
            await self.receive()
        await self.send({"type": "lifespan.shutdown.complete"})
