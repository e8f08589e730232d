"""A signed message is never answered 4xx for its content (issue 14 §1), at receiver level.

Signed bodies go in through the ASGI and WSGI middleware; the answers and what the store
keeps come out: odd secondary fields are stored with the field left empty, template and
click events are stored alone and routed, an envelope id made up from ``uri`` is a dead
letter. Only authentication and HTTP faults are refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connect_mw import (
    Delivery,
    MemoryStore,
    PayloadFormat,
    ProcessingState,
    Receiver,
    SQLiteStore,
    Store,
)
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from connect_mw.parse import parse
from connect_mw.replay import Replayed
from connect_mw.unparsed import unparsed_event
from support.deliveries import ACCOUNT, KEY, PATH, signed_headers, sim_body
from support.entry_points import ASGIClient, Client, WSGIClient, asgi_echo, wsgi_echo
from support.payloads import fixture_bytes

ENVELOPE = "e8b18544-c605-4499-abcf-52209a7f4438"
TEMPLATE = "0b5b8a3c-6f4e-4d7a-9d1e-2c3b4a5f6e7d"
CLICKWRAP = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def asgi(receiver: Receiver) -> Client:
    return ASGIClient(ConnectASGIMiddleware(asgi_echo, receiver=receiver), receiver)


def wsgi(receiver: Receiver) -> Client:
    return WSGIClient(ConnectWSGIMiddleware(wsgi_echo, receiver=receiver), receiver)


ADAPTERS = [asgi, wsgi]


def inline(store: Store | None = None) -> Receiver:
    return Receiver(hmac_keys=KEY, store=store or MemoryStore(), mode="inline")


def post(client: Client, body: bytes, **headers: str) -> tuple[int, Any]:
    return client.post(PATH, body, signed_headers(body, **headers))


def non_envelope_body(event: str, data: dict[str, Any], uri: str | None = None) -> bytes:
    message: dict[str, Any] = {
        "event": event,
        "apiVersion": "v2.1",
        "retryCount": 0,
        "configurationId": 10502729,
        "generatedDateTime": "2026-01-05T09:00:00.1234567Z",
        "data": {"accountId": ACCOUNT, "userId": "u-1", **data},
    }
    if uri is not None:
        message["uri"] = uri
    return json.dumps(message).encode()


# Secondary fields ---------------------------------------------------------------------


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.__name__)
def test_an_odd_routing_order_is_stored_with_the_field_left_empty(
    adapter: Callable[[Receiver], Client], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="connect_mw")
    receiver = inline()
    signer = {"recipientId": "1", "status": "completed", "routingOrder": "abc", "email": "a@x.io"}
    summary = {"status": "completed", "envelopeId": ENVELOPE, "recipients": {"signers": [signer]}}
    body = sim_body(summary=summary)
    status, answer = post(adapter(receiver), body)
    assert (status, answer["status"]) == (200, "accepted")
    state = receiver.store.get_envelope(ENVELOPE)
    assert state is not None and state.status is not None and state.status.value == "completed"
    (recipient,) = state.recipients
    assert (recipient.recipient_id, str(recipient.status)) == ("1", "completed")
    (event,) = receiver.store.list_events()
    assert receiver.store.get_event(event.key).raw == body  # type: ignore[union-attr]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "routingOrder" in warnings[0], warnings


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.__name__)
@pytest.mark.parametrize("literal", ["9" * 40, "1e400"])
def test_a_number_too_large_to_read_is_stored_with_the_field_left_empty(
    adapter: Callable[[Receiver], Client], literal: str
) -> None:
    """Not an unparsed dead letter: the message is recorded, folded and its callbacks run."""
    receiver = inline()
    seen: list[int | None] = []
    receiver.on_any(lambda d: seen.append(d.notification.recipients[0].routing_order))
    signer = {"recipientId": "1", "status": "completed", "routingOrder": "@", "email": "a@x.io"}
    summary = {"status": "completed", "envelopeId": ENVELOPE, "recipients": {"signers": [signer]}}
    body = sim_body(summary=summary).replace(b'"@"', literal.encode())
    status, answer = post(adapter(receiver), body)
    assert (status, answer["status"]) == (200, "accepted")
    assert not answer["key"].startswith("unparsed:")
    state = receiver.store.get_envelope(ENVELOPE)
    assert state is not None and state.status is not None and state.status.value == "completed"
    (event,) = receiver.store.list_events()
    assert event.processing is ProcessingState.PROCESSED and seen == [None]


def test_the_worker_does_not_log_the_warning_again(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="connect_mw")
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore())  # deferred: the worker re-parses
    seen: list[int | None] = []
    receiver.on_any(lambda d: seen.append(d.notification.recipients[0].routing_order))
    summary = {"status": "sent", "envelopeId": ENVELOPE, "recipients": {"signers": ["x", {}]}}
    assert post(asgi(receiver), sim_body(summary=summary))[0] == 200
    assert receiver.worker().run_once() == 1
    assert seen == [None]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "signers[0] must be an object" in warnings[0].getMessage()


# Events about no envelope -------------------------------------------------------------

NON_ENVELOPE = [
    ("template-created", {"templateId": TEMPLATE}, None, TEMPLATE),
    ("template-modified", {}, f"/restapi/v2.1/accounts/{ACCOUNT}/templates/{TEMPLATE}", TEMPLATE),
    ("template-deleted", {"templateId": TEMPLATE}, None, TEMPLATE),
    ("click-agreed", {"clickwrapId": CLICKWRAP, "agreementId": "ag-1"}, None, CLICKWRAP),
    ("click-declined", {"agreementId": "ag-2"}, None, "ag-2"),
    ("document-something-new", {}, None, None),
]


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.__name__)
@pytest.mark.parametrize(("event", "data", "uri", "subject"), NON_ENVELOPE)
def test_events_about_no_envelope_are_stored_alone_and_routed(
    adapter: Callable[[Receiver], Client],
    event: str,
    data: dict[str, Any],
    uri: str | None,
    subject: str | None,
) -> None:
    receiver = inline()
    named: list[Delivery] = []
    every: list[Delivery] = []
    receiver.on(event)(named.append)
    receiver.on_any(every.append)
    receiver.on_envelope_completed(lambda d: pytest.fail("no envelope callback"))
    body = non_envelope_body(event, data, uri)
    client = adapter(receiver)
    status, answer = post(client, body)
    assert (status, answer["status"]) == (200, "accepted")
    assert post(client, body)[1]["status"] == "duplicate"
    (stored,) = receiver.store.list_events()
    assert (stored.envelope_id, stored.event, stored.status) == ("", event, None)
    assert (stored.format, stored.processing) == (PayloadFormat.JSON_SIM, ProcessingState.PROCESSED)
    assert receiver.store.list_envelopes() == []
    assert len(named) == len(every) == 1
    n = named[0].notification
    assert (n.about_envelope, n.subject_id, n.status, n.recipients) == (False, subject, None, ())
    assert named[0].state.recipients == () and named[0].transition is None
    assert named[0].body["data"]["accountId"] == ACCOUNT


def test_events_about_no_envelope_through_a_worker_on_sqlite(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "events.sqlite3") as store:
        receiver = Receiver(hmac_keys=KEY, store=store)
        seen: list[str] = []
        receiver.on_any(lambda d: seen.append(d.notification.event))
        client = asgi(receiver)
        for event, data, uri, _ in NON_ENVELOPE:
            assert post(client, non_envelope_body(event, data, uri))[0] == 200
        assert post(client, sim_body())[0] == 200
        while receiver.worker().run_once():
            pass
        assert sorted(seen) == sorted([e for e, *_ in NON_ENVELOPE] + ["envelope-completed"])
        states = {e.processing for e in store.list_events()}
        assert states == {ProcessingState.PROCESSED}
        assert [s.envelope_id for s in store.list_envelopes()] == [ENVELOPE]


def test_two_agreements_to_one_clickwrap_are_two_events_and_retries_are_one() -> None:
    receiver = inline()
    client = asgi(receiver)
    for agreement in ("ag-1", "ag-2"):  # the same generatedDateTime: only data differs
        body = non_envelope_body(
            "click-agreed", {"clickwrapId": CLICKWRAP, "agreementId": agreement}
        )
        assert post(client, body)[1]["status"] == "accepted"
        retry = body.replace(b'"retryCount": 0', b'"retryCount": 1')
        assert retry != body and post(client, retry)[1]["status"] == "duplicate"
    assert len(receiver.store.list_events()) == 2


# The GUID rule ------------------------------------------------------------------------


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.__name__)
def test_an_envelope_id_made_up_from_uri_is_a_dead_letter(
    adapter: Callable[[Receiver], Client],
) -> None:
    receiver = inline()
    message = json.loads(sim_body())
    message["data"]["envelopeId"] = None
    message["uri"] = f"/restapi/v2.1/accounts/{ACCOUNT}/envelopes/x"
    status, answer = post(adapter(receiver), json.dumps(message).encode())
    assert status == 200 and answer["key"].startswith("unparsed:")
    (dead,) = receiver.store.list_events()
    assert (dead.format, dead.processing, dead.envelope_id) == (
        PayloadFormat.UNPARSED,
        ProcessingState.DEAD,
        "",
    )
    assert "not a GUID" in (dead.error or "")
    assert receiver.store.get_envelope("x") is None and receiver.store.list_envelopes() == []


def test_a_guid_from_uri_is_the_envelope() -> None:
    receiver = inline()
    message = json.loads(sim_body())
    del message["data"]["envelopeId"]
    assert post(asgi(receiver), json.dumps(message).encode())[0] == 200
    assert receiver.store.get_envelope(ENVELOPE) is not None


def test_ids_given_directly_need_not_be_guids() -> None:
    receiver = inline()
    assert post(asgi(receiver), sim_body(envelope_id="env-1"))[0] == 200
    assert receiver.store.get_envelope("env-1") is not None


# What is still refused: authentication and HTTP faults, before any parsing ---------------


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.__name__)
def test_unsigned_odd_bodies_are_refused_before_parsing(
    adapter: Callable[[Receiver], Client],
) -> None:
    receiver = inline()
    client = adapter(receiver)
    for body in (b"not json", non_envelope_body("click-agreed", {}), sim_body()):
        headers = signed_headers(body, key="another key")
        assert client.post(PATH, body, headers)[0] == 401
    assert receiver.store.list_events() == []


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.__name__)
def test_an_odd_xml_routing_order_is_stored_with_the_field_left_empty(
    adapter: Callable[[Receiver], Client],
) -> None:
    receiver = inline()
    original = fixture_bytes("xml_sent_pretty.xml")
    body = original.replace(b"<RoutingOrder>1<", b"<RoutingOrder>abc<", 1)
    status, answer = post(adapter(receiver), body, content_type="text/xml")
    assert (status, answer["status"]) == (200, "accepted")
    reference = parse(original)
    state = receiver.store.get_envelope(reference.envelope_id)
    assert state is not None and str(state.status) == "sent"
    orders = {r.recipient_id: r.routing_order for r in state.recipients}
    first, *others = reference.recipients
    assert orders == {first.recipient_id: None, **{r.recipient_id: r.routing_order for r in others}}


def test_a_dead_letter_from_before_the_upgrade_is_replayed_as_a_click_event() -> None:
    receiver = inline()
    body = non_envelope_body("click-agreed", {"clickwrapId": CLICKWRAP, "agreementId": "ag-9"})
    old = unparsed_event(body, "not an envelope event: click-agreed", ACCOUNT)
    receiver.store.commit(old, None, 0)
    agreed: list[str | None] = []
    receiver.on("click-agreed")(lambda d: agreed.append(d.notification.subject_id))
    assert receiver.replay(old.key) is Replayed.REPARSED
    while receiver.worker().run_once():
        pass
    assert agreed == [CLICKWRAP]
    stored = {e.key: e for e in receiver.store.list_events()}
    assert stored[old.key].processing is ProcessingState.PROCESSED
    (new,) = [e for k, e in stored.items() if k != old.key]
    assert (new.envelope_id, new.event) == ("", "click-agreed")
