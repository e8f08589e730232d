"""Signed bodies in through an ASGI and a WSGI entry point; form data, raw body, retention out.

A callback reads the value a signer typed (``form_value``), a recipient's tab, a section
the model keeps raw (``extras``) and any field of the raw message (``Delivery.body``), in
JSON and in XML. After retention purges the stored event, the same body posted again is a
duplicate: answered 200, nothing stored, no callback.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from connect_mw import Delivery
from connect_mw.stores import ProcessingState
from connect_mw.stores.api import utcnow
from support.deliveries import PATH, signed_headers, sim_body
from support.entry_points import Client, pure_asgi, pure_wsgi

ENVELOPE = "e8b18544-c605-4499-abcf-52209a7f4438"
SUMMARY = {
    "status": "completed",
    "envelopeId": ENVELOPE,
    "emailSubject": "Order form",
    "powerForm": {"powerFormId": "pf-77", "name": "Intake"},
    "recipients": {
        "signers": [
            {
                "recipientId": "1",
                "email": "ada@example.com",
                "name": "Ada",
                "status": "completed",
                "tabs": {
                    "textTabs": [{"tabLabel": "Company", "value": "ACME GmbH", "documentId": "1"}],
                    "checkboxTabs": [{"tabLabel": "Newsletter", "selected": "true"}],
                },
            }
        ]
    },
}
XML = b"""<?xml version="1.0" encoding="utf-8"?>
<DocuSignEnvelopeInformation xmlns="http://www.docusign.net/API/3.0">
  <EnvelopeStatus>
    <RecipientStatuses>
      <RecipientStatus>
        <Type>Signer</Type><Email>ada@example.com</Email><UserName>Ada</UserName>
        <RoutingOrder>1</RoutingOrder><Status>Completed</Status>
        <TabStatuses>
          <TabStatus><TabType>Custom</TabType><TabLabel>Company</TabLabel>
            <TabValue>ACME GmbH</TabValue><DocumentID>1</DocumentID><PageNumber>1</PageNumber>
          </TabStatus>
        </TabStatuses>
        <RecipientId>994d45c0-3d06-4174-9d53-70d15683c0e2</RecipientId>
      </RecipientStatus>
    </RecipientStatuses>
    <TimeGenerated>2026-01-05T09:00:00.1234567</TimeGenerated>
    <EnvelopeID>08740f95-2187-4b01-9a69-452ae3140752</EnvelopeID>
    <Subject>Order form</Subject>
    <Status>Completed</Status>
    <ACStatus>Original</ACStatus>
  </EnvelopeStatus>
</DocuSignEnvelopeInformation>
"""


@pytest.fixture(params=[pure_asgi, pure_wsgi], ids=lambda f: f.__name__)
def client(request: pytest.FixtureRequest) -> Client:
    factory: Callable[[], Client] = request.param
    return factory()


def post(client: Client, body: bytes, content_type: str = "application/json") -> int:
    status, _ = client.post(PATH, body, signed_headers(body, content_type=content_type))
    return status


def test_a_callback_reads_form_data_and_the_raw_json_message(client: Client) -> None:
    seen: list[Any] = []

    @client.receiver.on_envelope_completed
    def completed(d: Delivery) -> None:
        tab = d.notification.recipients[0].tab("Newsletter")
        seen.append(
            (
                d.notification.form_value("Company"),
                tab is not None and tab.selected,
                d.notification.extras["powerForm"]["powerFormId"],
                d.body["data"]["envelopeSummary"]["emailSubject"],
                d.body["configurationId"],
                d.raw,
            )
        )

    body = sim_body(summary=SUMMARY)
    assert post(client, body) == 200
    assert seen == [("ACME GmbH", True, "pf-77", "Order form", 10502729, body)]


def test_a_callback_reads_form_data_and_the_raw_xml_message(client: Client) -> None:
    seen: list[Any] = []

    @client.receiver.on_any
    def any_event(d: Delivery) -> None:
        status = d.body["DocuSignEnvelopeInformation"]["EnvelopeStatus"]
        tab_status = status["RecipientStatuses"]["RecipientStatus"]["TabStatuses"]["TabStatus"]
        seen.append(
            (d.notification.form_value("Company"), status["ACStatus"], tab_status["PageNumber"])
        )

    assert post(client, XML, "text/xml") == 200
    assert seen == [("ACME GmbH", "Original", "1")]


def test_a_purged_message_posted_again_is_a_duplicate(client: Client) -> None:
    calls: list[str] = []
    client.receiver.on_any(lambda d: calls.append(d.key))
    body = sim_body(summary=SUMMARY)
    assert post(client, body) == 200
    store = client.receiver.store
    (event,) = store.list_events()
    assert event.processing is ProcessingState.PROCESSED and calls == [event.key]
    assert store.purge(utcnow() + timedelta(seconds=1)) == 1
    assert post(client, body) == 200
    assert calls == [event.key]  # no second on_any
    (tombstone,) = store.list_events()
    assert tombstone.key == event.key and tombstone.processing is ProcessingState.PURGED
    stored = store.get_event(event.key)
    assert stored is not None and stored.raw is None
    state = store.get_envelope(ENVELOPE)
    assert state is not None and state.event_count == 1
