"""Enrichment: callbacks see the same ``Delivery`` for a minimal and a full Connect message."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import msgspec
import pytest

from connect_mw import Delivery, Receiver
from connect_mw.model import Notification
from connect_mw.parse import parse
from connect_mw.rest import (
    AsyncEnvelopeEnricher,
    AsyncESignClient,
    DocuSignSettings,
    EnvelopeEnricher,
    ESignClient,
)
from connect_mw.rest.enrich import needs_summary
from connect_mw.stores import MemoryStore, ProcessingState

from .conftest import Sleeps
from .fake_data import JSONObject, envelope_id, make_envelope
from .fake_esign import OTHER_ACCOUNT_ID, FakeESign
from .receivers import HMAC_KEY, connect_message, deliver, drain

ENVELOPE = envelope_id(1)


def _summary(fake: FakeESign, status: str = "completed") -> JSONObject:
    """Envelope 1 as DocuSign has it, and as a summary with recipients and custom fields."""
    envelope = make_envelope(1, status, fake.now() - timedelta(minutes=5))
    fake.add(envelope)
    return {key: value for key, value in envelope.items() if key != "envelopeDocuments"}


class Seen:
    """The deliveries of one receiver's ``on_any`` and ``envelope-completed`` callbacks."""

    def __init__(self, receiver: Receiver) -> None:
        self.any: list[Delivery] = []
        self.completed: list[Delivery] = []
        receiver.on_any(self.any.append)
        receiver.on_envelope_completed(self.completed.append)


def _received(body: bytes, **options: object) -> Seen:
    """Deliver ``body`` to a new receiver with ``options`` and run its callbacks."""
    receiver = Receiver(hmac_keys=HMAC_KEY, store=MemoryStore(), **options)  # type: ignore[arg-type]
    seen = Seen(receiver)
    deliver(receiver, body)
    drain(receiver)
    return seen


def _same(delivery: Delivery) -> Delivery:
    """The delivery with what the body's length changes (``raw_size``) left out."""
    notification = msgspec.structs.replace(delivery.notification, raw_size=0)
    return dataclasses.replace(delivery, notification=notification)


def _comparable(delivery: Delivery) -> tuple[Notification, str, object, int]:
    """What a callback sees of a delivery, less ``raw_size`` and the folded state."""
    same = _same(delivery)
    return same.notification, same.key, same.transition, same.attempt


def test_a_minimal_message_is_completed_like_a_full_one(
    fake: FakeESign, client: ESignClient
) -> None:
    summary = _summary(fake)
    full = _received(connect_message(summary))
    minimal_body = connect_message(summary, summary=False)
    enriched = _received(minimal_body, enrich=EnvelopeEnricher(client))
    plain = _received(minimal_body)

    assert [_comparable(d) for d in enriched.any] == [_comparable(d) for d in full.any]
    assert [_comparable(d) for d in enriched.completed] == [_comparable(d) for d in full.completed]
    notification = enriched.any[0].notification
    assert notification.subject == "Please sign contract 1" and len(notification.recipients) == 2
    assert notification.custom_fields[0].value == "A-1"
    assert notification.times.completed is not None and notification.sender is not None
    assert _comparable(plain.any[0]) != _comparable(full.any[0])  # what enrichment changes
    call = fake.api_calls(f"/envelopes/{ENVELOPE}")[-1]
    assert call.query == {"include": "recipients,custom_fields"}


def test_a_full_message_passes_through_untouched(fake: FakeESign, client: ESignClient) -> None:
    summary = _summary(fake)
    full = _received(connect_message(summary))
    enriched = _received(connect_message(summary), enrich=EnvelopeEnricher(client))
    assert [_same(d) for d in enriched.any] == [_same(d) for d in full.any]
    assert fake.api_calls() == []


def test_a_minimal_recipient_event_gets_every_recipient_and_the_status(
    fake: FakeESign, client: ESignClient
) -> None:
    summary = _summary(fake, "sent")
    event, recipient = "recipient-delivered", "1"
    full = _received(connect_message(summary, event=event, recipient_id=recipient))
    minimal = connect_message(summary, summary=False, event=event, recipient_id=recipient)
    enriched = _received(minimal, enrich=EnvelopeEnricher(client))
    assert [_comparable(d) for d in enriched.any] == [_comparable(d) for d in full.any]
    notification = enriched.any[0].notification
    assert (notification.status, notification.recipient_id) == ("sent", "1")
    assert [r.email for r in notification.recipients] == ["bob@example.com", "carol@example.com"]


def test_the_async_enricher_on_an_event_loop(
    fake: FakeESign, client: ESignClient, settings: DocuSignSettings
) -> None:
    summary = _summary(fake)
    full = _received(connect_message(summary))

    async def main() -> list[Delivery]:
        async with AsyncESignClient(settings, sleep=Sleeps().asleep) as async_client:
            enrich = AsyncEnvelopeEnricher(async_client)
            receiver = Receiver(hmac_keys=HMAC_KEY, store=MemoryStore(), enrich=enrich)
            seen = Seen(receiver)
            deliver(receiver, connect_message(summary, summary=False))
            assert await receiver.worker().arun_once() == 1
            return seen.any

    assert [_comparable(d) for d in asyncio.run(main())] == [_comparable(d) for d in full.any]


def test_a_failed_enrichment_is_retried_like_a_failing_callback(
    fake: FakeESign, client: ESignClient
) -> None:
    summary = _summary(fake)
    del fake.envelopes[ENVELOPE]  # DocuSign does not know it (yet)
    receiver = Receiver(hmac_keys=HMAC_KEY, store=MemoryStore(), enrich=EnvelopeEnricher(client))
    seen = Seen(receiver)
    key = deliver(receiver, connect_message(summary, summary=False))
    drain(receiver)
    event = receiver.store.get_event(key)
    assert event is not None and event.processing is ProcessingState.FAILED
    assert event.error is not None and "ENVELOPE_DOES_NOT_EXIST" in event.error
    assert seen.any == [] and seen.completed == []

    fake.add(make_envelope(1, "completed", fake.now() - timedelta(minutes=5)))
    assert event.next_attempt_at is not None
    assert receiver.worker().run_once(now=event.next_attempt_at) == 1  # the retry, when due
    assert [d.notification.subject for d in seen.completed] == ["Please sign contract 1"]
    assert seen.completed[0].attempt == 2


def test_an_envelope_of_another_account_is_not_fetched(
    fake: FakeESign, client: ESignClient
) -> None:
    body = connect_message(_summary(fake), summary=False, account_id=OTHER_ACCOUNT_ID)
    receiver = Receiver(hmac_keys=HMAC_KEY, store=MemoryStore(), enrich=EnvelopeEnricher(client))
    key = deliver(receiver, body, OTHER_ACCOUNT_ID)
    drain(receiver)
    event = receiver.store.get_event(key)
    assert event is not None and event.processing is ProcessingState.FAILED
    assert event.error is not None
    assert f"belongs to account {OTHER_ACCOUNT_ID}, but the DocuSign client acts for" in event.error
    assert fake.api_calls(f"/envelopes/{ENVELOPE}") == []


@pytest.mark.parametrize("summary", [True, False])
def test_needs_summary(fake: FakeESign, summary: bool) -> None:
    body = connect_message(_summary(fake), summary=summary)
    assert needs_summary(parse(body, "application/json")) is not summary
