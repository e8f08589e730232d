"""The Django example project, started for real: migrate, runserver, a signed delivery."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.polling import wait_until

MANAGE = Path(__file__).resolve().parents[2] / "examples" / "django_project" / "manage.py"
ENVELOPE = "e8b18544-c605-4499-abcf-52209a7f4438"
LINE = f"{ENVELOPE} completed (Please sign)\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONNECT_"))}
    return {
        **inherited,
        "CONNECT_MW_HMAC_KEYS": KEY,
        "EXAMPLE_DB": str(tmp_path / "db.sqlite3"),
        "COMPLETED_LOG": str(tmp_path / "completed.log"),
        "DJANGO_SUPERUSER_USERNAME": "admin",
        "DJANGO_SUPERUSER_PASSWORD": "example-password",
        "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
    }


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[httpx.Client]:
    manage(env, "migrate", "--noinput")
    manage(env, "createsuperuser", "--noinput")
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(MANAGE), "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        wait_until(lambda: answers(client, process), timeout=30, what="runserver")
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)
        log.close()


def answers(client: httpx.Client, process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, "runserver exited; see server.log"
    try:
        return client.get("/").status_code == 200
    except httpx.TransportError:
        return False


def completions(env: dict[str, str]) -> str:
    path = Path(env["COMPLETED_LOG"])
    return path.read_text() if path.exists() else ""


def test_example_project_receives_a_completion(server: httpx.Client, env: dict[str, str]) -> None:
    body = sim_body(status="completed")
    response = server.post(PATH, content=body, headers=signed_headers(body))
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    wait_until(lambda: completions(env) == LINE, what="the completion line")
    echoed = server.post("/echo", content=b"plain body")
    assert echoed.text == "10 bytes: plain body"
    forged = server.post(PATH, content=body, headers=signed_headers(body, key="forged"))
    assert forged.status_code == 401


def test_example_admin_and_replay(server: httpx.Client, env: dict[str, str]) -> None:
    body = sim_body(status="completed")
    assert server.post(PATH, content=body, headers=signed_headers(body)).status_code == 200
    wait_until(lambda: completions(env) == LINE, what="the completion line")
    log_in(server)
    events = server.get("/admin/connect_mw/event/")
    assert events.status_code == 200
    key = response_key(events.text)
    assert manage(env, "connect_mw_replay", "--envelope", ENVELOPE) == f"queued {key}\n"
    wait_until(lambda: completions(env) == LINE * 2, what="the replayed completion")


def log_in(client: httpx.Client) -> None:
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    form = {
        "username": "admin",
        "password": "example-password",
        "csrfmiddlewaretoken": token.group(1),
        "next": "/admin/",
    }
    assert client.post("/admin/login/", data=form).status_code == 302


def response_key(changelist: str) -> str:
    found = re.search(r"sim:[0-9a-f]{40}", changelist)
    assert found is not None, "the event's key is listed"
    return found.group(0)
