"""The Connect simulator: bodies parse and verify, lifecycles fold to their truth whatever the
order and duplicates, delivery retries like DocuSign, the CLI and the pytest fixtures work."""

from __future__ import annotations

import io
import json
import random
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import anyio
import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from connect_mw import MemoryStore, Receiver, SQLiteStore, parse
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.cli import build_parser, main
from connect_mw.cli.simulate import build_messages
from connect_mw.keys import default_key
from connect_mw.simulate import (
    FORMATS,
    KINDS,
    Progress,
    Report,
    build_lifecycle,
    build_lifecycles,
)
from connect_mw.simulate.engine import DeliveryOptions, plan
from connect_mw.simulate.lifecycles import DECLINE_REASON, VOID_REASON
from connect_mw.simulate.messages import delivered as delivered_lifecycles
from connect_mw.subscriptions import DEFAULT_EVENTS, KNOWN_EVENTS
from connect_mw.testing.simulator import Simulator
from support.polling import wait_until

KEY = "simulator-key-3kQ8x"
URL = "http://connect.test/docusign/connect"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: Callable[[Scope, Receive, Send], object]) -> Iterator[str]:
    """Run ``app`` under a real uvicorn on a free port, in a thread."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, what="uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}/docusign/connect"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


class Recorder:
    """A Connect endpoint that records every body and may refuse some attempts first."""

    def __init__(self, store: MemoryStore, refuse: Callable[[dict[str, object]], bool]) -> None:
        self.inner = ConnectASGIMiddleware(receiver=Receiver(hmac_keys=KEY, store=store))
        self.refuse = refuse
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        self.bodies.append(body)
        if self.refuse(json.loads(body)):
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"try later"})
            return

        async def replay() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.inner(scope, replay, send)


@pytest.mark.parametrize("payload_format", FORMATS)
def test_every_message_parses_verifies_and_folds_to_the_truth(payload_format: str) -> None:
    simulator = Simulator(KEY, seed=11)
    lifecycles = [simulator.lifecycle(kind) for kind in KINDS]
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore())
    size = 3000 if payload_format == "xml" else None
    for message in simulator.messages(
        *lifecycles, payload_format=payload_format, document_size=size
    ):
        notification = parse(message.body(), message.content_type)
        assert notification.envelope_id == message.envelope_id
        assert notification.parse_warnings == ()
        if payload_format == "xml-no-time-zone":  # local time read as UTC: off by the offset
            offset = timedelta(hours=simulator.account.utc_offset_hours)
            assert notification.generated_at == message.moment.at + offset
        else:
            assert notification.generated_at == message.moment.at  # XML: local time + offset
        if payload_format.startswith("xml"):
            assert str(notification.status) == message.moment.status
        else:
            assert notification.event == message.event
        assert receiver.handle(message.request(simulator.hmac_keys)).status == 200
    simulator.check(receiver.store, lifecycles, payload_format)


def test_signatures_match_only_the_right_keys() -> None:
    simulator = Simulator(["old-key", "new-key"], seed=1)
    (message, *_) = simulator.messages(simulator.lifecycle())
    request = message.request(simulator.hmac_keys)
    assert {"x-docusign-signature-1", "x-docusign-signature-2"} <= set(request.headers)
    assert request.headers["x-docusign-accountid"] == simulator.account.account_id
    assert Receiver(hmac_keys="new-key", store=MemoryStore()).handle(request).status == 200
    assert Receiver(hmac_keys="other", store=MemoryStore()).handle(request).status == 401


@pytest.mark.parametrize("payload_format", FORMATS)
def test_shuffled_duplicated_deliveries_still_end_in_the_true_state(payload_format: str) -> None:
    simulator = Simulator(KEY, seed=5)
    lifecycles = simulator.lifecycles(24)
    messages = simulator.messages(*lifecycles, payload_format=payload_format)
    attempts = [(m, 0) for m in messages] + [(m, 1) for m in messages[::3]]
    random.Random(9).shuffle(attempts)
    store = MemoryStore()
    receiver = Receiver(hmac_keys=KEY, store=store)
    for message, retry in attempts:
        assert (
            receiver.handle(message.request(simulator.hmac_keys, retry_count=retry)).status == 200
        )
    assert len(store.list_events()) == len(messages)  # duplicates stored once
    simulator.check(store, lifecycles, payload_format)


def test_a_retry_is_the_same_event_with_retry_count_incremented() -> None:
    simulator = Simulator(KEY, seed=2)
    json_message, *_ = simulator.messages(simulator.lifecycle())
    first, retry = json_message.body(0), json_message.body(1)
    assert (json.loads(first)["retryCount"], json.loads(retry)["retryCount"]) == (0, 1)
    assert default_key(parse(first)) == default_key(parse(retry))
    xml_message, *_ = simulator.messages(simulator.lifecycle(), payload_format="xml")
    assert xml_message.body(0) == xml_message.body(3)  # XML carries no retryCount


@pytest.mark.parametrize("payload_format", ["json-documents", "xml"])
def test_documents_of_a_chosen_size(payload_format: str) -> None:
    simulator = Simulator(KEY, seed=4)
    messages = simulator.messages(
        simulator.lifecycle("completed"), payload_format=payload_format, document_size=5000
    )
    completed = parse(messages[-1].body(), messages[-1].content_type)
    content, certificate = completed.documents
    assert len(content.content()) == 5000 and content.content().startswith(b"%PDF-")
    assert (certificate.document_type, certificate.has_content) == ("summary", True)
    assert len(parse(messages[0].body(), messages[0].content_type).documents) == 1


@pytest.mark.parametrize("payload_format", ["json-summary", "xml"])
def test_reasons_and_routing_reach_the_state(payload_format: str) -> None:
    simulator = Simulator(KEY, seed=8)
    declined, voided, routing = (simulator.lifecycle(k) for k in ("declined", "voided", "routing"))
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore())
    messages = simulator.messages(declined, voided, routing, payload_format=payload_format)
    simulator.deliver(receiver, messages)
    store = receiver.store
    declined_state, voided_state = (store.get_envelope(lc.envelope_id) for lc in (declined, voided))
    assert declined_state is not None and declined_state.decline_reason == DECLINE_REASON
    assert voided_state is not None and voided_state.void_reason == VOID_REASON
    state = store.get_envelope(routing.envelope_id)
    assert state is not None
    kinds = sorted((r.routing_order, r.recipient_type) for r in state.recipients)
    assert kinds == [(1, "signer"), (2, "signer"), (3, "carbon_copy")]
    events = [(m.event, m.recipient_id) for m in routing.moments]
    assert events.index(("recipient-sent", "2")) > events.index(("recipient-completed", "1"))


def test_plan_keeps_each_envelopes_order_unless_shuffled() -> None:
    simulator = Simulator(KEY, seed=3)
    messages = simulator.messages(*simulator.lifecycles(4))
    lanes = plan(messages, DeliveryOptions(URL, duplicates=1.0), random.Random(0))
    assert len(lanes) == 4
    for lane in lanes:
        originals = [send.message for send in lane if not send.duplicate]
        assert originals == [m for m in messages if m.envelope_id == lane[0].message.envelope_id]
        assert all(send.first_retry_count == 1 for send in lane if send.duplicate)
        assert sum(send.duplicate for send in lane) == len(originals)
    shuffled = plan(messages, DeliveryOptions(URL, shuffle=True), random.Random(0))
    assert sorted(id(lane[0].message) for lane in shuffled) == sorted(id(m) for m in messages)
    assert [lane[0].message for lane in shuffled] != messages


def test_http_delivery_with_duplicates_and_shuffle() -> None:
    simulator = Simulator(KEY, seed=21)
    lifecycles = simulator.lifecycles(200)
    messages = simulator.messages(*lifecycles)
    store = MemoryStore()
    app = ConnectASGIMiddleware(receiver=Receiver(hmac_keys=KEY, store=store), run_worker=False)
    report = simulator.send_sync(
        URL, messages, duplicates=0.2, shuffle=True, concurrency=16,
        transport=httpx.ASGITransport(app=app),
    )  # fmt: skip
    assert report.failed == 0 and report.duplicates > 0
    assert report.total == len(messages) + report.duplicates == report.sent == report.acknowledged
    assert len(store.list_events()) == len(messages)
    simulator.check(store, lifecycles, "json")


def test_failures_are_retried_with_retry_count_incremented() -> None:
    simulator = Simulator(KEY, seed=6)
    lifecycles = simulator.lifecycles(12)
    messages = simulator.messages(*lifecycles)
    store = MemoryStore()
    recorder = Recorder(store, lambda m: m["event"] == "envelope-delivered" and not m["retryCount"])
    report = simulator.send_sync(
        URL, messages, retry_delay=0, transport=httpx.ASGITransport(app=recorder)
    )
    refused = sum(m.event == "envelope-delivered" for m in messages)
    assert (report.retried, report.responses["503"], report.failed) == (refused, refused, 0)
    delivered = [json.loads(b) for b in recorder.bodies if b'"envelope-delivered"' in b]
    per_event: dict[tuple[str, str], list[object]] = {}
    for body in delivered:
        event = (body["data"]["envelopeId"], body["generatedDateTime"])
        per_event.setdefault(event, []).append(body["retryCount"])
    assert all(counts == [0, 1] for counts in per_event.values()) and len(per_event) == refused
    simulator.check(store, lifecycles, "json")


def test_attempts_are_bounded() -> None:
    simulator = Simulator(KEY, seed=7)
    messages = simulator.messages(simulator.lifecycle("voided"))
    recorder = Recorder(MemoryStore(), lambda m: True)
    transport = httpx.ASGITransport(app=recorder)

    async def send() -> Report:  # the async API, from a running event loop
        return await simulator.send(
            URL, messages, max_attempts=2, retry_delay=0, transport=transport
        )

    report = anyio.run(send)
    assert (report.failed, report.acknowledged) == (len(messages), 0)
    assert report.sent == len(recorder.bodies) == 2 * len(messages)


def test_a_timeout_is_a_failure_that_is_retried() -> None:
    store = MemoryStore()
    inner = ConnectASGIMiddleware(receiver=Receiver(hmac_keys=KEY, store=store), run_worker=False)
    seen: set[bytes] = set()

    async def slow_first(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            marker = bytes(dict(scope["headers"])[b"x-docusign-signature-1"])
            if marker not in seen:  # the first attempt of each body hangs past the timeout
                seen.add(marker)
                await anyio.sleep(2)
        await inner(scope, receive, send)

    simulator = Simulator(KEY, seed=12)
    lifecycle = simulator.lifecycle("completed")
    messages = simulator.messages(lifecycle, payload_format="xml")[:2]
    with serving(slow_first) as url:
        report = simulator.send_sync(url, messages, timeout=0.3, retry_delay=0)
    assert report.responses["timeout"] == 2 and report.failed == 0 and report.retried == 2
    assert len(store.list_events()) == 2


def test_unreachable_listener_counts_as_failed() -> None:
    simulator = Simulator(KEY, seed=13)
    messages = simulator.messages(simulator.lifecycle())[:3]
    url = f"http://127.0.0.1:{free_port()}/docusign/connect"
    report = simulator.send_sync(url, messages, max_attempts=2, retry_delay=0)
    assert (report.failed, report.sent, report.retried) == (3, 6, 3)
    assert report.responses["ConnectError"] == 6


def test_cli_simulate_against_a_real_server(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    store = SQLiteStore(f"{tmp_path}/events.sqlite3")
    app = ConnectASGIMiddleware(receiver=Receiver(hmac_keys=KEY, store=store), run_worker=False)
    argv = ["simulate", "--hmac-key", KEY, "--envelopes", "30", "--duplicates", "0.2"]
    argv += ["--shuffle", "--seed", "3", "--format", "xml", "--no-progress", "--json"]
    with serving(app) as url:
        assert main([*argv, "--url", url]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["envelopes"], summary["failed"], summary["retried"]) == (30, 0, 0)
    assert summary["acknowledged"] == summary["sent"] and summary["p50_ms"] is not None
    # the default: what the default event-notification subscribes to, from every lifecycle
    # that has such an event (XML: no template or click events)
    sample = [build_lifecycle(kind, rng=random.Random(0)) for kind in KINDS]
    kinds = tuple(lc.kind for lc in delivered_lifecycles(sample, "xml", DEFAULT_EVENTS))
    assert "template" not in kinds and "every-recipient-type" in kinds
    lifecycles = build_lifecycles(30, kinds, rng=random.Random(3))  # same seed, same envelopes
    assert Simulator.mismatches(store, lifecycles, "xml", DEFAULT_EVENTS) == []
    assert {e.event for e in store.list_events(limit=1000)} <= set(DEFAULT_EVENTS)
    store.close()


def test_default_cli_messages_are_the_default_subscriptions() -> None:
    args = build_parser().parse_args(["simulate", "--url", URL, "--seed", "5"])
    _, messages = build_messages(args)
    assert {m.event for m in messages} == set(DEFAULT_EVENTS)
    for message in messages:  # JSON with the summary: the examples print a subject
        summary = json.loads(message.body())["data"]["envelopeSummary"]
        assert summary["emailSubject"] and summary["recipients"]["signers"]
        assert parse(message.body()).subject == message.lifecycle.subject


def test_all_events_and_chosen_events_from_the_cli() -> None:
    args = build_parser().parse_args(
        ["simulate", "--url", URL, "--all-events", "--envelopes", "18"]
    )
    count, messages = build_messages(args)
    assert count == len(KINDS) and {m.event for m in messages} == set(KNOWN_EVENTS)
    argv = ["simulate", "--url", URL, "--event", "click-agreed", "--event", "envelope-purge"]
    count, messages = build_messages(build_parser().parse_args(argv))
    assert count == 10 and {m.event for m in messages} == {"click-agreed", "envelope-purge"}


def test_cli_simulate_exits_1_when_messages_fail(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    argv = ["simulate", "--url", url, "--envelopes", "1", "--max-attempts", "1"]
    assert main([*argv, "--lifecycle", "voided", "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "failed        5" in captured.out and "no --hmac-key" in captured.err


def test_report_percentiles_and_progress() -> None:
    report = Report(total=4)
    for number, latency in enumerate([0.004, 0.001, 0.003, 0.002]):
        report.record("200", latency, ok=True, retry=False, duplicate=number == 3)
        report.delivered += 1
    assert (report.percentile(50), report.percentile(99)) == (0.002, 0.004)
    assert report.as_dict()["duplicates"] == 1 and "p50 2.0 ms" in report.summary()
    stream = io.StringIO()
    progress = Progress(stream, width=8)
    progress.update(report)
    progress.close(report)
    assert stream.getvalue().splitlines()[-1].startswith("[########] 4/4  ok 4")


def test_pytest_fixtures(connect_receiver: Receiver, connect_simulator: Simulator) -> None:
    archived: list[str] = []
    connect_receiver.on_envelope_completed(lambda delivery: archived.append(delivery.envelope_id))
    lifecycle = connect_simulator.lifecycle("routing")
    answers = connect_simulator.deliver(
        connect_receiver, connect_simulator.messages(lifecycle, payload_format="json-summary")
    )
    assert {answer.status for answer in answers} == {200}
    assert archived == [lifecycle.envelope_id]
