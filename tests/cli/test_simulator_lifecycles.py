"""The simulator sends everything DocuSign sends (issue 14 §5).

All 26 triggers, every recipient type, tabs in both formats, ClientUserId, DocumentStatuses,
XML with and without time zone elements and without ``<Voided>``; each lifecycle ends in the
state the receiver stores, for every trigger; a failing configuration holds messages back.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from connect_mw import MemoryStore, Receiver, parse
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from connect_mw.simulate import KINDS, Lifecycle, SimulatedMessage
from connect_mw.simulate.lifecycles import FORM_FIELDS, RECIPIENT_TYPES, every_event
from connect_mw.subscriptions import KNOWN_EVENTS
from connect_mw.testing.simulator import Simulator
from support.entry_points import ASGIClient, Client, WSGIClient, asgi_echo, wsgi_echo

KEY = "simulator-key-lifecycles"
URL = "http://connect.test/docusign/connect"
PATH = "/docusign/connect"


def every_kind(seed: int = 21) -> tuple[Simulator, list[Lifecycle]]:
    simulator = Simulator(KEY, seed=seed)
    return simulator, [simulator.lifecycle(kind) for kind in KINDS]


def test_the_lifecycles_produce_all_26_triggers() -> None:
    _, lifecycles = every_kind()
    assert every_event(lifecycles) == set(KNOWN_EVENTS)
    assert len(KNOWN_EVENTS) == 26


def asgi(receiver: Receiver) -> Client:
    return ASGIClient(ConnectASGIMiddleware(asgi_echo, receiver=receiver), receiver)


def wsgi(receiver: Receiver) -> Client:
    return WSGIClient(ConnectWSGIMiddleware(wsgi_echo, receiver=receiver), receiver)


def post_all(client: Client, messages: list[SimulatedMessage]) -> None:
    for message in messages:
        body = message.body()
        headers = {k.lower(): v for k, v in message.headers(body, (KEY,)).items()}
        status, answer = client.post(PATH, body, headers)
        assert (status, answer["status"]) == (200, "accepted"), (message.event, answer)


@pytest.mark.parametrize("adapter", [asgi, wsgi], ids=lambda a: a.__name__)
@pytest.mark.parametrize("payload_format", ["json", "json-minimal", "xml", "xml-no-time-zone"])
@pytest.mark.parametrize("event", KNOWN_EVENTS)
def test_each_trigger_ends_in_the_state_the_receiver_stores(
    adapter: Callable[[Receiver], Client], payload_format: str, event: str
) -> None:
    simulator, lifecycles = every_kind()
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), mode="inline")
    seen: list[str] = []
    receiver.on(event)(lambda d: seen.append(d.notification.event))
    messages = simulator.messages(*lifecycles, payload_format=payload_format, events=[event])
    post_all(adapter(receiver), messages)
    simulator.check(receiver.store, lifecycles, payload_format, events=[event])
    if payload_format.startswith("json"):  # XML names no event: it is derived from the status
        assert seen == [event] * len(messages) and messages


@pytest.mark.parametrize("payload_format", ["json", "json-minimal", "xml", "xml-no-time-zone"])
def test_every_lifecycle_with_every_event_ends_in_its_truth(payload_format: str) -> None:
    simulator, lifecycles = every_kind(seed=4)
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), mode="inline")
    messages = simulator.messages(*lifecycles, payload_format=payload_format)
    assert all(r.status == 200 for r in simulator.deliver(receiver, messages))
    simulator.check(receiver.store, lifecycles, payload_format)


@pytest.mark.parametrize("payload_format", ["json", "xml"])
def test_reassigned_and_delegated_recipients_are_replaced(payload_format: str) -> None:
    simulator = Simulator(KEY, seed=8)
    lifecycles = [simulator.lifecycle("reassigned"), simulator.lifecycle("delegated")]
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), mode="inline")
    simulator.deliver(receiver, simulator.messages(*lifecycles, payload_format=payload_format))
    for lifecycle in lifecycles:
        state = receiver.store.get_envelope(lifecycle.envelope_id)
        assert state is not None
        assert [str(r.status) for r in state.recipients if not r.removed] == ["completed"]
        assert len([r for r in state.recipients if r.removed]) == 1


@pytest.mark.parametrize("payload_format", ["json", "xml"])
def test_every_recipient_type_with_tabs_and_client_user_id(payload_format: str) -> None:
    simulator = Simulator(KEY, seed=9)
    everyone, embedded = simulator.lifecycle("every-recipient-type"), simulator.lifecycle()
    *_, last = simulator.messages(everyone, payload_format=payload_format)
    n = parse(last.body())
    assert [r.recipient_type for r in n.recipients] == list(RECIPIENT_TYPES)
    signing = [r for r in n.recipients if r.recipient_type == "signer"]
    assert signing[0].tabs and n.form_value("Company") == "ACME GmbH"
    assert {t.label: t.value for t in signing[0].tabs} == {label: v for _, label, v in FORM_FIELDS}
    *_, last = simulator.messages(embedded, payload_format=payload_format)
    (signer,) = parse(last.body()).recipients
    assert signer.client_user_id == embedded.parties[0].client_user_id is not None


def test_xml_follows_the_wsdl() -> None:
    simulator = Simulator(KEY, seed=10)
    voided, completed = simulator.lifecycle("voided"), simulator.lifecycle("completed")
    for message in simulator.messages(voided, completed, payload_format="xml"):
        body = message.body()
        assert b"<Voided>" not in body and b"<DocumentStatuses><DocumentStatus><ID>1</ID>" in body
        assert b"<TimeZoneOffset>-8</TimeZoneOffset>" in body
    *_, last = simulator.messages(voided, payload_format="xml")
    n = parse(last.body())
    assert (str(n.status), n.void_reason, n.times.voided) == ("voided", "Superseded by a "
        "corrected envelope.", None)  # fmt: skip
    for message in simulator.messages(voided, payload_format="xml-no-time-zone"):
        assert b"<TimeZone" not in message.body()


def test_template_and_click_messages_name_their_subject() -> None:
    simulator = Simulator(KEY, seed=12)
    template, clickwrap = simulator.lifecycle("template"), simulator.lifecycle("clickwrap")
    messages = simulator.messages(template, clickwrap)
    assert [m.event for m in messages] == [
        "template-created",
        "template-modified",
        "template-deleted",
        "click-agreed",
        "click-declined",
    ]
    subjects = [parse(m.body()).subject_id for m in messages]
    assert subjects == [template.subject_id] * 3 + [clickwrap.subject_id] * 2
    agreements = {json.loads(m.body())["data"]["agreementId"] for m in messages[3:]}
    assert len(agreements) == 2
    assert simulator.messages(template, clickwrap, payload_format="xml") == []


class FailingFirst:
    """A Connect endpoint that answers 503 to its first ``failures`` requests."""

    def __init__(self, receiver: Receiver, failures: int) -> None:
        self.inner = ConnectASGIMiddleware(receiver=receiver)
        self.failures = failures
        self.order: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        if self.failures > 0:
            self.failures -= 1
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"down"})
            return
        sent = json.loads(body)
        self.order.append((sent["generatedDateTime"], sent["event"]))

        async def again() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.inner(scope, again, send)


def test_hold_on_failure_holds_later_messages_then_flushes_them_in_order() -> None:
    simulator = Simulator(KEY, seed=13)
    lifecycles = simulator.lifecycles(6)
    messages = simulator.messages(*lifecycles)
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), mode="inline")
    app = FailingFirst(receiver, failures=2)
    report = simulator.send_sync(
        URL,
        messages,
        hold_on_failure=True,
        retry_delay=0,
        max_attempts=3,
        transport=httpx.ASGITransport(app=app),
    )
    assert (report.failed, report.held, report.retried) == (0, len(messages) - 1, 2)
    assert report.as_dict()["held"] == report.held and "held back" in report.summary()
    assert app.order == sorted(app.order) and len(app.order) == len(messages)
    simulator.check(receiver.store, lifecycles)


def test_without_hold_on_failure_nothing_is_held() -> None:
    simulator = Simulator(KEY, seed=13)
    messages = simulator.messages(*simulator.lifecycles(3))
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), mode="inline")
    transport = httpx.ASGITransport(app=FailingFirst(receiver, failures=1))
    report = simulator.send_sync(URL, messages, retry_delay=0, transport=transport)
    assert (report.held, report.retried, report.failed) == (0, 1, 0)


def test_hold_on_failure_excludes_shuffle() -> None:
    with pytest.raises(ValueError, match="excludes shuffle"):
        Simulator(KEY).options(URL, hold_on_failure=True, shuffle=True)
