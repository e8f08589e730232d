"""One behaviour suite over every way of mounting a receiver.

Each entry point is a factory returning a :class:`Client`: the same requests must give the
same answers and the same stored results whichever adapter and framework carry them. To add
an entry point (Django, …), write one factory and append it to ``ENTRY_POINTS``.

Receivers run in inline mode so callbacks have run when the answer arrives; deferred
processing under real servers is covered by ``test_framework_examples.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import anyio
import httpx
import pytest
from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from flask import Flask
from flask import request as flask_request
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send
from werkzeug.test import Client as WerkzeugClient

from connect_mw import Delivery, MemoryStore, Receiver
from connect_mw.adapters.asgi import ConnectMiddleware
from connect_mw.adapters.flask import Connect
from connect_mw.adapters.starlette import connect_route
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from deliveries import ACCOUNT, KEY, PATH, signed_headers, sim_body
from payloads import fixture_bytes

LIMIT = 32 * 1024
Reply = tuple[int, Any]  # (status, the JSON answer, or the raw bytes of any other answer)


class Client(Protocol):
    """What the suite needs from an entry point."""

    receiver: Receiver

    def request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Reply: ...

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Reply: ...


def decode(content_type: str | None, content: bytes) -> Any:
    if (content_type or "").startswith("application/json"):
        return json.loads(content)
    return content


class ASGIClient:
    """Drives an ASGI app in process with httpx."""

    def __init__(self, app: ASGIApp, receiver: Receiver) -> None:
        self.app = app
        self.receiver = receiver

    def request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        return anyio.run(self._request, method, path, body, dict(headers))

    async def _request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            reply = await client.request(method, path, content=body, headers=headers)
        return reply.status_code, decode(reply.headers.get("content-type"), reply.content)

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        return self.request("POST", path, body, headers)


class WSGIClient:
    """Drives a WSGI app in process with werkzeug's test client."""

    def __init__(self, app: Any, receiver: Receiver) -> None:
        self.client = WerkzeugClient(app)
        self.receiver = receiver

    def request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        reply = self.client.open(path, method=method, data=body, headers=dict(headers))
        return reply.status_code, decode(reply.headers.get("content-type"), reply.data)

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        return self.request("POST", path, body, headers)


def new_receiver() -> Receiver:
    return Receiver(hmac_keys=KEY, store=MemoryStore(), max_body_size=LIMIT, mode="inline")


# The wrapped apps: each answers POST /echo with b"echo:" + the body it read itself.


async def asgi_echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"echo:" + body})


def wsgi_echo(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("content-type", "application/octet-stream")])
    return [b"echo:" + body]


async def starlette_echo(request: StarletteRequest) -> StarletteResponse:
    return StarletteResponse(b"echo:" + await request.body())


def starlette_app(*routes: BaseRoute, **options: Any) -> Starlette:
    echo = Route("/echo", starlette_echo, methods=["POST"])
    return Starlette(routes=[*routes, echo], **options)


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: FastAPIRequest) -> StarletteResponse:
        return StarletteResponse(b"echo:" + await request.body())

    return app


# The entry points ---------------------------------------------------------------------


def pure_asgi() -> Client:
    receiver = new_receiver()
    return ASGIClient(ConnectMiddleware(asgi_echo, receiver=receiver), receiver)


def pure_wsgi() -> Client:
    receiver = new_receiver()
    return WSGIClient(ConnectWSGIMiddleware(wsgi_echo, receiver=receiver), receiver)


def starlette_middleware() -> Client:
    receiver = new_receiver()
    app = starlette_app(middleware=[Middleware(ConnectMiddleware, receiver=receiver)])
    return ASGIClient(app, receiver)


def starlette_route() -> Client:
    receiver = new_receiver()
    app = starlette_app(connect_route(receiver))
    return ASGIClient(app, receiver)


def fastapi_middleware() -> Client:
    receiver = new_receiver()
    app = fastapi_app()
    app.add_middleware(ConnectMiddleware, receiver=receiver)
    return ASGIClient(app, receiver)


def fastapi_route() -> Client:
    receiver = new_receiver()
    app = fastapi_app()
    app.router.routes.append(connect_route(receiver))
    return ASGIClient(app, receiver)


def flask_extension() -> Client:
    app = Flask(__name__)
    app.config.update(
        DOCUSIGN_CONNECT_HMAC_KEYS=KEY,
        DOCUSIGN_CONNECT_STORE="memory://",
        DOCUSIGN_CONNECT_MAX_BODY_SIZE=LIMIT,
        DOCUSIGN_CONNECT_MODE="inline",
    )
    connect = Connect(app)

    @app.post("/echo")
    def echo() -> bytes:
        return b"echo:" + flask_request.get_data()

    return WSGIClient(app, connect.receiver)


