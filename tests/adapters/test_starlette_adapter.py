"""The Starlette/FastAPI adapter: the route endpoint, mounting, and a non-blocking store."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from connect_mw import Delivery, MemoryStore, Receiver
from connect_mw.adapters import asgi, starlette
from connect_mw.adapters.starlette import ConnectASGIMiddleware, ConnectEndpoint, connect_route
from connect_mw.stores.api import Commit, Store
from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.polling import wait_until

ENVELOPE = "e8b18544-c605-4499-abcf-52209a7f4438"


def inline_receiver(store: MemoryStore | None = None) -> Receiver:
    return Receiver(hmac_keys=KEY, store=store or MemoryStore(), mode="inline")


async def ping(request: Request) -> Response:
    return PlainTextResponse("pong")


def call(app: ASGIApp, method: str, url: str, body: bytes = b"", **headers: str) -> httpx.Response:
    async def scenario() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.request(method, url, content=body, headers=headers)

    return anyio.run(scenario)


def post_completed(app: ASGIApp, url: str = PATH) -> httpx.Response:
    body = sim_body(status="completed")
    return call(app, "POST", url, body, **signed_headers(body))


def test_the_middleware_is_the_asgi_one() -> None:
    assert starlette.ConnectASGIMiddleware is asgi.ConnectASGIMiddleware


def test_route_under_a_mount_answers_at_the_prefixed_path() -> None:
    receiver = inline_receiver()
    app = Starlette(routes=[Mount("/hooks", routes=[connect_route(receiver)])])
    assert post_completed(app, "/hooks" + PATH).json()["status"] == "accepted"
    state = receiver.store.get_envelope(ENVELOPE)
    assert state is not None and state.status == "completed"
    assert call(app, "POST", PATH).status_code == 404


def test_route_is_named_for_url_lookup() -> None:
    app = Starlette(routes=[connect_route(inline_receiver())])
    assert app.url_path_for("docusign_connect") == PATH


def test_add_route_with_an_endpoint() -> None:
    receiver = inline_receiver()
    app = Starlette()
    app.add_route(PATH, ConnectEndpoint(receiver))  # type: ignore[arg-type]
    assert post_completed(app).status_code == 200
    assert len(receiver.store.list_events(ENVELOPE)) == 1


def test_route_answers_other_methods_with_the_core_405() -> None:
    reply = call(Starlette(routes=[connect_route(inline_receiver())]), "GET", PATH)
    assert reply.status_code == 405
    assert reply.headers["allow"] == "POST"
    assert "method not allowed" in reply.json()["error"]


def test_endpoint_takes_a_receiver_or_options() -> None:
    with pytest.raises(TypeError):
        ConnectEndpoint(inline_receiver(), hmac_keys=KEY)
    route = connect_route(hmac_keys=KEY, store="memory://", path="/ds", mode="inline")
    assert route.path == "/ds"
    assert post_completed(Starlette(routes=[route]), "/ds").status_code == 200


def test_deferred_route_runs_callbacks_in_its_worker_thread() -> None:
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore())
    completed: list[Delivery] = []
    receiver.on_envelope_completed(completed.append)
    endpoint = ConnectEndpoint(receiver, worker_options={"poll_interval": 0.05})
    assert endpoint.worker_thread is not None
    try:
        assert post_completed(Starlette(routes=[Route(PATH, endpoint)])).status_code == 200
        wait_until(lambda: len(completed) == 1, what="the worker thread to run the callback")
    finally:
        endpoint.worker_thread.stop()
    assert ConnectEndpoint(receiver, run_worker=False).worker_thread is None


class BlockingStore(MemoryStore):
    """``commit`` blocks until the test releases it (a store doing slow network I/O).

    Such a store keeps the base class's thread offload (MemoryStore runs its calls inline
    because its own methods never block).
    """

    offload = Store.offload

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def commit(self, *args: Any, **kwargs: Any) -> Commit:
        self.entered.set()
        try:
            if not self.release.wait(timeout=30):  # only so a broken test cannot hang
                raise RuntimeError("never released")
            return super().commit(*args, **kwargs)
        finally:
            self.finished.set()


def blocking_apps(store: BlockingStore) -> list[Starlette]:
    receiver = inline_receiver(store)
    routes = [Route("/ping", ping)]
    return [
        Starlette(routes=[connect_route(receiver), *routes]),
        Starlette(
            routes=routes,
            middleware=[Middleware(ConnectASGIMiddleware, receiver=receiver)],
        ),
    ]


async def ping_while_recording(app: ASGIApp, store: BlockingStore) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    body = sim_body(status="completed")
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        anyio.create_task_group() as group,
    ):

        async def deliver() -> None:
            seen["delivery"] = await client.post(PATH, content=body, headers=signed_headers(body))

        group.start_soon(deliver)
        assert await anyio.to_thread.run_sync(store.entered.wait, 30)
        seen["ping"] = await client.get("/ping")
        seen["store_still_blocked"] = not store.finished.is_set()
        store.release.set()
    return seen


@pytest.mark.parametrize("variant", [0, 1], ids=["route", "middleware"])
def test_a_blocked_store_does_not_block_the_event_loop(variant: int) -> None:
    store = BlockingStore()
    seen = anyio.run(ping_while_recording, blocking_apps(store)[variant], store)
    assert seen["ping"].text == "pong"
    assert seen["store_still_blocked"] is True
    assert seen["delivery"].json()["status"] == "accepted"


def test_importing_the_adapter_pulls_in_no_fastapi_or_flask() -> None:
    script = (
        "import sys, connect_mw.adapters.starlette\n"
        "print(sorted({'fastapi', 'flask'} & {m.split('.')[0] for m in sys.modules}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == "[]", result.stderr
