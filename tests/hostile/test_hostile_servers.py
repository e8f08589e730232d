"""The hostile corpus and the HTTP edge cases through real server processes.

``connect-mw serve`` (uvicorn), the Flask and pure-WSGI examples under gunicorn (sync
workers), and the Django example under gunicorn (gthread) and uvicorn (behind
``ConnectDjangoASGI``), each with its default limits (``max_body_size`` 64 MiB), over real
sockets. Every case gets the answer ``docs/security.md`` promises, or, where that page says
a server's own limit decides first, that server's answer; never a 5xx; nothing stored for a
refused request; no connection to the canary.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from corpus import CASES, DEAD_LETTER, Canary, Case

from support.deliveries import ACCOUNT, PATH, signed_headers, sim_body
from support.large_bodies import exact_json
from support.servers import NAMES, RunningServer, running

LIMIT = 64 * 1024 * 1024  # every server runs with the default max_body_size
#: Cases a server's own header limits answer before the project sees them (documented in
#: docs/security.md, "HTTP"): gunicorn refuses more than 100 header fields and any field
#: over 8190 bytes with 431.
GUNICORN_ANSWERS = {
    "hundred_signature_headers_one_valid": 431,
    "three_hundred_signature_headers": 431,
    "huge_header": 431,
}


@pytest.fixture(scope="module", params=NAMES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """Each real server, started once for this module."""
    name: str = request.param
    with running(name, tmp_path_factory.mktemp(name)) as started:
        yield started


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


def post(
    server: RunningServer, body: Any, headers: dict[str, str], method: str = "POST"
) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return client.request(method, PATH, content=body, headers=headers)


def expected(server: RunningServer, case: Case) -> int:
    """What ``case`` must get from ``server``: the policy's answer, or its server's."""
    if server.gunicorn and case.name in GUNICORN_ANSWERS:
        return GUNICORN_ANSWERS[case.name]
    return 200 if case.expected == DEAD_LETTER else case.expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_case_through_a_real_server(
    server: RunningServer, case: Case, canary: Canary
) -> None:
    before = server.event_count()
    reply = post(server, case.payload(canary.port), case.headers(canary.port), case.method)
    assert reply.status_code == expected(server, case), reply.text
    if reply.status_code == 200:  # an envelope event, or a signed body kept as a dead letter
        assert server.has_event(reply.json()["key"])
        assert server.event_count() in (before, before + 1)  # a duplicate adds nothing
    else:
        assert server.event_count() == before
    assert canary.hits == 0


def unique_body(size: int) -> bytes:
    return exact_json(size, f"limit-{uuid.uuid4()}")


def test_a_body_of_exactly_the_limit_is_accepted(server: RunningServer) -> None:
    body = unique_body(LIMIT)
    reply = post(server, body, signed_headers(body))
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "accepted"
    assert server.has_event(reply.json()["key"])


def test_one_byte_over_the_limit_is_413(server: RunningServer) -> None:
    before = server.event_count()
    body = unique_body(LIMIT + 1)
    reply = post(server, body, signed_headers(body))
    assert reply.status_code == 413
    assert server.event_count() == before


def chunks(body: bytes, size: int = 1024 * 1024) -> Iterator[bytes]:
    """``body`` as an iterator: httpx sends it chunked, with no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def chunked_headers(body: bytes) -> dict[str, str]:
    headers = signed_headers(body)
    del headers["content-length"]
    return headers


def test_a_chunked_body_of_exactly_the_limit_is_accepted(server: RunningServer) -> None:
    body = unique_body(LIMIT)
    reply = post(server, chunks(body), chunked_headers(body))
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "accepted"


def test_a_chunked_body_one_byte_over_the_limit_is_413(server: RunningServer) -> None:
    before = server.event_count()
    body = unique_body(LIMIT + 1)
    try:
        reply = post(server, chunks(body), chunked_headers(body))
    except httpx.WriteError:  # the server answered and closed while the rest was being sent
        pass
    else:
        assert reply.status_code == 413
    assert server.event_count() == before


# Requests httpx cannot send: written on a raw socket -----------------------------------


def exchange(
    server: RunningServer, head: bytes, body: bytes = b"", *, half_close: bool = False
) -> tuple[int | None, bytes, float]:
    """Send ``head`` + ``body``; the status (``None``: closed without one), body, seconds."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        try:
            sock.sendall(head + body)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed before taking everything
            pass
        received = receive_response(sock)
    elapsed = time.monotonic() - started
    if not received:
        return None, b"", elapsed
    status = int(received.split(b" ", 2)[1])
    return status, received.partition(b"\r\n\r\n")[2], elapsed


def receive_response(sock: socket.socket) -> bytes:
    received = b""
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return received
        if not data:
            return received
        received += data


def request_head(headers: dict[str, str]) -> bytes:
    lines = [f"POST {PATH} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def project_answer(body: bytes) -> bool:
    """Whether a response body is the project's JSON answer (not a server's own page)."""
    if body.startswith(b"{"):
        return "error" in json.loads(body)
    text = body.partition(b"\r\n")[2]  # a chunked body: size line, then the JSON
    return text.startswith(b'{"error"')


MALFORMED_CHUNKS = {
    "non_hex_size": b"zz\r\nabc\r\n0\r\n\r\n",
    "plus_size": b"+5\r\nabcde\r\n0\r\n\r\n",
    "oversized_chunk_extension": b"5;" + b"a" * 65536 + b"\r\nabcde\r\n0\r\n\r\n",
    "missing_chunk_terminator": b"5\r\nabcdeXY0\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED_CHUNKS))
def test_a_malformed_chunked_body_is_400(server: RunningServer, name: str) -> None:
    before = server.event_count()
    body = sim_body()
    head = request_head({**chunked_headers(body), "transfer-encoding": "chunked"})
    status, answer, _ = exchange(server, head, MALFORMED_CHUNKS[name])
    if server.gunicorn:  # gunicorn's reader raises inside the app: the adapter answers
        assert status == 400 and project_answer(answer), answer
    elif name == "oversized_chunk_extension":  # legal HTTP to uvicorn: 5 bytes, unsigned
        assert status == 401
    else:  # uvicorn refuses the request itself
        assert status == 400
    assert server.event_count() == before


def test_a_body_shorter_than_its_content_length_is_400(server: RunningServer) -> None:
    before = server.event_count()
    body = sim_body()
    head = request_head({**signed_headers(body), "content-length": str(len(body) + 100)})
    status, answer, _ = exchange(server, head, body, half_close=True)
    # gunicorn answers a half-closed connection; uvicorn closes it without an answer.
    assert status == (400 if server.gunicorn else None), answer
    assert server.event_count() == before


@pytest.mark.parametrize(
    ("content_type", "length", "status"),
    [
        ("application/json", 10 * 1024**3, 413),  # a 10 GB Content-Length and no body
        ("multipart/form-data; boundary=x", 1024**3, 415),  # a 1 GB upload
        ("application/json", LIMIT + 1, 413),
    ],
    ids=["10GB_declared", "1GB_multipart", "limit_plus_one_declared"],
)
def test_a_declared_length_is_refused_before_the_body_is_read(
    server: RunningServer, content_type: str, length: int, status: int
) -> None:
    headers = {
        "content-type": content_type,
        "content-length": str(length),
        "x-docusign-accountid": ACCOUNT,
    }
    got, answer, elapsed = exchange(server, request_head(headers), b"x" * 65536)
    assert got == status, answer
    assert elapsed < 5  # answered at once: the body never comes
