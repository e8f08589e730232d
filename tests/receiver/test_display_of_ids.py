"""A signed body whose ids hold invisible characters: stored raw, displayed escaped.

Issue 14 ("Also"): an id with a right-to-left override or a zero-width space printed raw
looks like a genuine one. The body goes in through the pure ASGI and the pure WSGI entry
point into a SQLite file; the store keeps the ids byte for byte, while the log lines, the
``connect-mw`` tables and the dashboard show the escapes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import pytest

from connect_mw import Receiver, SQLiteStore
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from connect_mw.cli import main
from connect_mw.dashboard import Dashboard
from connect_mw.testing import notification
from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.entry_points import ASGIClient, Client, WSGIClient, asgi_echo, wsgi_echo

GUID = "e8b18544-c605-4499-abcf-52209a7f4438"
EVENT = "envelope-completed\u202e"  # renders as "envelope-completed" followed by reversed text
RECIPIENT = "1\u200b"  # renders as "1"


def via_asgi(receiver: Receiver) -> Client:
    return ASGIClient(ConnectASGIMiddleware(asgi_echo, receiver=receiver), receiver)


def via_wsgi(receiver: Receiver) -> Client:
    return WSGIClient(ConnectWSGIMiddleware(wsgi_echo, receiver=receiver), receiver)


ENTRY = [via_asgi, via_wsgi]


def deliver(client: Client, body: bytes) -> None:
    status, answer = client.post(PATH, body, signed_headers(body))
    assert (status, answer["status"]) == (200, "accepted")


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("connect_mw")]


@pytest.mark.parametrize("entry", ENTRY, ids=lambda f: f.__name__)
def test_ids_are_stored_raw_and_shown_escaped(
    entry: Callable[[Receiver], Client],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "ids.sqlite3"
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(path), mode="inline")
    receiver.on_any(lambda delivery: None)
    client = entry(receiver)
    with caplog.at_level(logging.INFO, logger="connect_mw"):
        deliver(client, sim_body(EVENT, GUID))
        deliver(client, sim_body("recipient-completed", GUID, recipient_id=RECIPIENT))

    # Stored raw.
    events = receiver.store.list_events(GUID)
    assert EVENT in [e.event for e in events]
    state = receiver.store.get_envelope(GUID)
    assert state is not None and [r.recipient_id for r in state.recipients] == [RECIPIENT]
    receiver.store.close()

    # Logged escaped: the receiver's line names the event as an escape, nothing raw anywhere.
    logged = messages(caplog)
    assert any("event=envelope-completed\\u202e " in line for line in logged), logged
    assert not any("\u202e" in line or "\u200b" in line for line in logged)

    # `connect-mw events` and `status` tables show the escapes; --json keeps JSON's own.
    uri = f"sqlite:///{path}"
    assert main(["events", GUID, "--store", uri]) == 0
    table = capsys.readouterr().out
    assert "envelope-completed\\u202e" in table and "\u202e" not in table
    assert main(["status", GUID, "--store", uri]) == 0
    status = capsys.readouterr().out
    recipient_rows = [line.split() for line in status.splitlines() if line.startswith("1")]
    assert recipient_rows and recipient_rows[0][0] == "1\\u200b"
    assert "\u200b" not in status


def test_envelope_id_in_the_log_line_and_the_envelopes_table(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """An envelope id is displayed escaped where it is shown (recorded as reconciliation does)."""
    spoof = "\u202e" + GUID[::-1]  # reads as the genuine GUID in a right-to-left run
    path = tmp_path / "env.sqlite3"
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(path))
    with caplog.at_level(logging.INFO, logger="connect_mw"):
        receiver.record(notification(envelope_id=spoof))
    assert [s.envelope_id for s in receiver.store.list_envelopes()] == [spoof]
    receiver.store.close()
    logged = messages(caplog)
    assert any(f"envelope=\\u202e{GUID[::-1]} " in line for line in logged), logged
    assert main(["envelopes", "--store", f"sqlite:///{path}"]) == 0
    out = capsys.readouterr().out
    assert f"\\u202e{GUID[::-1]}" in out and "\u202e" not in out


def test_dashboard_shows_the_escape(tmp_path: Path) -> None:
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(tmp_path / "dash.sqlite3"))
    deliver(via_wsgi(receiver), sim_body(EVENT, GUID))
    deliver(via_wsgi(receiver), sim_body("recipient-completed", GUID, recipient_id=RECIPIENT))
    dashboard = Dashboard(receiver.store, bind_host="127.0.0.1")

    async def page() -> str:
        transport = httpx.ASGITransport(app=dashboard, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://dash.test") as http:
            reply = await http.get(f"/envelopes/{GUID}")
        assert reply.status_code == 200
        return reply.text

    html = anyio.run(page)
    assert "envelope-completed\\u202e" in html and "1\\u200b" in html
    assert "\u202e" not in html and "\u200b" not in html
    receiver.store.close()
