"""Fetching a JWKS from a hostile endpoint: a total deadline and a size bound.

Each endpoint is a raw socket server on a random loopback port. A server that drips its
answer (headers or body), a byte at a time faster than the per-step timeout, must not hold
the fetch past its total deadline; a server that sends more than 1 MiB must not make the
fetch hold more than that.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from connect_mw.jwks import MAX_JWKS_SIZE, fetch_url

#: A small valid-looking JWKS document (its content does not matter to the fetch).
DOCUMENT = b'{"keys": []}' + b" " * 200
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
#: How long a dripping server takes to send everything: far beyond the test's deadline.
DRIP_EVERY = 0.05

Answer = Callable[[socket.socket], None]


def drip(sock: socket.socket, data: bytes) -> None:
    for i in range(len(data)):
        sock.sendall(data[i : i + 1])
        time.sleep(DRIP_EVERY)


def drip_body(sock: socket.socket) -> None:
    sock.sendall(HEAD % len(DOCUMENT))
    drip(sock, DOCUMENT)


def drip_headers(sock: socket.socket) -> None:
    drip(sock, HEAD % len(DOCUMENT) + b"X-Padding: " + b"a" * 150 + b"\r\n\r\n")


def huge_body(sock: socket.socket) -> None:
    size = 64 * MAX_JWKS_SIZE
    sock.sendall(HEAD % size)
    chunk = b" " * 65536
    for _ in range(size // len(chunk)):
        sock.sendall(chunk)


def huge_chunked_body(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b" " * 65536
    for _ in range(64 * MAX_JWKS_SIZE // len(chunk)):
        sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))


@contextlib.contextmanager
def endpoint(answer: Answer) -> Iterator[str]:
    """A one-connection-at-a-time HTTP server answering every request with ``answer``."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            with sock, contextlib.suppress(OSError):
                sock.recv(65536)  # the request head
                answer(sock)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/jwks.json"
    finally:
        stop.set()
        listener.close()


@pytest.mark.parametrize("answer", [drip_body, drip_headers], ids=lambda f: f.__name__)
def test_a_dripping_endpoint_is_cut_off_at_the_total_deadline(answer: Answer) -> None:
    with endpoint(answer) as url, pytest.raises(TimeoutError, match="deadline"):
        fetch_url(url, timeout=5.0, deadline=0.5)


@pytest.mark.parametrize("answer", [huge_body, huge_chunked_body], ids=lambda f: f.__name__)
def test_an_endpoint_sending_more_than_1_mib_is_refused(answer: Answer) -> None:
    with endpoint(answer) as url, pytest.raises(ValueError, match="larger than"):
        fetch_url(url)


def test_a_prompt_endpoint_is_read_whole() -> None:
    with endpoint(lambda sock: sock.sendall(HEAD % len(DOCUMENT) + DOCUMENT)) as url:
        assert fetch_url(url, deadline=10.0) == DOCUMENT
