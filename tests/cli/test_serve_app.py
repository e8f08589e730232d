"""``serve`` runs callbacks only when it has yours (``--app``); otherwise a worker does."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from connect_mw import ProcessingState, Receiver, SQLiteStore
from connect_mw.cli import build_parser, build_receiver, main
from connect_mw.cli.app import callbacks_line, runs_callbacks
from connect_mw.queues import StoreQueue
from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.polling import wait_until
from support.serving import connect_mw, serving, write_hooks

ENVELOPE = "e8b18544-c605-4499-abcf-52209a7f4438"


def stored(db: Path) -> list[ProcessingState]:
    if not db.exists():
        return []
    with SQLiteStore(db) as store:
        return [event.processing for event in store.list_events()]


def post_completed(url: str) -> None:
    body = sim_body(status="completed")
    reply = httpx.post(url + PATH, content=body, headers=signed_headers(body))
    assert reply.status_code == 200


def test_serve_without_app_leaves_the_events_to_the_worker(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"
    env = write_hooks(tmp_path, db)
    serve_args = ["--store", f"sqlite:///{db}", "--hmac-key", KEY]
    with serving(serve_args, tmp_path, env) as server:
        post_completed(server.url)
        assert stored(db) == [ProcessingState.PENDING]
        worker = subprocess.run(
            connect_mw("worker", "hooks:receiver", "--once"),
            cwd=tmp_path,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        output = server.stop()
    assert "processed 1 event(s)" in worker.stdout
    (line,) = (tmp_path / "hooks.log").read_text().splitlines()
    assert line.split() == [line.split()[0], ENVELOPE]
    assert int(line.split()[0]) != server.process.pid  # the worker ran it, not serve
    assert stored(db) == [ProcessingState.PROCESSED]
    assert "events stay pending until `connect-mw worker" in output


def test_serve_app_runs_your_callbacks(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"
    env = write_hooks(tmp_path, db)
    log = tmp_path / "hooks.log"
    with serving(["--app", "hooks:receiver"], tmp_path, env) as server:
        post_completed(server.url)
        wait_until(log.exists, what="the app's callback to run in serve")
        wait_until(lambda: stored(db) == [ProcessingState.PROCESSED], what="the event settled")
        output = server.stop()
    (line,) = log.read_text().splitlines()
    assert line == f"{server.process.pid} {ENVELOPE}"
    assert "callbacks of hooks:receiver run in this process" in output
    assert f"store sqlite:///{db.resolve()}" in output


def test_startup_line_shows_the_database_by_absolute_path(tmp_path: Path) -> None:
    with serving(["--store", "sqlite:///relative.db", "--hmac-key", KEY], tmp_path, {}) as server:
        output = server.stop()
    assert f"store sqlite:///{(tmp_path / 'relative.db').resolve()}" in output


def test_app_flags_override_the_receivers_http_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = write_hooks(tmp_path, tmp_path / "events.sqlite3")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONNECT_MW_HMAC_KEYS", raising=False)
    monkeypatch.delitem(sys.modules, "hooks", raising=False)
    args = build_parser().parse_args(
        ["serve", "--app", "hooks:receiver", "--hmac-key", "other", "--path", "/hooks/ds"]
    )
    receiver = build_receiver(args)
    assert receiver.authenticator.hmac_keys.default == ("other",)
    assert receiver.path == "/hooks/ds"
    assert not receiver.router.empty and runs_callbacks(receiver, args)
    monkeypatch.delitem(sys.modules, "hooks")  # a fresh receiver, as in a new process
    plain = build_parser().parse_args(["serve", "--app", "hooks:receiver"])
    assert build_receiver(plain).authenticator.hmac_keys.default == (KEY,)


def test_app_refuses_settings_that_belong_to_the_receiver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = write_hooks(tmp_path, tmp_path / "events.sqlite3")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--app", "hooks:receiver", "--store", "memory://"]) == 2
    assert "--store cannot be combined with --app" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("app", "options", "mode", "runs"),
    [
        (None, [], "deferred", False),  # no callbacks of yours: leave events to the worker
        ("m:r", [], "deferred", True),
        ("m:r", ["--no-worker"], "deferred", False),
        ("m:r", [], "inline", False),  # run inline in the request instead
    ],
)
def test_who_runs_the_callbacks(app: str | None, options: list[str], mode: str, runs: bool) -> None:
    receiver = Receiver(hmac_keys=KEY, store="memory://", mode=mode)  # type: ignore[arg-type]
    receiver.on_any(lambda delivery: None)
    args = build_parser().parse_args(["serve", *options])
    args.app = app
    assert runs_callbacks(receiver, args) is runs
    empty = Receiver(hmac_keys=KEY, store="memory://")
    assert not runs_callbacks(empty, args)


class _ElsewhereQueue(StoreQueue):
    """A queue whose events other processes run, as a task-queue backend's are."""

    in_process_workers = False


def test_serve_app_leaves_a_task_queue_receivers_callbacks_to_its_task_queue() -> None:
    receiver = Receiver(hmac_keys=KEY, store="memory://", processing=_ElsewhereQueue)
    receiver.on_any(lambda delivery: None)
    args = build_parser().parse_args(["serve"])
    args.app = "m:r"
    assert not runs_callbacks(receiver, args)
    line = callbacks_line(receiver, args, False)
    assert line == "callbacks of m:r run on its task queue's workers"


def test_app_takes_the_retention_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = write_hooks(tmp_path, tmp_path / "events.sqlite3")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "hooks", raising=False)
    args = build_parser().parse_args(
        ["serve", "--app", "hooks:receiver", "--retention-days", "7", "--purge-every", "60"]
    )
    receiver = build_receiver(args)
    assert receiver.purge_every == 60
    assert receiver.store.retention == timedelta(days=7)
    monkeypatch.delitem(sys.modules, "hooks")
    plain = build_receiver(build_parser().parse_args(["serve", "--app", "hooks:receiver"]))
    assert plain.purge_every == 3600 and plain.store.retention == timedelta(days=30)
