"""Every example runs on the port given by ``--port`` or ``PORT`` (8000 only by default)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.deliveries import KEY
from support.serving import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["asgi_app", "starlette_app", "fastapi_app", "flask_app", "wsgi_app"]


def answers(url: str, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            time.sleep(0.1)
    return False


@pytest.mark.parametrize("example", EXAMPLES)
@pytest.mark.parametrize("how", ["flag", "environment"])
def test_the_example_listens_where_told(example: str, how: str, tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, str(ROOT / "examples" / f"{example}.py")]
    env = {
        **os.environ,
        "CONNECT_MW_HMAC_KEYS": KEY,
        "CONNECT_MW_STORE": f"sqlite:///{tmp_path / 'events.db'}",
        "COMPLETED_LOG": str(tmp_path / "completed.log"),
    }
    if how == "flag":
        command += ["--port", str(port)]
    else:
        env["PORT"] = str(port)
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert answers(f"http://127.0.0.1:{port}/", process)
    finally:
        process.terminate()
        process.wait(timeout=20)
