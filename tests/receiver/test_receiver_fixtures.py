"""Every payload fixture, signed and posted, is stored with the state its body describes."""

from __future__ import annotations

import pytest

from connect_mw import Delivery, MemoryStore, Receiver, parse
from support.deliveries import ACCOUNT, KEY, signed_request
from support.payloads import fixture_bytes, fixture_names


def content_type(name: str) -> str:
    return "text/xml; charset=utf-8" if name.endswith(".xml") else "application/json"


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_is_accepted_and_folded(name: str) -> None:
    body = fixture_bytes(name)
    expected = parse(body, content_type(name).split(";")[0])
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), mode="inline")
    account = expected.account_id or ACCOUNT  # the header names the body's own account
    request = signed_request(body, content_type=content_type(name), x_docusign_accountid=account)
    response = receiver.handle(request)
    assert response.status == 200, response.body
    state = receiver.store.get_envelope(expected.envelope_id)
    assert state is not None
    if expected.status is not None:
        assert state.status == expected.status
    assert {r.recipient_id for r in state.recipients} == {
        r.recipient_id for r in expected.recipients
    }


def test_aggregate_message_fires_both_recipient_transitions() -> None:
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), mode="inline")
    completed: list[str | None] = []
    sent: list[str | None] = []
    receiver.on_recipient_completed(
        lambda d: completed.append(d.transition and d.transition.recipient_id)
    )
    receiver.on_recipient_sent(lambda d: sent.append(d.transition and d.transition.recipient_id))
    body = fixture_bytes("xml_aggregate_signer1_completed_signer2_sent.xml")
    assert receiver.handle(signed_request(body, content_type="text/xml")).status == 200
    signer1 = "0a1b2c3d-0001-4e5f-a6b7-c8d9e0f1a2b3"
    signer2 = "0a1b2c3d-0002-4e5f-a6b7-c8d9e0f1a2b3"
    assert completed == [signer1]
    assert signer2 in sent
    state = receiver.store.get_envelope("6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f")
    assert state is not None
    one, two = state.recipient(signer1), state.recipient(signer2)
    assert one is not None and one.status == "completed"
    assert two is not None and two.status == "sent"


def test_pretty_and_single_line_xml_are_one_event() -> None:
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), mode="inline")
    seen: list[Delivery] = []
    receiver.on_any(seen.append)
    for name in ["xml_sent_pretty.xml", "xml_sent_single_line.xml"]:
        request = signed_request(fixture_bytes(name), content_type="text/xml")
        assert receiver.handle(request).status == 200
    assert len(seen) == 1


def test_documents_stay_encoded_until_asked() -> None:
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), mode="inline")
    documents: list[bytes] = []
    receiver.on_envelope_completed(
        lambda d: documents.extend(doc.content() for doc in d.notification.documents)
    )
    body = fixture_bytes("xml_completed_documents.xml")
    assert receiver.handle(signed_request(body, content_type="text/xml")).status == 200
    assert fixture_bytes("fake_contract.pdf") in documents
    assert fixture_bytes("fake_certificate.pdf") in documents
