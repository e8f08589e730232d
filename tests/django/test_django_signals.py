"""Django signals mirror the callbacks: sent once per transition, with the ``Delivery``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from support import django_settings

django_settings.setup()

from django.dispatch import Signal  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from connect_mw import Delivery, Receiver, parse  # noqa: E402
from connect_mw.adapters.django import get_receiver, signals  # noqa: E402
from connect_mw.adapters.django.models import Event  # noqa: E402
from connect_mw.adapters.django.signals import signal_router  # noqa: E402
from connect_mw.routing import Router  # noqa: E402
from support.deliveries import KEY, PATH, signed_request, sim_body  # noqa: E402
from support.django_settings import client_headers  # noqa: E402
from support.payloads import fixture_bytes  # noqa: E402
from support.polling import wait_until  # noqa: E402

AGGREGATE = "xml_aggregate_signer1_completed_signer2_sent.xml"


@pytest.fixture(autouse=True)
def empty_tables() -> Iterator[None]:
    django_settings.reset_tables()
    yield


class Heard:
    """Records what the receivers of some signals were sent."""

    def __init__(self, *watched: Signal) -> None:
        self.calls: list[tuple[Signal, Any, Delivery]] = []
        self.watched = watched

    def __call__(self, signal: Signal, sender: Any, delivery: Delivery, **kwargs: Any) -> None:
        self.calls.append((signal, sender, delivery))

    def __enter__(self) -> Heard:
        for signal in self.watched:
            signal.connect(self, weak=False)
        return self

    def __exit__(self, *exc: object) -> None:
        for signal in self.watched:
            signal.disconnect(self)

    def signals(self) -> list[Signal]:
        return [signal for signal, _, _ in self.calls]


def post(body: bytes) -> int:
    content_type, headers = client_headers(body)
    response = Client().post(PATH, data=body, content_type=content_type, headers=headers)
    return int(response.status_code)


def test_transition_and_event_signals_are_sent_once_with_the_delivery() -> None:
    watched = (signals.envelope_sent, signals.envelope_completed, signals.connect_event)
    with Heard(*watched) as heard:
        assert post(sim_body("envelope-sent", status="sent", generated="2026-01-04T09:00Z")) == 200
        assert post(sim_body(status="completed")) == 200
        assert post(sim_body(status="completed", retry_count=1)) == 200  # a duplicate
    assert heard.signals() == [
        signals.envelope_sent,
        signals.connect_event,
        signals.envelope_completed,
        signals.connect_event,
    ]
    _, sender, delivery = heard.calls[2]
    assert sender is get_receiver()
    assert delivery.transition is not None and delivery.transition.name == "envelope-completed"
    assert delivery.envelope_id == "e8b18544-c605-4499-abcf-52209a7f4438"


def test_recipient_signals_carry_their_recipient() -> None:
    body = fixture_bytes(AGGREGATE)
    parsed = parse(body, "text/xml")
    account = parsed.account_id or ""
    request = signed_request(body, content_type="text/xml", x_docusign_accountid=account)
    with Heard(signals.recipient_completed, signals.recipient_sent) as heard:
        assert get_receiver().handle(request).status == 200
    moves = [d.transition for _, _, d in heard.calls]
    transitions = {(t.name, t.recipient_id) for t in moves if t is not None}
    first, second = (r.recipient_id for r in parsed.recipients)
    assert len(moves) == 3
    assert transitions == {
        ("recipient-sent", first),
        ("recipient-completed", first),
        ("recipient-sent", second),
    }


def test_a_failing_receiver_fails_the_event_after_every_receiver_ran() -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("receiver broke")

    signals.envelope_completed.connect(broken)
    try:
        with Heard(signals.envelope_completed) as heard:
            assert post(sim_body(status="completed")) == 200
    finally:
        signals.envelope_completed.disconnect(broken)
    assert len(heard.calls) == 1
    event = Event.objects.get()
    assert event.processing == "failed"
    assert event.error is not None and "receiver broke" in event.error


def test_deferred_mode_sends_signals_from_the_in_process_worker() -> None:
    config = {"HMAC_KEYS": [KEY], "MODE": "deferred", "POLL_INTERVAL": 0.05}
    before = set(threading.enumerate())
    with override_settings(CONNECT_MW=config), Heard(signals.envelope_completed) as heard:
        assert post(sim_body(status="completed")) == 200
        wait_until(lambda: Event.objects.filter(processing="processed").exists(), what="worker")
        started = [t for t in threading.enumerate() if t not in before]
    assert len(heard.calls) == 1
    assert [t.name for t in started] == ["connect-mw-worker"]
    assert not started[0].is_alive()  # stopped when the settings changed back


def test_the_receivers_own_callbacks_run_before_the_signals() -> None:
    order: list[str] = []

    def signal_receiver(**kwargs: Any) -> None:
        order.append("signal")

    with override_settings(CONNECT_MW={"HMAC_KEYS": [KEY], "MODE": "inline"}):
        receiver = get_receiver()
        receiver.on_envelope_completed(lambda delivery: order.append("callback"))
        signals.envelope_completed.connect(signal_receiver)
        try:
            assert post(sim_body(status="completed")) == 200
        finally:
            signals.envelope_completed.disconnect(signal_receiver)
    assert order == ["callback", "signal"]
    assert get_receiver() is not receiver  # the callback left with its settings


def test_signal_router_composes_into_any_router() -> None:
    sender = object()
    router = Router(signal_router(sender))
    receiver = Receiver(hmac_keys=KEY, store="memory://", mode="inline", router=router)
    with Heard(signals.envelope_completed, signals.connect_event) as heard:
        assert receiver.handle(signed_request(sim_body(status="completed"))).status == 200
    assert heard.signals() == [signals.envelope_completed, signals.connect_event]
    assert all(s is sender for _, s, _ in heard.calls)


def test_every_transition_shortcut_has_a_signal() -> None:
    receiver = Receiver(hmac_keys=KEY, store="memory://")
    shortcuts = [name for name in dir(receiver) if name.startswith(("on_envelope_", "on_recip"))]
    expected = {name.removeprefix("on_").replace("_", "-", 1) for name in shortcuts}
    assert set(signals.TRANSITION_SIGNALS) == expected
