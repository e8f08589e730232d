"""Starting and stopping one benchmark server (uvicorn or gunicorn) on a free local port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
#: gunicorn ``gthread`` threads per worker: requests in flight at once in one WSGI process.
WSGI_THREADS = 8


@dataclass
class Server:
    """A running server process and where it listens."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    command: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command(server: str, port: int, workers: int) -> list[str]:
    """The command line that serves ``apps`` with ``server`` (``asgi`` or ``wsgi``)."""
    if server == "asgi":
        return [
            sys.executable, "-m", "uvicorn", "--factory", "apps:asgi_app",
            "--app-dir", str(BENCH), "--host", "127.0.0.1", "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--workers", str(workers),
            "--no-access-log", "--log-level", "warning", "--lifespan", "on",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "gunicorn", "apps:wsgi_app()", "--pythonpath", str(BENCH),
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--worker-class", "gthread", "--threads", str(WSGI_THREADS),
        "--keep-alive", "30", "--log-level", "warning",
    ]  # fmt: skip


def start(
    server: str,
    config: dict[str, Any],
    workers: int,
    log: Path,
) -> Server:
    """Start ``server`` serving the app ``config`` names; wait until it answers."""
    port = free_port()
    argv = command(server, port, workers)
    env = dict(os.environ, CONNECT_MW_BENCH=json.dumps(config), PYTHONPATH=str(BENCH))
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    running = Server(process, port, log, argv)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{running.url}/health", timeout=1):
                return running
        except urllib.error.HTTPError:
            return running  # it answered
        except OSError:
            time.sleep(0.1)
    stop(running)
    raise RuntimeError(f"server did not answer within 30 s: {log.read_text()[-2000:]}")


def post(url: str, payload: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One POST; the status and body, whatever the status."""
    request = urllib.request.Request(url, data=payload, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def stop(server: Server, timeout: float = 20) -> None:
    """Stop the server gracefully (SIGINT for uvicorn, SIGTERM for gunicorn)."""
    if server.process.poll() is not None:
        return
    gunicorn = "gunicorn" in server.command
    server.process.send_signal(signal.SIGTERM if gunicorn else signal.SIGINT)
    try:
        server.process.wait(timeout)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
