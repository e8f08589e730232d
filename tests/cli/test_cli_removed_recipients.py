"""``connect-mw status`` and the dashboard show a recipient a correction removed."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from connect_mw import Receiver, SQLiteStore
from connect_mw.cli import main
from connect_mw.dashboard import Dashboard
from support.deliveries import signed_request, sim_body

KEY = "removed-key"
ENVELOPE = "6e2d1b4f-3c5a-4d7e-9f0a-1b2c3d4e5f60"


def listing(generated: str, *signers: tuple[str, str, str]) -> bytes:
    summary = {
        "envelopeId": ENVELOPE,
        "status": "sent",
        "recipients": {
            "signers": [
                {"recipientId": rid, "email": email, "status": status}
                for rid, email, status in signers
            ]
        },
    }
    return sim_body("envelope-sent", ENVELOPE, generated=generated, summary=summary)


def corrected_store(path: Path) -> SQLiteStore:
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(path), mode="inline")
    before = listing(
        "2026-01-05T09:00:00Z", ("1", "ann@example.com", "sent"), ("2", "bob@example.com", "sent")
    )
    after = listing(
        "2026-01-05T09:05:00Z", ("1", "ann@example.com", "sent"), ("3", "cy@example.com", "sent")
    )
    for body in (before, after):
        assert receiver.handle(signed_request(body, key=KEY)).status == 200
    store = receiver.store
    assert isinstance(store, SQLiteStore)
    return store


def test_status_marks_the_removed_recipient(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corrected_store(tmp_path / "events.sqlite3").close()
    assert main(["status", ENVELOPE, "--store", f"sqlite:///{tmp_path / 'events.sqlite3'}"]) == 0
    rows = {
        line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line[:1].isdigit()
    }
    assert "sent (removed)" in rows["2"]
    assert "removed" not in rows["1"] and "removed" not in rows["3"]


def test_dashboard_marks_the_removed_recipient(tmp_path: Path) -> None:
    store = corrected_store(tmp_path / "events.sqlite3")
    dashboard = Dashboard(store, token="t0ken-for-the-test")

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=dashboard, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://dash.test") as http:
            return await http.get(
                f"/envelopes/{ENVELOPE}", headers={"authorization": "Bearer t0ken-for-the-test"}
            )

    page = anyio.run(get)
    store.close()
    assert page.status_code == 200
    rows = page.text.split('id="recipients"')[1].split("</table>")[0].split("<tr>")
    removed = [row for row in rows if "bob@example.com" in row]
    assert len(removed) == 1 and "removed" in removed[0]
    assert not any("removed" in row for row in rows if "ann@example.com" in row)
