"""Corrections, reassignments and resends at the receiver: bodies in, state and callbacks out.

Each scenario goes through a pure ASGI and a pure WSGI entry point, in order and shuffled
with retries mixed in: the stored state and the callbacks fired are the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from connect_mw.routing import Delivery
from support.deliveries import PATH, signed_headers, sim_body
from support.entry_points import Client, pure_asgi, pure_wsgi

ENVELOPE = "5d1c0a3e-2b4f-4c6d-8e9f-0a1b2c3d4e5f"
ENTRY_POINTS = [pure_asgi, pure_wsgi]


def stamp(minute: int) -> str:
    return f"2026-01-05T09:{minute:02d}:00.0000000Z"


def signer(rid: str, status: str, email: str, **times: int) -> dict[str, Any]:
    """A ``signers[]`` entry; ``times`` maps ``sent``/``delivered``/... to minutes."""
    entry: dict[str, Any] = {
        "recipientId": rid,
        "recipientIdGuid": f"00000000-0000-4000-8000-00000000000{rid}",
        "email": email,
        "name": email.split("@", maxsplit=1)[0].title(),
        "status": status,
        "routingOrder": "1",
    }
    for name, minute in times.items():
        entry[f"{name}DateTime"] = stamp(minute)
    return entry


def message(event: str, minute: int, status: str, *signers: dict[str, Any], **times: int) -> bytes:
    """A SIM message at ``minute`` whose summary lists every signer."""
    summary: dict[str, Any] = {
        "envelopeId": ENVELOPE,
        "status": status,
        "emailSubject": "Lease",
        "statusChangedDateTime": stamp(times.pop("changed", minute)),
        "recipients": {"signers": list(signers), "carbonCopies": []},
    }
    for name, at in times.items():
        summary[f"{name}DateTime"] = stamp(at)
    return sim_body(event, ENVELOPE, generated=stamp(minute), summary=summary)


def correction_after_delivery() -> list[bytes]:
    """Ann opens it; the sender corrects it (Bob replaced by Cy, Ann sent again); Ann opens it.

    The example of docs/callbacks.md ("The re-entry rule on a timeline").
    """
    ann, bob, cy = "ann@example.com", "bob@example.com", "cy@example.com"
    return [
        message(
            "envelope-sent",
            1,
            "sent",
            signer("1", "sent", ann, sent=1),
            signer("2", "created", bob),
            sent=1,
        ),
        message(
            "envelope-delivered",
            2,
            "delivered",
            signer("1", "delivered", ann, sent=1, delivered=2),
            signer("2", "created", bob),
            sent=1,
            delivered=2,
        ),
        message(
            "envelope-corrected",
            5,
            "sent",
            signer("1", "sent", ann, sent=5),
            signer("3", "created", cy),
            sent=5,
        ),
        message(
            "recipient-delivered",
            7,
            "delivered",
            signer("1", "delivered", ann, sent=5, delivered=7),
            signer("3", "created", cy),
            sent=5,
            delivered=7,
        ),
    ]


def post(client: Client, body: bytes) -> None:
    status, _ = client.post(PATH, body, signed_headers(body))
    assert status == 200


def record_transitions(client: Client) -> list[tuple[str, str | None]]:
    fired: list[tuple[str, str | None]] = []

    def note(delivery: Delivery) -> None:
        assert delivery.transition is not None
        fired.append((delivery.transition.name, delivery.transition.recipient_id))

    receiver = client.receiver
    for register in (
        receiver.on_envelope_sent,
        receiver.on_envelope_delivered,
        receiver.on_recipient_sent,
        receiver.on_recipient_delivered,
        receiver.on_recipient_removed,
        receiver.on_transition("recipient", "created"),
    ):
        register(note)
    return fired


def retried(body: bytes) -> bytes:
    return body.replace(b'"retryCount": 0', b'"retryCount": 1')


@pytest.mark.parametrize("make", ENTRY_POINTS, ids=["asgi", "wsgi"])
@pytest.mark.parametrize("order", [[0, 1, 2, 3], [2, 0, 3, 1], [3, 2, 1, 0]])
def test_a_correction_after_delivery_fires_again_and_removes_the_replaced_signer(
    make: Callable[[], Client], order: list[int]
) -> None:
    client = make()
    fired = record_transitions(client)
    bodies = correction_after_delivery()
    for i in order:
        post(client, bodies[i])
    for body in bodies:
        post(client, retried(body))  # DocuSign's retries: duplicates, nothing fires
    assert Counter(fired) == Counter(
        {
            ("envelope-sent", None): 2,
            ("envelope-delivered", None): 2,
            ("recipient-sent", "1"): 2,
            ("recipient-delivered", "1"): 2,
            ("recipient-removed", "2"): 1,
            ("recipient-created", "2"): 1,
            ("recipient-created", "3"): 1,
        }
    )
    state = client.receiver.store.get_envelope(ENVELOPE)
    assert state is not None
    assert (state.status, state.event_count) == ("delivered", 4)
    assert [r.email for r in state.active_recipients] == ["ann@example.com", "cy@example.com"]
    bob = state.recipient("2")
    assert bob is not None and bob.removed and bob.status == "created"


def xml_body(status: str, generated: str, **times: str) -> bytes:
    elements = "".join(f"<{name}>{value}</{name}>" for name, value in times.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?><DocuSignEnvelopeInformation '
        'xmlns="http://www.docusign.net/API/3.0"><EnvelopeStatus><RecipientStatuses>'
        "<RecipientStatus><Type>Signer</Type><Email>ann@example.com</Email>"
        "<UserName>Ann</UserName><RoutingOrder>1</RoutingOrder><Status>Completed</Status>"
        "<Signed>2026-01-05T09:03:00</Signed>"
        "<RecipientId>00000000-0000-4000-8000-000000000001</RecipientId></RecipientStatus>"
        f"</RecipientStatuses><TimeGenerated>{generated}</TimeGenerated>"
        f"<EnvelopeID>{ENVELOPE}</EnvelopeID><Status>{status}</Status>{elements}"
        "</EnvelopeStatus></DocuSignEnvelopeInformation>"
    ).encode()


@pytest.mark.parametrize("make", ENTRY_POINTS, ids=["asgi", "wsgi"])
def test_xml_deleted_after_completed_and_nothing_after_it(make: Callable[[], Client]) -> None:
    client = make()
    fired: list[str] = []
    client.receiver.on_envelope_completed(lambda d: fired.append("completed"))
    client.receiver.on_transition("envelope", "deleted")(lambda d: fired.append("deleted"))
    client.receiver.on_envelope_sent(lambda d: fired.append("sent"))
    completed = xml_body("Completed", "2026-01-05T09:04:00", Completed="2026-01-05T09:03:30")
    deleted = xml_body(
        "Deleted",
        "2026-01-05T10:00:00",
        Completed="2026-01-05T09:03:30",
        Deleted="2026-01-05T10:00:00",
    )
    late_sent = xml_body("Sent", "2026-01-05T11:00:00", Sent="2026-01-05T11:00:00")
    for body in (deleted, completed, late_sent):
        status, _ = client.post(PATH, body, signed_headers(body, content_type="text/xml"))
        assert status == 200
    assert sorted(fired) == ["completed", "deleted"]
    state = client.receiver.store.get_envelope(ENVELOPE)
    assert state is not None and state.status == "deleted"
    assert state.reached == {"completed", "deleted"}


def test_the_documented_timeline_fires_what_it_says() -> None:
    client = pure_wsgi()
    fired = record_transitions(client)
    client.receiver.on_envelope_completed(lambda d: fired.append(("envelope-completed", None)))
    per_message = []
    for body in correction_after_delivery():
        post(client, body)
        per_message.append(sorted(fired, key=str))
        fired.clear()
    assert per_message == [
        sorted(
            [("envelope-sent", None), ("recipient-sent", "1"), ("recipient-created", "2")], key=str
        ),
        sorted([("envelope-delivered", None), ("recipient-delivered", "1")], key=str),
        sorted(
            [
                ("envelope-sent", None),
                ("recipient-sent", "1"),
                ("recipient-created", "3"),
                ("recipient-removed", "2"),
            ],
            key=str,
        ),
        sorted([("envelope-delivered", None), ("recipient-delivered", "1")], key=str),
    ]
