"""``connect-mw status``, ``envelopes`` and ``events`` against a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connect_mw import Receiver, SQLiteStore
from connect_mw.cli import main
from connect_mw.simulate import Lifecycle
from connect_mw.testing.simulator import Simulator

KEY = "query-key"


@pytest.fixture
def stored(tmp_path: Path) -> tuple[str, dict[str, Lifecycle]]:
    """A store holding a routing (completed), a declined and a voided envelope."""
    path = tmp_path / "events.sqlite3"
    simulator = Simulator(KEY, seed=31)
    lifecycles = {kind: simulator.lifecycle(kind) for kind in ("routing", "declined", "voided")}
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(path))
    messages = simulator.messages(*lifecycles.values(), payload_format="json-summary")
    simulator.deliver(receiver, messages)
    receiver.store.close()
    return f"sqlite:///{path}", lifecycles


def test_status_table_and_json(
    stored: tuple[str, dict[str, Lifecycle]], capsys: pytest.CaptureFixture[str]
) -> None:
    uri, lifecycles = stored
    routing = lifecycles["routing"]
    assert main(["status", routing.envelope_id, "--store", uri]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["envelope", routing.envelope_id]
    assert lines[1].split()[:2] == ["status", "completed"]
    header = next(i for i, line in enumerate(lines) if line.startswith("RECIPIENT"))
    rows = [line.split() for line in lines[header + 1 :]]
    assert [(row[0], row[1]) for row in rows] == [
        ("1", "signer"),
        ("2", "signer"),
        ("3", "carbon_copy"),
    ]
    assert all("completed" in row for row in rows)
    declined = lifecycles["declined"]
    assert main(["status", declined.envelope_id, "--store", uri, "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert (state["status"], state["envelope_id"]) == ("declined", declined.envelope_id)
    assert state["decline_reason"] and "declined" in state["reached"]
    assert state["recipients"][0]["status"] == "declined"


def test_status_of_an_unknown_envelope_exits_1(
    stored: tuple[str, dict[str, Lifecycle]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "no-such-envelope", "--store", stored[0]]) == 1
    assert "no envelope no-such-envelope" in capsys.readouterr().err


def test_envelopes_filter_limit_and_json(
    stored: tuple[str, dict[str, Lifecycle]], capsys: pytest.CaptureFixture[str]
) -> None:
    uri, lifecycles = stored
    assert main(["envelopes", "--store", uri]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["ENVELOPE", "STATUS"] and len(lines) == 4
    assert main(["envelopes", "--status", "voided", "--store", uri]) == 0
    (_, row) = capsys.readouterr().out.splitlines()
    assert row.split()[:2] == [lifecycles["voided"].envelope_id, "voided"]
    assert main(["envelopes", "--limit", "2", "--json", "--store", uri]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 2 and {r["status"] for r in records} <= {
        "completed",
        "declined",
        "voided",
    }


def test_events_in_docusign_order(
    stored: tuple[str, dict[str, Lifecycle]], capsys: pytest.CaptureFixture[str]
) -> None:
    uri, lifecycles = stored
    voided = lifecycles["voided"]
    assert main(["events", voided.envelope_id, "--store", uri]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[2] for row in rows] == [m.event for m in voided.moments]
    assert all("pending" in row for row in rows)
    assert main(["events", voided.envelope_id, "--json", "--store", uri]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["event"] for r in records] == [m.event for m in voided.moments]
    assert records[-1]["transitions"][0] == {
        "kind": "envelope",
        "status": "voided",
        "recipient_id": None,
    }
    assert main(["events", "nothing-here", "--store", uri]) == 1


@pytest.mark.parametrize(
    "command", ["status", "envelopes", "events", "simulate", "event-notification"]
)
def test_help_has_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert "examples:\n  connect-mw " + command in capsys.readouterr().out
