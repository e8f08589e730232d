"""Run an ASGI app's lifespan around a test scenario, as a server would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
from starlette.types import ASGIApp, Message


async def _messages(stop: anyio.Event) -> AsyncIterator[Message]:
    yield {"type": "lifespan.startup"}
    await stop.wait()
    yield {"type": "lifespan.shutdown"}


async def with_lifespan(app: ASGIApp, scenario: Callable[[], Awaitable[None]]) -> list[Message]:
    """Start ``app``'s lifespan, run ``scenario``, shut down; the messages ``app`` sent."""
    sent: list[Message] = []
    stop = anyio.Event()
    messages = _messages(stop)

    async def send(message: Message) -> None:
        sent.append(message)

    async def serve() -> None:
        await app({"type": "lifespan"}, messages.__anext__, send)

    async with anyio.create_task_group() as group:
        group.start_soon(serve)
        try:
            await scenario()
        finally:
            stop.set()
    return sent
