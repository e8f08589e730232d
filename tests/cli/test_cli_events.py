"""``connect-mw worker --once``, ``replay`` and ``dead-letters`` against a real SQLite file."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from connect_mw import Receiver, SQLiteStore
from connect_mw.cli import main
from connect_mw.encryption import Encryptor
from connect_mw.stores import ProcessingState
from connect_mw.stores.api import utcnow
from connect_mw.stores.encrypted import EncryptedStore
from support.deliveries import KEY, signed_request, sim_body


def store_with_events(path: Path) -> list[str]:
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(path))
    for envelope in ["env-a", "env-b"]:
        assert receiver.handle(signed_request(sim_body(envelope_id=envelope))).status == 200
    keys = [e.key for e in receiver.store.list_events()]
    receiver.store.close()
    return keys


def kill(path: Path, key: str) -> None:
    with SQLiteStore(path) as store:
        queue = store.queue()
        (claimed,) = queue.claim("test", lease_for=timedelta(minutes=1), now=utcnow())
        assert claimed.key == key
        assert queue.finish(key, "test", ProcessingState.DEAD, error="boom\nTraceback ...")


def test_dead_letters_list_and_retry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "events.sqlite3"
    first, second = store_with_events(path)
    kill(path, first)
    uri = f"sqlite:///{path}"
    assert main(["dead-letters", "list", "--store", uri]) == 0
    listed = capsys.readouterr().out
    assert first in listed and "attempts=1  boom" in listed and second not in listed
    assert main(["dead-letters", "list", "--json", "--store", uri]) == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["key"], record["envelope_id"], record["attempts"]) == (first, "env-a", 1)
    assert main(["dead-letters", "retry", "--store", uri]) == 2  # needs keys or --all
    capsys.readouterr()
    assert main(["dead-letters", "retry", "--all", "--store", uri]) == 0
    assert f"queued {first}" in capsys.readouterr().out
    with SQLiteStore(path) as store:
        event = store.get_event(first)
        assert event is not None and event.processing is ProcessingState.PENDING


def test_replay_and_worker_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.sqlite3"
    first, _ = store_with_events(path)
    app = tmp_path / "hooks.py"
    app.write_text(
        "from connect_mw import Receiver\n"
        f"receiver = Receiver(hmac_keys='k', store='sqlite:///{path}')\n"
        "seen = []\n"
        "receiver.on_any(lambda d: seen.append(d.key))\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["worker", "hooks:receiver", "--once", "--concurrency", "8"]) == 0
    assert "processed 2 event(s)" in capsys.readouterr().out
    assert main(["replay", first, "missing-key", "--app", "hooks:receiver"]) == 1
    out = capsys.readouterr().out
    assert f"queued {first}" in out and "not queued missing-key" in out
    assert main(["worker", "hooks:receiver", "--once"]) == 0
    assert "processed 1 event(s)" in capsys.readouterr().out


def test_worker_app_must_name_a_receiver(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notapp.py").write_text("thing = 42\n")
    monkeypatch.chdir(tmp_path)
    assert main(["worker", "notapp:thing", "--once"]) == 2
    assert "is not a connect_mw Receiver" in capsys.readouterr().err
    assert main(["worker", "no_such_module:receiver", "--once"]) == 2
    assert main(["worker", "nocolon", "--once"]) == 2


def test_encrypted_store_lists_opened_errors_and_retries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, spec = tmp_path / "events.sqlite3", f"k1:{Encryptor.generate_key()}"
    uri = f"sqlite:///{path}"
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(path), encryptor=Encryptor.from_spec(spec))
    assert (
        receiver.handle(signed_request(sim_body(envelope_id="env-a", status="sent"))).status == 200
    )
    (claimed,) = receiver.queue.claim("test", lease_for=timedelta(minutes=1))
    error = "CRM refused ana@example.org\nTraceback ..."
    assert receiver.queue.finish(claimed.key, "test", ProcessingState.DEAD, error=error)
    receiver.store.close()
    assert main(["dead-letters", "list", "--json", "--store", uri, "--encryption-keys", spec]) == 0
    assert json.loads(capsys.readouterr().out)["error"] == error
    assert main(["dead-letters", "list", "--store", uri]) == 0  # without the keys: sealed
    listed = capsys.readouterr().out
    assert claimed.key in listed and "enc:" in listed and "ana@example.org" not in listed
    assert main(["status", "env-a", "--json", "--store", uri, "--encryption-keys", spec]) == 0
    assert json.loads(capsys.readouterr().out)["subject"] == "Please sign"
    assert main(["replay", claimed.key, "--store", uri, "--encryption-keys", spec]) == 0
    assert f"queued {claimed.key}" in capsys.readouterr().out
    with EncryptedStore(SQLiteStore(path), Encryptor.from_spec(spec)) as store:
        event = store.get_event(claimed.key)
        assert event is not None and event.processing is ProcessingState.PENDING
        assert event.error == error  # the last failure is kept, still sealed at rest
