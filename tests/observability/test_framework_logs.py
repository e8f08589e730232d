"""Each example under its real server, logging left as the server sets it up: the
``connect_mw`` activity lines appear, with time and level (docs/frameworks/*.md, "Logs").
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.polling import wait_until
from support.serving import free_port

ROOT = Path(__file__).resolve().parents[2]
DJANGO = ROOT / "examples" / "django_project"
COMMANDS = {
    "starlette (uvicorn)": ["-m", "uvicorn", "examples.starlette_app:app", "--port"],
    "fastapi (uvicorn)": ["-m", "uvicorn", "examples.fastapi_app:app", "--port"],
    "asgi (uvicorn)": ["-m", "uvicorn", "examples.asgi_app:app", "--port"],
    "flask (flask run)": ["-m", "flask", "--app", "examples/flask_app", "run", "--port"],
    "wsgi (gunicorn)": ["-m", "gunicorn", "examples.wsgi_app:app", "--bind"],
    "flask (gunicorn)": ["-m", "gunicorn", "examples.flask_app:create_app()", "--bind"],
    "django (gunicorn)": ["-m", "gunicorn", "connect_example.wsgi", "--bind"],
}
TIME_AND_LEVEL = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING) connect_mw: "


@pytest.fixture(params=sorted(COMMANDS))
def running(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    args = COMMANDS[request.param]
    where = f"127.0.0.1:{port}" if args[-1] == "--bind" else str(port)
    out = tmp_path / "server.log"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONNECT_"))}
    env = {
        **inherited,
        "CONNECT_MW_HMAC_KEYS": KEY,
        "CONNECT_MW_STORE": f"sqlite:///{tmp_path / 'events.sqlite3'}",
        "EXAMPLE_DB": str(tmp_path / "db.sqlite3"),
        "COMPLETED_LOG": str(tmp_path / "completed.log"),
    }
    cwd = ROOT
    if request.param.startswith("django"):
        cwd = DJANGO
        migrate = [sys.executable, "manage.py", "migrate", "--noinput"]
        subprocess.run(migrate, cwd=cwd, env=env, check=True, capture_output=True, timeout=120)
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, *args, where], cwd=cwd, env=env, stdout=sink, stderr=sink
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _answers(url, proc), timeout=30, what=f"{request.param} to start")
            yield url, out
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def _answers(url: str, proc: subprocess.Popen[bytes]) -> bool:
    if proc.poll() is not None:
        raise AssertionError("the server exited")
    try:
        httpx.get(url + "/", timeout=1)
    except httpx.TransportError:
        return False
    return True


def test_activity_lines_with_time_and_level(running: tuple[str, Path]) -> None:
    url, out = running
    body = sim_body(status="completed")
    assert httpx.post(url + PATH, content=body, headers=signed_headers(body)).status_code == 200
    refused = httpx.post(url + PATH, content=body, headers=signed_headers(body, key="wrong"))
    assert refused.status_code == 401

    def lines() -> list[str]:
        text = out.read_text(errors="replace")
        return [line for line in text.splitlines() if re.match(TIME_AND_LEVEL, line)]

    wait_until(lambda: any(" processed envelope=" in line for line in lines()), what="processed")
    found = lines()
    assert any(" INFO connect_mw: received new envelope=" in line for line in found), found
    assert any(" WARNING connect_mw: rejected 401 POST " in line for line in found), found
    assert KEY not in out.read_text()
