"""``connect-mw purge`` and the retention options of ``serve`` and ``worker``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from connect_mw import Receiver, SQLiteStore
from connect_mw.cli import build_parser, build_receiver, main
from connect_mw.errors import ConfigurationError
from connect_mw.stores import ProcessingState
from support.deliveries import KEY, signed_request, sim_body
from support.polling import wait_until


def processed_store(path: Path) -> str:
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(path))
    assert receiver.handle(signed_request(sim_body())).status == 200
    assert receiver.worker().run_once() == 1
    (event,) = receiver.store.list_events()
    receiver.store.close()
    return event.key


def test_purge_keeps_recent_bodies_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.sqlite3"
    key = processed_store(path)
    assert main(["purge", "--store", f"sqlite:///{path}"]) == 0
    assert "purged 0 event(s)" in capsys.readouterr().out
    with SQLiteStore(path) as store:
        event = store.get_event(key)
        assert event is not None and event.raw


def test_purge_older_than_zero_days_leaves_a_tombstone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.sqlite3"
    key = processed_store(path)
    assert main(["purge", "--store", f"sqlite:///{path}", "--older-than", "0"]) == 0
    assert "purged 1 event(s)" in capsys.readouterr().out
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(path))
    event = receiver.store.get_event(key)
    assert event is not None and event.processing is ProcessingState.PURGED and event.raw is None
    calls: list[str] = []
    receiver.on_any(lambda n: calls.append(n.event))
    assert receiver.handle(signed_request(sim_body())).status == 200  # re-posted: duplicate
    assert receiver.worker().run_once() == 0 and calls == []
    assert main(["replay", key, "--store", f"sqlite:///{path}"]) == 1
    assert "purged by retention" in capsys.readouterr().out
    receiver.store.close()


def test_purge_refuses_a_negative_age(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    assert main(["purge", "--store", store, "--older-than", "-1"]) == 2
    assert "--older-than" in capsys.readouterr().err


def test_serve_options_reach_the_receiver(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    args = build_parser().parse_args(
        [
            "serve",
            "--hmac-key",
            KEY,
            "--store",
            store,
            "--retention-days",
            "7",
            "--purge-every",
            "0",
        ]
    )
    receiver = build_receiver(args)
    assert receiver.store.retention == timedelta(days=7)
    assert receiver.purge_every == 0 and not receiver.worker().retention.enabled
    receiver.store.close()


def test_serve_defaults_purge_hourly_after_thirty_days(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    args = build_parser().parse_args(["serve", "--hmac-key", KEY, "--store", store])
    receiver = build_receiver(args)
    assert receiver.store.retention == timedelta(days=30)
    assert receiver.worker().retention.every == 3600
    receiver.store.close()


def test_serve_refuses_a_retention_of_zero_days(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    argv = ["serve", "--hmac-key", KEY, "--store", store, "--retention-days", "0"]
    with pytest.raises(ConfigurationError, match="--retention-days"):
        build_receiver(build_parser().parse_args(argv))


def test_worker_purge_every_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.sqlite3"
    (tmp_path / "purge_hooks.py").write_text(
        "from connect_mw import Receiver\n"
        f"receiver = Receiver(hmac_keys='k', store='sqlite:///{path}')\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["worker", "purge_hooks:receiver", "--once", "--purge-every", "-1"]) == 2
    assert "--purge-every: must be a number from 0" in capsys.readouterr().err
    assert main(["worker", "purge_hooks:receiver", "--once", "--purge-every", "0", "--drain"]) == 0


def test_serve_without_a_worker_still_purges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    path = tmp_path / "events.sqlite3"
    key = processed_store(path)
    seen: list[ProcessingState] = []

    def serving(app: object, **options: object) -> None:  # uvicorn.run, until purged
        with SQLiteStore(path) as store:

            def purged() -> bool:
                event = store.get_event(key)
                return event is not None and event.processing is ProcessingState.PURGED

            wait_until(purged, what="serve's retention thread")
            seen.append(ProcessingState.PURGED)

    monkeypatch.setattr(uvicorn, "run", serving)
    argv = ["serve", "--hmac-key", KEY, "--store", f"sqlite:///{path}", "--no-worker"]
    assert main([*argv, "--no-dashboard", "--retention-days", "1e-6", "--purge-every", "0.05"]) == 0
    assert seen == [ProcessingState.PURGED]
