"""No key, signature, personal data or document bytes ever reaches the logs."""

from __future__ import annotations

import logging

import pytest

from connect_mw import Delivery, MemoryStore, Receiver, parse
from connect_mw.model import PayloadFormat
from connect_mw.verify import sign
from support.deliveries import ACCOUNT, KEY, signed_request, sim_body
from support.payloads import fixture_bytes, fixture_names


def secrets_of(bodies: list[bytes]) -> set[str]:
    found = {KEY}
    for body in bodies:
        found.add(sign(KEY, body))
        n = parse(body)
        found.update(r.email for r in n.recipients if r.email)
        found.update(r.name for r in n.recipients if r.name)
        if n.sender is not None:
            found.update(v for v in (n.sender.email, n.sender.name) if v)
        found.update(d._encoded[:40] for d in n.documents if d.has_content)
    return {s for s in found if len(s) >= 4}


def full_run(receiver: Receiver, bodies: list[bytes]) -> None:
    for body in bodies:
        headers = {
            "content_type": "text/xml" if body.lstrip().startswith(b"<") else "application/json",
            "x_docusign_accountid": parse(body).account_id or ACCOUNT,
        }
        receiver.handle(signed_request(body, **headers))
        receiver.handle(signed_request(body, **headers))  # duplicate
        receiver.handle(signed_request(body, key="wrong-key", **headers))
        receiver.handle(signed_request(body[: len(body) // 2], **headers))
    while receiver.worker().run_once():
        pass


def test_logs_hold_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    bodies = [fixture_bytes(name) for name in fixture_names()] + [sim_body()]
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore())

    @receiver.on_envelope_completed
    def crash(delivery: Delivery) -> None:
        raise RuntimeError("downstream system unavailable")

    with caplog.at_level(logging.DEBUG):
        full_run(receiver, bodies)
    text = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "rejected 401" in text and "cannot be parsed as dead letter" in text
    assert "received new" in text and "callback" in text and "retrying" in text
    recorded = text.count("received new") + text.count("received stale")
    parsed = [e for e in receiver.store.list_events() if e.format is not PayloadFormat.UNPARSED]
    assert recorded == len(parsed) >= len(bodies) - 3
    leaked = sorted(secret for secret in secrets_of(bodies) if secret in text)
    assert leaked == []
