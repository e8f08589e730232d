"""``on_error`` handlers, plain or ``async def``, hear about every failing callback.

Deferred processing in a worker thread, on an event loop, and in the in-process worker an
ASGI app runs for its lifespan; inline processing is covered for every entry point in
``tests/adapters/test_entry_points.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
import pytest

from connect_mw import Delivery, MemoryStore, Receiver
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.stores import ProcessingState
from support.deliveries import KEY, PATH, signed_headers, signed_request, sim_body
from support.lifespan import with_lifespan

Heard = list[tuple[str, str]]


def failing_receiver(handler_kind: str) -> tuple[Receiver, Heard]:
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore())
    heard: Heard = []

    @receiver.on_any
    async def fails(delivery: Delivery) -> None:
        raise RuntimeError("boom")

    if handler_kind == "async":

        @receiver.on_error
        async def report(delivery: Delivery, exc: BaseException) -> None:
            await anyio.sleep(0)
            heard.append((delivery.key, str(exc)))

    else:

        @receiver.on_error
        def report_plain(delivery: Delivery, exc: BaseException) -> None:
            heard.append((delivery.key, str(exc)))

    assert receiver.handle(signed_request(sim_body())).status == 200
    return receiver, heard


def run_in_thread(receiver: Receiver) -> int:
    return receiver.worker().run_once()


def run_on_loop(receiver: Receiver) -> int:
    return anyio.run(receiver.worker().arun_once)


@pytest.mark.parametrize("handler_kind", ["async", "plain"])
@pytest.mark.parametrize("run", [run_in_thread, run_on_loop], ids=["thread", "event-loop"])
def test_on_error_hears_a_failing_deferred_callback(
    handler_kind: str, run: Callable[[Receiver], int]
) -> None:
    receiver, heard = failing_receiver(handler_kind)
    assert run(receiver) == 1
    (event,) = receiver.store.list_events()
    assert heard == [(event.key, "boom")]
    assert event.processing is ProcessingState.FAILED
    assert event.error is not None and "RuntimeError: boom" in event.error


def test_a_raising_on_error_handler_does_not_stop_the_others() -> None:
    receiver, heard = failing_receiver("async")

    @receiver.on_error
    async def broken(delivery: Delivery, exc: BaseException) -> None:
        raise ValueError("the reporter itself fails")

    @receiver.on_error
    def last(delivery: Delivery, exc: BaseException) -> None:
        heard.append(("last", str(exc)))

    assert run_on_loop(receiver) == 1
    assert [name for name, _ in heard][1:] == ["last"]


def test_async_on_error_runs_in_the_lifespan_worker_of_an_asgi_app() -> None:
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore())
    heard: Heard = []
    done = anyio.Event()

    @receiver.on_any
    def fails(delivery: Delivery) -> None:
        raise RuntimeError("boom")

    @receiver.on_error
    async def report(delivery: Delivery, exc: BaseException) -> None:
        await anyio.sleep(0)
        heard.append((delivery.key, str(exc)))
        done.set()

    app = ConnectASGIMiddleware(receiver=receiver, worker_options={"poll_interval": 0.05})

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = sim_body()
            reply = await client.post(PATH, content=body, headers=signed_headers(body))
            assert reply.status_code == 200
        with anyio.fail_after(15):
            await done.wait()

    anyio.run(with_lifespan, app, scenario)
    (event,) = receiver.store.list_events()
    assert heard == [(event.key, "boom")]
