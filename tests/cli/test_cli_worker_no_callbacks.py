"""``connect-mw worker`` refuses a receiver with no callbacks unless ``--drain`` says so."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_mw import Receiver, SQLiteStore
from connect_mw.cli import main
from connect_mw.stores import ProcessingState
from support.deliveries import KEY, signed_request, sim_body


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Two pending events, and two apps on them: ``bare`` (no callbacks), ``hooks`` (one)."""
    path = tmp_path / "events.sqlite3"
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(path))
    for envelope in ["env-a", "env-b"]:
        assert receiver.handle(signed_request(sim_body(envelope_id=envelope))).status == 200
    receiver.store.close()
    made = (
        "from connect_mw import Receiver\n"
        f"receiver = Receiver(hmac_keys='k', store='sqlite:///{path}')\n"
    )
    (tmp_path / "bare.py").write_text(made)
    (tmp_path / "hooks.py").write_text(made + "receiver.on_any(lambda d: None)\n")
    monkeypatch.chdir(tmp_path)
    for name in ("bare", "hooks"):  # each test imports its own copy, on its own file
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield path
    for name in ("bare", "hooks"):
        sys.modules.pop(name, None)


def states(path: Path) -> list[ProcessingState]:
    with SQLiteStore(path) as store:
        return [event.processing for event in store.list_events()]


def test_a_receiver_without_callbacks_is_refused(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["worker", "bare:receiver", "--once"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("connect-mw: bare:receiver has no callbacks: a worker would mark")
    assert "--drain" in line
    assert states(db) == [ProcessingState.PENDING] * 2


def test_drain_marks_pending_events_processed(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "bare:receiver", "--once", "--drain"]) == 0
    assert capsys.readouterr().out == "processed 2 event(s)\n"
    assert states(db) == [ProcessingState.PROCESSED] * 2


def test_drain_beside_callbacks_is_refused(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "hooks:receiver", "--once", "--drain"]) == 2
    assert "hooks:receiver has callbacks: leave --drain out" in capsys.readouterr().err
    assert states(db) == [ProcessingState.PENDING] * 2
    assert main(["worker", "hooks:receiver", "--once"]) == 0
    assert states(db) == [ProcessingState.PROCESSED] * 2
