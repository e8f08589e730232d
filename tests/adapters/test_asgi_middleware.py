"""The pure ASGI middleware, driven by httpx and by raw ASGI messages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from connect_mw import MemoryStore, Receiver
from connect_mw.adapters import deadline as deadline_module
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from support.deliveries import KEY, PATH, signed_headers, sim_body


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The wrapped app: answers 299 with the body it read, so pass-through is visible."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": b"echo:" + body})


def middleware(**options: Any) -> ConnectASGIMiddleware:
    options.setdefault("hmac_keys", KEY)
    options.setdefault("store", MemoryStore())
    return ConnectASGIMiddleware(echo_app, **options)


async def post(
    app: ConnectASGIMiddleware, url: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.post(url, content=body, headers=headers)


def test_connect_path_is_answered_and_stored() -> None:
    app = middleware()
    body = sim_body(status="completed")
    response = anyio.run(post, app, PATH, body, signed_headers(body))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == "accepted"
    assert app.receiver.store.list_envelopes()[0].status == "completed"


def test_trailing_slash_is_the_same_endpoint() -> None:
    body = sim_body()
    response = anyio.run(post, middleware(), PATH + "/", body, signed_headers(body))
    assert response.status_code == 200


def test_other_paths_reach_the_app_with_their_body_untouched() -> None:
    body = b"\x00raw bytes \xff" * 1000
    response = anyio.run(post, middleware(), "/api/upload", body, {"content-type": "x/y"})
    assert response.status_code == 299
    assert response.content == b"echo:" + body


def test_bad_signature_is_401_and_nothing_stored() -> None:
    app = middleware()
    body = sim_body()
    response = anyio.run(post, app, PATH, body, signed_headers(body, key="wrong"))
    assert response.status_code == 401
    assert app.receiver.store.list_envelopes() == []


def test_declared_oversized_body_is_413_before_reading() -> None:
    app = middleware(max_body_size=50)
    body = sim_body()
    response = anyio.run(post, app, PATH, body, signed_headers(body))
    assert response.status_code == 413


async def call_raw(
    app: ConnectASGIMiddleware, scope: Scope, chunks: AsyncIterator[Message]
) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return await chunks.__anext__()

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def http_scope(path: str = PATH, headers: dict[str, str] | None = None) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    }


def test_chunked_body_over_the_limit_is_413_while_streaming() -> None:
    app = middleware(max_body_size=1000)
    received: list[int] = []

    async def endless() -> AsyncIterator[Message]:
        for i in range(10_000):
            received.append(i)
            yield {"type": "http.request", "body": b"x" * 100, "more_body": True}

    headers = {"content-type": "application/json"}
    sent = anyio.run(call_raw, app, http_scope(headers=headers), endless())
    assert sent[0]["status"] == 413
    assert len(received) <= 12  # stopped reading right after the limit


@pytest.mark.parametrize("asyncio_deadline", [True, False], ids=["asyncio.timeout", "anyio"])
def test_slow_body_times_out_with_408(
    asyncio_deadline: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both deadline implementations (asyncio's on 3.11+, anyio's elsewhere) give a 408."""
    monkeypatch.setattr(deadline_module, "_on_asyncio", lambda: asyncio_deadline)
    app = middleware(read_timeout=0.2)

    async def stalls() -> AsyncIterator[Message]:
        yield {"type": "http.request", "body": b"{", "more_body": True}
        await anyio.sleep(60)
        yield {"type": "http.request", "body": b"}", "more_body": False}  # pragma: no cover

    sent = anyio.run(
        call_raw, app, http_scope(headers={"content-type": "application/json"}), stalls()
    )
    assert sent[0]["status"] == 408


def test_client_disconnect_is_not_a_crash() -> None:
    app = middleware()

    async def disconnects() -> AsyncIterator[Message]:
        yield {"type": "http.disconnect"}

    sent = anyio.run(
        call_raw, app, http_scope(headers={"content-type": "application/json"}), disconnects()
    )
    assert sent[0]["status"] == 400


def test_standalone_app_answers_404_elsewhere_and_handles_lifespan() -> None:
    store = MemoryStore()
    app = ConnectASGIMiddleware(receiver=Receiver(hmac_keys=KEY, store=store))
    response = anyio.run(post, app, "/elsewhere", b"", {})
    assert response.status_code == 404

    async def lifespan() -> AsyncIterator[Message]:
        yield {"type": "lifespan.startup"}
        yield {"type": "lifespan.shutdown"}

    sent = anyio.run(call_raw, app, {"type": "lifespan", "asgi": {"version": "3.0"}}, lifespan())
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_receiver_and_options_are_exclusive() -> None:
    with pytest.raises(TypeError):
        ConnectASGIMiddleware(
            echo_app, receiver=Receiver(hmac_keys=KEY, store=MemoryStore()), path="/x"
        )


def test_error_body_is_json_with_reason() -> None:
    body = sim_body()
    headers = signed_headers(body, content_type="text/plain")
    response = anyio.run(post, middleware(), PATH, body, headers)
    assert response.status_code == 415
    assert "unsupported media type" in json.loads(response.content)["error"]
