"""Reading a body as real servers hand it over, in process: each WSGI entry point and Django.

gunicorn marks ``wsgi.input`` as ending by itself (``wsgi.input_terminated``) and raises its
own exceptions from ``read`` for a malformed chunked body; these tests hand the same to the
pure WSGI middleware, the Flask extension and Django's WSGI handler. ``ConnectDjangoASGI``
is driven with ASGI messages whose body never comes. The same behaviours through real
servers: ``tests/hostile/test_hostile_servers.py``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import anyio
import pytest

from connect_mw import Receiver
from support.deliveries import PATH, signed_headers
from support.entry_points import (
    django_wsgi,
    fastapi_middleware,
    flask_extension,
    pure_asgi,
    pure_wsgi,
    starlette_route,
)
from support.large_bodies import exact_json

LIMIT = 32 * 1024


class InvalidChunkSize(Exception):
    """Not an ``OSError``: like gunicorn's parse errors, raised from ``wsgi.input.read``."""


class ServerStream:
    """A ``wsgi.input`` as a server gives it: ``body`` in small reads, then ``failure``."""

    def __init__(self, body: bytes, failure: BaseException | None = None) -> None:
        self.stream = io.BytesIO(body)
        self.failure = failure

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(min(size, 4096) if size >= 0 else 4096)
        if not chunk and self.failure is not None:
            raise self.failure
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.stream.readline(size)


def environ(body: bytes, stream: Any, *, declared: bool, terminated: bool = True) -> dict[str, Any]:
    headers = signed_headers(body)
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PATH,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": stream,
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_TYPE": headers.pop("content-type"),
    }
    length = headers.pop("content-length")
    if declared:
        env["CONTENT_LENGTH"] = length
    else:
        env["HTTP_TRANSFER_ENCODING"] = "chunked"
    if terminated:
        env["wsgi.input_terminated"] = True  # as gunicorn sets it
    env.update({"HTTP_" + name.upper().replace("-", "_"): v for name, v in headers.items()})
    return env


def call(app: Any, env: dict[str, Any]) -> tuple[int, bytes]:
    """Call a WSGI app; its status and body."""
    statuses: list[str] = []
    reply: Iterable[bytes] = app(env, lambda status, headers, *_: statuses.append(status))
    try:
        body = b"".join(reply)
    finally:
        close: Callable[[], None] | None = getattr(reply, "close", None)
        if close is not None:
            close()
    return int(statuses[0].split()[0]), body


@pytest.fixture(params=[pure_wsgi, flask_extension, django_wsgi], ids=lambda f: f.__name__)
def wsgi_entry(request: pytest.FixtureRequest) -> tuple[Any, Receiver]:
    """A WSGI app (the receiver's limit: ``LIMIT``) and its receiver."""
    client = request.param(LIMIT)
    return client.client.application, client.receiver


def body_of(size: int) -> bytes:
    return exact_json(size, f"env-{size}")


@pytest.mark.parametrize("declared", [True, False], ids=["content_length", "chunked"])
def test_a_body_of_exactly_the_limit_is_accepted(
    wsgi_entry: tuple[Any, Receiver], declared: bool
) -> None:
    app, receiver = wsgi_entry
    body = body_of(LIMIT)
    status, reply = call(app, environ(body, ServerStream(body), declared=declared))
    assert (status, b'"accepted"' in reply) == (200, True)
    assert len(receiver.store.list_events()) == 1


