"""``status``: recipients in routing order then id; "since" is DocuSign's time for the status."""

from __future__ import annotations

from pathlib import Path

import pytest

from connect_mw import Receiver, SQLiteStore
from connect_mw.cli import main
from connect_mw.http import Request
from support.deliveries import KEY, PATH, signed_headers, sim_body

ENVELOPE = "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a"


def signer(rid: str, order: int, status: str, signed: str | None = None) -> dict[str, str]:
    item = {
        "recipientId": rid,
        "routingOrder": str(order),
        "status": status,
        "email": f"r{rid}@example.org",
        "name": f"Recipient {rid}",
        "sentDateTime": "2026-01-05T07:00:00Z",
    }
    if signed:
        item["signedDateTime"] = signed
    return item


def summary() -> dict[str, object]:
    return {
        "envelopeId": ENVELOPE,
        "status": "completed",
        "emailSubject": "Order",
        "completedDateTime": "2026-01-05T08:30:00Z",
        "recipients": {
            "signers": [
                signer("3", 2, "completed", "2026-01-05T08:29:00Z"),
                signer("10", 1, "completed", "2026-01-05T08:10:00Z"),
                signer("2", 1, "completed", "2026-01-05T08:05:00Z"),
                signer("1", 3, "sent"),
            ]
        },
    }


@pytest.fixture
def store_uri(tmp_path: Path) -> str:
    path = tmp_path / "events.sqlite3"
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(path))
    body = sim_body(
        "envelope-completed", ENVELOPE, generated="2026-01-05T09:00:00Z", summary=summary()
    )
    response = receiver.handle(Request("POST", PATH, signed_headers(body), body))
    assert response.status == 200
    receiver.store.close()
    return f"sqlite:///{path}"


def test_status_sorts_recipients_and_shows_docusign_times(
    store_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", ENVELOPE, "--store", store_uri]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["status", "completed", "(since", "2026-01-05", "08:30:00", "UTC)"]
    header = next(i for i, line in enumerate(lines) if line.startswith("RECIPIENT"))
    rows = [line.split() for line in lines[header + 1 :]]
    assert [(row[0], row[-2], row[-1]) for row in rows] == [
        ("2", "2026-01-05", "08:05:00"),
        ("10", "2026-01-05", "08:10:00"),
        ("3", "2026-01-05", "08:29:00"),
        ("1", "2026-01-05", "07:00:00"),  # sent: DocuSign's sentDateTime
    ]


def test_status_shows_a_recipient_id_of_non_ascii_digits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "²" is a digit to str.isdigit() but not to int(): it sorts as text, no traceback
    path = tmp_path / "events.sqlite3"
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(path))
    listed = {"signers": [signer("\u00b2", 1, "sent"), signer("1", 1, "sent")]}
    body = sim_body("envelope-sent", ENVELOPE, summary={**summary(), "recipients": listed})
    assert receiver.handle(Request("POST", PATH, signed_headers(body), body)).status == 200
    receiver.store.close()
    assert main(["status", ENVELOPE, "--store", f"sqlite:///{path}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("RECIPIENT"))
    assert [line.split()[0] for line in lines[header + 1 :]] == ["1", "\u00b2"]
