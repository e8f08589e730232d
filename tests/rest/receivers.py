"""Real receivers for the REST tests: Connect messages, a callback log, draining the queue.

``connect_message`` builds the JSON SIM message Connect would send for a fake envelope (with
or without its ``envelopeSummary``), ``deliver`` posts it to a receiver signed, ``Calls``
records every callback a receiver runs and ``drain`` processes until nothing is pending.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from connect_mw import Delivery, Receiver
from support.deliveries import signed_request

from .fake_data import ACCOUNT_ID, JSONObject

HMAC_KEY = "rest-tests-hmac-key"
ENVELOPE_STATUSES = ("created", "sent", "delivered", "signed", "completed", "declined", "voided")
RECIPIENT_STATUSES = ("sent", "delivered", "completed", "declined", "autoresponded")


def connect_message(
    envelope: JSONObject,
    *,
    event: str | None = None,
    summary: bool = True,
    recipient_id: str | None = None,
    generated: str | None = None,
    account_id: str = ACCOUNT_ID,
) -> bytes:
    """The SIM message for ``envelope`` (its summary left out with ``summary=False``)."""
    data: dict[str, Any] = {
        "accountId": account_id,
        "userId": "5d4c3b2a",
        "envelopeId": envelope["envelopeId"],
    }
    if recipient_id is not None:
        data["recipientId"] = recipient_id
    if summary:
        data["envelopeSummary"] = envelope
    message = {
        "event": event or f"envelope-{envelope['status']}",
        "apiVersion": "v2.1",
        "uri": f"/restapi/v2.1/accounts/{account_id}/envelopes/{envelope['envelopeId']}",
        "retryCount": 0,
        "configurationId": 1234,
        "generatedDateTime": generated or envelope["statusChangedDateTime"],
        "data": data,
    }
    return json.dumps(message).encode()


def deliver(receiver: Receiver, body: bytes, account_id: str = ACCOUNT_ID) -> str:
    """Post ``body`` to ``receiver`` as DocuSign would; the stored key."""
    response = receiver.handle(signed_request(body, HMAC_KEY, x_docusign_accountid=account_id))
    assert response.status == 200, response.body
    key: str = json.loads(response.body)["key"]
    return key


@dataclass
class Calls:
    """Every callback a receiver ran: transitions as ``(envelope, name[:recipient])``."""

    transitions: list[tuple[str, str]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def transition(self, delivery: Delivery) -> None:
        """A transition callback."""
        assert delivery.transition is not None
        name = delivery.transition.name
        if delivery.transition.recipient_id is not None:
            name += f":{delivery.transition.recipient_id}"
        with self.lock:
            self.transitions.append((delivery.envelope_id, name))

    def any(self, delivery: Delivery) -> None:
        """The ``on_any`` callback."""
        with self.lock:
            self.deliveries.append(delivery)

    def of(self, envelope: str) -> list[str]:
        """The transitions fired for ``envelope``, in order."""
        return [name for ident, name in self.transitions if ident == envelope]


def watch(receiver: Receiver) -> Calls:
    """Register a callback for every transition and ``on_any``; the log they fill."""
    calls = Calls()
    for status in ENVELOPE_STATUSES:
        receiver.on_transition("envelope", status)(calls.transition)
    for status in RECIPIENT_STATUSES:
        receiver.on_transition("recipient", status)(calls.transition)
    receiver.on_any(calls.any)
    return calls


def drain(receiver: Receiver) -> int:
    """Process batches until none is pending; how many events ran."""
    worker = receiver.worker(concurrency=8)
    total = 0
    while processed := worker.run_once():
        total += processed
    return total