def test_a_chunked_body_one_byte_over_the_limit_is_413(wsgi_entry: tuple[Any, Receiver]) -> None:
    app, receiver = wsgi_entry
    body = body_of(LIMIT + 1)
    status, _ = call(app, environ(body, ServerStream(body), declared=False))
    assert status == 413
    assert receiver.store.list_events() == []


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (InvalidChunkSize("b'zz'"), 400),
        (OSError("No more data"), 400),
        (TimeoutError("timed out"), 408),
    ],
    ids=["parse_error", "os_error", "socket_timeout"],
)
@pytest.mark.parametrize("declared", [True, False], ids=["content_length", "chunked"])
def test_an_error_raised_by_the_server_while_reading_is_answered_not_500(
    wsgi_entry: tuple[Any, Receiver], failure: Exception, status: int, declared: bool
) -> None:
    app, receiver = wsgi_entry
    body = body_of(LIMIT)
    half = ServerStream(body[: LIMIT // 2], failure)
    got, reply = call(app, environ(body, half, declared=declared))
    assert got == status
    assert reply.startswith(b'{"error":')  # the adapter's answer, not a server's page
    assert receiver.store.list_events() == []


def test_a_body_shorter_than_its_content_length_is_400(wsgi_entry: tuple[Any, Receiver]) -> None:
    app, receiver = wsgi_entry
    body = body_of(LIMIT)
    status, _ = call(app, environ(body, ServerStream(body[:-100]), declared=True))
    assert status == 400
    assert receiver.store.list_events() == []


def test_only_content_length_bytes_are_asked_for(wsgi_entry: tuple[Any, Receiver]) -> None:
    app, _ = wsgi_entry
    body = body_of(LIMIT)
    stream = ServerStream(body + b"next request on the connection")
    status, _ = call(app, environ(body, stream, declared=True, terminated=False))
    assert status == 200
    assert stream.stream.read() == b"next request on the connection"


# ASGI: a server whose receive() raises ------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "status"),
    [(OSError("connection reset"), 400), (TimeoutError("timed out"), 408)],
    ids=["os_error", "socket_timeout"],
)
@pytest.mark.parametrize("factory", [pure_asgi, starlette_route, fastapi_middleware])
def test_an_error_raised_by_receive_is_answered_not_500(
    factory: Callable[[int], Any], failure: Exception, status: int
) -> None:
    client = factory(LIMIT)
    body = body_of(LIMIT)
    messages = iter([{"type": "http.request", "body": body[:100], "more_body": True}])

    async def receive() -> dict[str, Any]:
        message = next(messages, None)
        if message is None:
            raise failure
        return message

    sent = anyio.run(run_asgi, client.app, scope(PATH, signed_headers(body)), receive)
    assert sent[0]["status"] == status
    assert b"".join(m.get("body", b"") for m in sent[1:]).startswith(b'{"error":')
    assert client.receiver.store.list_events() == []


# Django under ASGI: ConnectDjangoASGI answers before Django reads the body ----------------


class NeverSends:
    """An ASGI ``receive`` whose body never arrives; counts the calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


def scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 40000),
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
    }


@pytest.fixture
def django_asgi_app() -> Iterator[Any]:
    """Django's ASGI application behind ``ConnectDjangoASGI``, with a memory store."""
    from support import django_settings

    django_settings.setup()
    from django.core.asgi import get_asgi_application
    from django.test import override_settings

    from connect_mw.adapters.django.middleware import ConnectDjangoASGI
    from connect_mw.adapters.django.runtime import reset_runtime
    from support.deliveries import KEY

    config = {"HMAC_KEYS": [KEY], "MODE": "inline", "STORE": "memory://", "MAX_BODY_SIZE": LIMIT}
    with override_settings(CONNECT_MW=config):
        reset_runtime()
        yield ConnectDjangoASGI(get_asgi_application())
    reset_runtime()


async def run_asgi(app: Any, request_scope: dict[str, Any], receive: Any) -> list[Any]:
    sent: list[Any] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with anyio.fail_after(5):
        await app(request_scope, receive, send)
    return sent


@pytest.mark.parametrize(
    ("content_type", "length", "status"),
    [("application/json", 10 * 1024**3, 413), ("multipart/form-data; boundary=x", 1024**3, 415)],
    ids=["10GB_declared", "1GB_multipart"],
)
def test_django_asgi_refuses_a_declared_body_before_reading_it(
    django_asgi_app: Any, content_type: str, length: int, status: int
) -> None:
    headers = {"content-type": content_type, "content-length": str(length)}
    receive = NeverSends()
    sent = anyio.run(run_asgi, django_asgi_app, scope(PATH, headers), receive)
    assert sent[0]["status"] == status
    assert receive.calls == 0


def test_django_asgi_accepts_a_body_of_exactly_the_limit(django_asgi_app: Any) -> None:
    from connect_mw.adapters.django.runtime import get_receiver

    body = body_of(LIMIT)
    messages = iter(
        [
            {"type": "http.request", "body": body[: LIMIT // 2], "more_body": True},
            {"type": "http.request", "body": body[LIMIT // 2 :], "more_body": False},
        ]
    )

    async def receive() -> dict[str, Any]:
        return next(messages)

    sent = anyio.run(run_asgi, django_asgi_app, scope(PATH, signed_headers(body)), receive)
    assert sent[0]["status"] == 200
    assert len(get_receiver().store.list_events()) == 1


def test_django_asgi_passes_other_paths_to_django(django_asgi_app: Any) -> None:
    messages: Iterator[dict[str, Any]] = iter(
        [{"type": "http.request", "body": b"mine", "more_body": False}]
    )

    async def receive() -> dict[str, Any]:
        message = next(messages, None)
        if message is None:  # the client waits for its answer
            await anyio.sleep_forever()
        assert message is not None
        return message

    headers = {"content-type": "application/octet-stream", "content-length": "4"}
    sent = anyio.run(run_asgi, django_asgi_app, scope("/echo", headers), receive)
    assert sent[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"echo:mine"
