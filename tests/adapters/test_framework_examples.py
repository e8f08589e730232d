"""The framework examples, each started for real with the command written at its top.

A real server (uvicorn or Flask's) on a free port, real HTTP, a real SQLite file: a signed
completion reaches the example's callback (run by the in-process worker), and the app's own
route still reads its request body.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = {
    "starlette": ["-m", "uvicorn", "examples.starlette_app:app", "--port"],
    "fastapi": ["-m", "uvicorn", "examples.fastapi_app:app", "--port"],
    "flask": ["-m", "flask", "--app", "examples/flask_app", "run", "--port"],
}
EXPECTED = "e8b18544-c605-4499-abcf-52209a7f4438 completed (Please sign)\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()  # pragma: no cover - diagnostic only
    pytest.fail(f"server did not start: {proc.communicate()[0].decode()}")  # pragma: no cover


@pytest.fixture(params=sorted(COMMANDS))
def example(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    env = {
        **os.environ,
        "CONNECT_MW_HMAC_KEYS": KEY,
        "CONNECT_MW_STORE": f"sqlite:///{tmp_path / 'events.sqlite3'}",
        "COMPLETED_LOG": str(tmp_path / "completed.log"),
    }
    command = [sys.executable, *COMMANDS[request.param], str(port)]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(url, proc)
        yield url, tmp_path / "completed.log"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_example_runs_its_callback_and_leaves_other_bodies_alone(
    example: tuple[str, Path],
) -> None:
    url, completed = example
    body = sim_body(status="completed")
    with httpx.Client(base_url=url) as client:
        hooked = client.post(PATH, content=body, headers=signed_headers(body))
        assert (hooked.status_code, hooked.json()["status"]) == (200, "accepted")
        echoed = client.post("/echo", content=b"my own body", headers={"content-type": "x/y"})
        assert (echoed.status_code, echoed.content) == (200, b"echo:my own body")
        assert client.get("/").text == "hello from the wrapped app\n"
    wait_until(
        lambda: completed.exists() and completed.read_text().endswith("\n"),
        what="the example's callback to append to COMPLETED_LOG",
    )
    assert completed.read_text() == EXPECTED


def test_each_example_starts_with_the_command_tested_here() -> None:
    for name, args in COMMANDS.items():
        docstring = (ROOT / "examples" / f"{name}_app.py").read_text().split('"""')[1]
        command = f".venv/bin/{args[1]} {' '.join(args[2:])} 8000"
        assert f"Run:  CONNECT_MW_HMAC_KEYS=your-key {command}\n" in docstring, name