ENTRY_POINTS: list[Callable[[], Client]] = [
    pure_asgi,
    pure_wsgi,
    starlette_middleware,
    starlette_route,
    fastapi_middleware,
    fastapi_route,
    flask_extension,
]


@pytest.fixture(params=ENTRY_POINTS, ids=lambda factory: factory.__name__)
def client(request: pytest.FixtureRequest) -> Client:
    factory: Callable[[], Client] = request.param
    return factory()


@pytest.fixture
def fired(client: Client) -> list[Delivery]:
    """Every delivery an ``on_any`` callback of the entry point's receiver saw."""
    deliveries: list[Delivery] = []
    client.receiver.on_any(deliveries.append)
    return deliveries


def stored(receiver: Receiver) -> list[tuple[str, str | None, list[str]]]:
    """(envelope id, status, processing state of each stored event) per stored envelope."""
    return sorted(
        (
            state.envelope_id,
            state.status.value if state.status else None,
            [event.processing.value for event in receiver.store.events(state.envelope_id)],
        )
        for state in receiver.store.list_envelopes()
    )


ENVELOPE = "e8b18544-c605-4499-abcf-52209a7f4438"
XML_ENVELOPE = "3f2b9c1e-7a4d-4e8b-9c60-1d2e3f4a5b6c"


def test_valid_xml_is_accepted_and_stored(client: Client, fired: list[Delivery]) -> None:
    body = fixture_bytes("xml_sent_single_line.xml")
    status, answer = client.post(PATH, body, signed_headers(body, content_type="text/xml"))
    assert (status, answer["status"]) == (200, "accepted")
    assert stored(client.receiver) == [(XML_ENVELOPE, "sent", ["processed"])]
    assert [d.envelope_id for d in fired] == [XML_ENVELOPE]


def test_valid_json_is_accepted_and_stored(client: Client, fired: list[Delivery]) -> None:
    body = sim_body(status="completed")
    status, answer = client.post(PATH, body, signed_headers(body))
    assert (status, answer["status"]) == (200, "accepted")
    assert stored(client.receiver) == [(ENVELOPE, "completed", ["processed"])]
    assert fired[0].notification.account_id == ACCOUNT


def test_duplicate_is_200_and_stored_once(client: Client, fired: list[Delivery]) -> None:
    first, retry = sim_body(status="completed"), sim_body(status="completed", retry_count=1)
    assert client.post(PATH, first, signed_headers(first))[0] == 200
    status, answer = client.post(PATH, retry, signed_headers(retry))
    assert (status, answer["status"]) == (200, "duplicate")
    assert stored(client.receiver) == [(ENVELOPE, "completed", ["processed"])]
    assert len(fired) == 1


def assert_refused(client: Client, reply: Reply, status: int, reason: str) -> None:
    assert reply[0] == status
    assert reason in reply[1]["error"]
    assert stored(client.receiver) == []


def test_wrong_signature_is_401(client: Client) -> None:
    body = sim_body()
    reply = client.post(PATH, body, signed_headers(body, key="not-the-key"))
    assert_refused(client, reply, 401, "does not match")


def test_missing_signature_is_401(client: Client) -> None:
    body = sim_body()
    headers = signed_headers(body)
    del headers["x-docusign-signature-1"]
    assert_refused(client, client.post(PATH, body, headers), 401, "missing X-DocuSign-Signature")


def test_malformed_body_is_400(client: Client) -> None:
    body = b'{"event": "envelope-completed", "data": '
    assert_refused(client, client.post(PATH, body, signed_headers(body)), 400, "malformed")


def test_oversized_body_is_413(client: Client) -> None:
    body = sim_body(summary={"emailSubject": "x" * LIMIT})
    assert_refused(client, client.post(PATH, body, signed_headers(body)), 413, "larger")


def test_wrong_method_is_405(client: Client) -> None:
    assert_refused(client, client.request("GET", PATH, b"", {}), 405, "method not allowed")


def test_wrong_content_type_is_415(client: Client) -> None:
    body = sim_body()
    headers = signed_headers(body, content_type="text/plain")
    assert_refused(client, client.post(PATH, body, headers), 415, "media type")


def test_other_paths_reach_the_app_with_their_body(client: Client) -> None:
    body = b'{"not": "for connect"}' * 100
    assert client.post("/echo", body, {"content-type": "application/json"}) == (
        200,
        b"echo:" + body,
    )
    assert stored(client.receiver) == []
