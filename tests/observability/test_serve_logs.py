"""``connect-mw serve --log-format json`` and ``--log-level`` under a real uvicorn."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx

from connect_mw.correlation import correlation_id
from support.deliveries import ACCOUNT, KEY, PATH, signed_headers, sim_body
from support.serving import connect_mw, serving, write_hooks

STORE_PASSWORD = "S3cretStorePW"
BASIC_PASSWORD = "B4sicSecretPW"


def test_json_lines_with_the_activity_fields(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"
    args = ["--log-format", "json", "--hmac-key", KEY, "--store", f"sqlite:///{db}"]
    with serving(args, tmp_path, {}) as server:
        body = sim_body(status="completed")
        answer = httpx.post(server.url + PATH, content=body, headers=signed_headers(body))
        assert answer.status_code == 200
        refused = httpx.post(
            server.url + PATH, content=body, headers=signed_headers(body, key="wrong-key")
        )
        assert refused.status_code == 401
        output = server.stop()
    entries = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    received = [e for e in entries if e["message"].startswith("received new")]
    assert len(received) == 1
    entry = received[0]
    assert entry["logger"] == "connect_mw" and entry["level"] == "INFO"
    assert entry["outcome"] == "new" and entry["status"] == 200
    assert entry["event"] == "envelope-completed"
    assert entry["envelope_id"] == "e8b18544-c605-4499-abcf-52209a7f4438"
    assert entry["correlation_id"] == correlation_id(entry["key"])
    assert isinstance(entry["duration_ms"], float)
    rejected = [e for e in entries if e["message"].startswith("rejected 401")]
    assert rejected and rejected[0]["status"] == 401 and rejected[0]["level"] == "WARNING"
    # uvicorn's own lines come through the same handler, as JSON
    assert any(e["logger"].startswith("uvicorn") for e in entries)
    assert ACCOUNT not in {e.get("key") for e in entries}


def test_log_level_reaches_uvicorn_and_connect_mw(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"
    args = ["--log-level", "warning", "--hmac-key", KEY, "--store", f"sqlite:///{db}"]
    with serving(args, tmp_path, {}) as server:
        body = sim_body(status="completed")
        httpx.post(server.url + PATH, content=body, headers=signed_headers(body))
        httpx.post(server.url + PATH, content=body, headers=signed_headers(body, key="wrong"))
        output = server.stop()
    assert "rejected 401" in output  # a warning
    assert "received new" not in output  # connect_mw's info lines are off
    assert "Uvicorn running" not in output  # and uvicorn's (uvicorn.error at info)
    assert '"POST /docusign/connect HTTP/1.1" 200' not in output  # and its access log


def test_text_lines_have_time_and_level(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"
    with serving(["--hmac-key", KEY, "--store", f"sqlite:///{db}"], tmp_path, {}) as server:
        body = sim_body(status="completed")
        httpx.post(server.url + PATH, content=body, headers=signed_headers(body))
        output = server.stop()
    line = next(line for line in output.splitlines() if "received new" in line)
    assert " INFO connect_mw: received new envelope=" in line
    assert line[:4].isdigit()
    assert any(" INFO uvicorn" in line for line in output.splitlines())


def test_no_secret_in_json_logs(tmp_path: Path) -> None:
    """Credentials given to serve never appear in what it writes, JSON or not."""
    db = tmp_path / "events.sqlite3"
    args = [
        "--log-format",
        "json",
        "--hmac-key",
        KEY,
        "--basic-auth",
        f"ops:{BASIC_PASSWORD}",
        "--store",
        f"sqlite:///{db}?password={STORE_PASSWORD}",
        "--log-level",
        "debug",
    ]
    with serving(args, tmp_path, {}) as server:
        body = sim_body(status="completed")
        headers = signed_headers(body)
        httpx.post(server.url + PATH, content=body, headers=headers, auth=("ops", "nope"))
        httpx.post(server.url + PATH, content=body, headers=headers, auth=("ops", BASIC_PASSWORD))
        httpx.get(server.url + f"/dashboard/?token={STORE_PASSWORD}")
        output = server.stop()
    assert "received new" in output
    for secret in (KEY, BASIC_PASSWORD, STORE_PASSWORD):
        assert secret not in output


def test_worker_json_lines_carry_the_delivery_correlation_id(tmp_path: Path) -> None:
    """``connect-mw worker --log-format json``: the processed line, and the callback's own
    record (through the CLI handler's CorrelationFilter), share the request's id."""
    db = tmp_path / "events.sqlite3"
    env = write_hooks(tmp_path, db)
    (tmp_path / "hooks.py").write_text(
        (tmp_path / "hooks.py").read_text()
        + "\nimport logging\n\n\n@receiver.on_any\n"
        + "def told(delivery):\n    logging.getLogger('hooks').warning('callback ran')\n"
    )
    with serving(
        ["--log-format", "json", "--store", f"sqlite:///{db}", "--hmac-key", KEY], tmp_path, env
    ) as server:
        body = sim_body(status="completed")
        assert httpx.post(server.url + PATH, content=body, headers=signed_headers(body)).is_success
        served = server.stop()
    worker = subprocess.run(
        connect_mw("worker", "hooks:receiver", "--once", "--log-format", "json"),
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    received = next(json.loads(line) for line in served.splitlines() if '"received new' in line)
    entries = [json.loads(line) for line in worker.stderr.splitlines() if line.strip()]
    processed = next(e for e in entries if e["message"].startswith("processed "))
    mine = next(e for e in entries if e["message"] == "callback ran")
    assert processed["outcome"] == "processed" and processed["attempt"] == 1
    assert processed["correlation_id"] == received["correlation_id"]
    assert mine["logger"] == "hooks"
    assert mine["correlation_id"] == received["correlation_id"]
