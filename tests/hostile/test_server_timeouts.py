"""What ``gunicorn --timeout`` does to a body that stops arriving (slow: it waits for it).

``docs/frameworks/wsgi.md`` ("A stalled body") says: a sync worker is killed after
``--timeout`` and gunicorn answers 500; a gthread worker keeps its heartbeat, so nothing
ends the request while the client waits. Neither is a 408: a proxy's body timeout is what
bounds a stalled body.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from support.deliveries import PATH, signed_headers, sim_body
from support.servers import running

pytestmark = pytest.mark.slow

TIMEOUT = 2  # gunicorn --timeout, seconds


def stall(port: int, wait: float) -> tuple[bytes, float]:
    """Send the headers and 10 bytes of a body, then nothing; what came back within ``wait``."""
    body = sim_body()
    head = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(body).items())
    request = f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode() + body[:10]
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(request)
        received = b""
        try:
            while data := sock.recv(65536):
                received += data
        except TimeoutError:
            pass
    return received, time.monotonic() - started


def test_a_sync_worker_is_killed_and_gunicorn_answers_500(tmp_path: Path) -> None:
    with running("wsgi_gunicorn", tmp_path, ["--timeout", str(TIMEOUT)]) as server:
        received, elapsed = stall(server.port, wait=10 * TIMEOUT)
    assert received.startswith(b"HTTP/1.1 500 ")
    assert TIMEOUT <= elapsed < 10 * TIMEOUT


def test_a_gthread_worker_waits_as_long_as_the_client(tmp_path: Path) -> None:
    extra = ["--timeout", str(TIMEOUT), "--threads", "2"]
    with running("wsgi_gunicorn", tmp_path, extra) as server:
        received, _ = stall(server.port, wait=4 * TIMEOUT)
        assert received == b""  # nothing, twice --timeout after the worker's timeout
        assert server.process.poll() is None
