"""The sans-I/O pipeline: Receiver.handle / ahandle turn a Request into a Response."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import anyio
import pytest

from connect_mw import ConfigurationError, Delivery, MemoryStore, ParseError, Receiver
from connect_mw.effects import drive
from connect_mw.http import Request
from connect_mw.model import EnvelopeState, PayloadFormat
from connect_mw.replay import Replayed
from connect_mw.stores import ProcessingState
from connect_mw.stores.api import Commit, StoredEvent
from support.deliveries import ACCOUNT, KEY, PATH, signed_request, sim_body


def make_receiver(**options: object) -> Receiver:
    options.setdefault("hmac_keys", KEY)
    options.setdefault("store", MemoryStore())
    options.setdefault("mode", "inline")
    return Receiver(**options)  # type: ignore[arg-type]


def body_of(response_body: bytes) -> dict[str, str]:
    return json.loads(response_body)  # type: ignore[no-any-return]


# Configuration -----------------------------------------------------------------------


def test_refuses_to_start_without_authentication() -> None:
    with pytest.raises(ConfigurationError, match="allow_unauthenticated"):
        Receiver(store=MemoryStore())


def test_unauthenticated_mode_must_be_explicit_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="connect_mw"):
        receiver = Receiver(store=MemoryStore(), allow_unauthenticated=True)
    assert "UNAUTHENTICATED" in caplog.text
    body = sim_body()
    response = receiver.handle(Request("POST", PATH, {"content-type": "application/json"}, body))
    assert response.status == 200


@pytest.mark.parametrize("bad", [{"path": "no-slash"}, {"max_body_size": 0}, {"read_timeout": 0}])
def test_invalid_configuration(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        make_receiver(**bad)


def test_default_store_is_sqlite_in_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    receiver = Receiver(hmac_keys=KEY)
    assert receiver.handle(signed_request(sim_body())).status == 200
    receiver.store.close()
    assert (tmp_path / "connect-mw.sqlite3").exists()


# Accepting and storing ---------------------------------------------------------------


def test_signed_notification_is_stored_and_queryable() -> None:
    receiver = make_receiver()
    response = receiver.handle(signed_request(sim_body(status="completed")))
    assert response.status == 200
    assert body_of(response.body)["status"] == "accepted"
    state = receiver.store.get_envelope("e8b18544-c605-4499-abcf-52209a7f4438")
    assert state is not None
    assert state.status == "completed"
    assert state.account_id == ACCOUNT
    events = receiver.store.list_events(state.envelope_id)
    assert [e.event for e in events] == ["envelope-completed"]
    assert events[0].processing is ProcessingState.PROCESSED


def test_retry_with_changed_retry_count_is_a_duplicate() -> None:
    receiver = make_receiver()
    first = receiver.handle(signed_request(sim_body(retry_count=0)))
    retry = receiver.handle(signed_request(sim_body(retry_count=3)))
    assert first.status == retry.status == 200
    assert body_of(retry.body) == {"status": "duplicate", "key": body_of(first.body)["key"]}
    assert len(receiver.store.list_events("e8b18544-c605-4499-abcf-52209a7f4438")) == 1


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (signed_request(sim_body(), key="wrong-key"), 401),
        (Request("POST", PATH, {"content-type": "application/json"}, sim_body()), 401),
        (signed_request(sim_body(), method="GET"), 405),
        (signed_request(sim_body(), content_type="text/plain"), 415),
        (signed_request(sim_body(), content_encoding="gzip"), 415),
        (signed_request(sim_body(), x_docusign_accountid="another-account"), 401),
    ],
)
def test_bad_requests_get_a_4xx_and_store_nothing(request_: Request, status: int) -> None:
    receiver = make_receiver()
    response = receiver.handle(request_)
    assert response.status == status
    assert "error" in body_of(response.body)
    assert receiver.store.list_envelopes() == []


def test_method_not_allowed_names_post() -> None:
    response = make_receiver().handle(signed_request(sim_body(), method="PUT"))
    assert ("allow", "POST") in response.headers


def test_oversized_body_is_413() -> None:
    receiver = make_receiver(max_body_size=100)
    assert receiver.handle(signed_request(sim_body())).status == 413


def test_missing_content_type_is_sniffed() -> None:
    body = sim_body()
    request = signed_request(body)
    headers = {k: v for k, v in request.headers.items() if k != "content-type"}
    assert make_receiver().handle(Request("POST", PATH, headers, body)).status == 200


def test_rejections_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="connect_mw"):
        receiver = make_receiver()
        receiver.handle(signed_request(sim_body(), key="nope"))
        receiver.handle(signed_request(sim_body()))
    assert "rejected 401 POST /docusign/connect" in caplog.text
    assert "received new envelope=e8b18544" in caplog.text
    assert KEY not in caplog.text


class BrokenStore(MemoryStore):
    def commit(self, event: StoredEvent, state: EnvelopeState | None, version: int) -> Commit:
        raise OSError("disk full")


class EverChangingStore(MemoryStore):
    """Another writer always commits first: every commit is a conflict."""

    def commit(self, event: StoredEvent, state: EnvelopeState | None, version: int) -> Commit:
        return Commit.CONFLICT


def test_store_failure_is_503_never_2xx() -> None:
    receiver = make_receiver(store=BrokenStore())
    response = receiver.handle(signed_request(sim_body()))
    assert response.status == 503
    response = anyio.run(receiver.ahandle, signed_request(sim_body()))
    assert response.status == 503


def test_endless_version_conflicts_are_503_not_a_loop() -> None:
    receiver = make_receiver(store=EverChangingStore())
    assert receiver.handle(signed_request(sim_body())).status == 503
    assert receiver.store.list_events() == []


def test_custom_key_func_and_broken_key_func() -> None:
    receiver = make_receiver(key_func=lambda n: f"mine:{n.envelope_id}:{n.event}")
    response = receiver.handle(signed_request(sim_body()))
    assert body_of(response.body)["key"].startswith("mine:")
    broken = make_receiver(key_func=lambda n: "")
    assert broken.handle(signed_request(sim_body())).status == 500
    assert broken.store.list_envelopes() == []


# Callbacks ---------------------------------------------------------------------------


def lifecycle(envelope_id: str = "env-1") -> list[bytes]:
    return [
        sim_body("envelope-sent", envelope_id, generated="2026-01-05T09:00:00Z", status="sent"),
        sim_body(
            "envelope-delivered", envelope_id, generated="2026-01-05T09:05:00Z", status="delivered"
        ),
        sim_body(
            "envelope-completed", envelope_id, generated="2026-01-05T09:10:00Z", status="completed"
        ),
    ]


def test_transition_callback_fires_once_despite_duplicates_and_disorder() -> None:
    receiver = make_receiver()
    completed: list[Delivery] = []
    sent: list[str] = []
    receiver.on_envelope_completed(completed.append)
    receiver.on_envelope_sent(lambda d: sent.append(d.envelope_id))
    sent_body, delivered_body, completed_body = lifecycle()
    for body in [completed_body, sent_body, completed_body, delivered_body, sent_body]:
        assert receiver.handle(signed_request(body)).status == 200
    assert [d.envelope_id for d in completed] == ["env-1"]
    assert sent == ["env-1"]
    state = receiver.store.get_envelope("env-1")
    assert state is not None and state.status == "completed"
    delivery = completed[0]
    assert delivery.transition is not None and delivery.transition.name == "envelope-completed"
    assert delivery.attempt == 1 and delivery.key


def test_event_callbacks_fire_per_unique_delivery() -> None:
    receiver = make_receiver()
    seen: list[str] = []
    receiver.on("envelope-corrected")(lambda d: seen.append("corrected"))
    receiver.on_any(lambda d: seen.append(d.notification.event))
    corrected = sim_body("envelope-corrected", "env-2")
    for body in [corrected, corrected, *lifecycle("env-2")]:
        receiver.handle(signed_request(body))
    assert seen == [
        "corrected",
        "envelope-corrected",
        "envelope-sent",
        "envelope-delivered",
        "envelope-completed",
    ]


def test_failing_callback_keeps_event_marked_failed() -> None:
    receiver = make_receiver()
    errors: list[BaseException] = []
    after: list[str] = []

    @receiver.on_envelope_completed
    def explode(delivery: Delivery) -> None:
        raise RuntimeError("CRM is down")

    receiver.on_any(lambda d: after.append("ran"))
    receiver.on_error(lambda d, exc: errors.append(exc))
    response = receiver.handle(signed_request(sim_body(status="completed")))
    assert response.status == 200
    assert after == ["ran"]
    assert [str(e) for e in errors] == ["CRM is down"]
    (event,) = receiver.store.list_events("e8b18544-c605-4499-abcf-52209a7f4438")
    stored = receiver.store.get_event(event.key)
    assert isinstance(stored, StoredEvent)
    assert stored.processing is ProcessingState.FAILED
    assert stored.error is not None and "RuntimeError: CRM is down" in stored.error
    assert "Traceback" in stored.error


def test_async_callbacks_under_ahandle_and_handle() -> None:
    receiver = make_receiver()
    seen: list[str] = []

    @receiver.on_envelope_completed
    async def completed(delivery: Delivery) -> None:
        await anyio.sleep(0)
        seen.append(delivery.envelope_id)

    receiver.on_envelope_sent(lambda d: seen.append("sync:" + d.envelope_id))
    sent_body, _, completed_body = lifecycle("env-a")
    assert anyio.run(receiver.ahandle, signed_request(completed_body)).status == 200
    assert receiver.handle(signed_request(lifecycle("env-b")[2])).status == 200
    anyio.run(receiver.ahandle, signed_request(sent_body))
    # The summaries carry no sentDateTime, so "sent" is first reached by its own message.
    assert seen == ["env-a", "env-b", "sync:env-a"]


def test_ahandle_matches_handle_for_every_outcome() -> None:
    sync_receiver, async_receiver = make_receiver(), make_receiver()
    requests = [
        signed_request(sim_body()),
        signed_request(sim_body(retry_count=1)),
        signed_request(sim_body(), key="bad"),
        signed_request(b"{}"),
        signed_request(sim_body(), method="GET"),
    ]
    for request in requests:
        expected = sync_receiver.handle(request)
        actual = anyio.run(async_receiver.ahandle, request)
        assert (actual.status, actual.body) == (expected.status, expected.body)


def test_xml_notification_takes_account_from_header() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><DocuSignEnvelopeInformation '
        b'xmlns="http://www.docusign.net/API/3.0"><EnvelopeStatus>'
        b"<TimeGenerated>2026-01-05T09:00:00.1234567</TimeGenerated>"
        b"<EnvelopeID>x-env-1</EnvelopeID><Status>Completed</Status>"
        b"<Completed>2026-01-05T08:59:00</Completed>"
        b"</EnvelopeStatus></DocuSignEnvelopeInformation>"
    )
    receiver = make_receiver()
    assert receiver.handle(signed_request(body, content_type="text/xml")).status == 200
    state = receiver.store.get_envelope("x-env-1")
    assert state is not None
    assert (state.status, state.account_id) == ("completed", ACCOUNT)
    assert state.updated_at == datetime.fromisoformat("2026-01-05T09:00:00.123456+00:00")
    assert state.status_at == datetime.fromisoformat("2026-01-05T08:59:00+00:00")  # entered


def test_callbacks_run_inside_the_call_context() -> None:
    receiver = make_receiver()
    trail: list[str] = []

    @contextlib.contextmanager
    def framework_context() -> Iterator[None]:
        trail.append("enter")
        yield
        trail.append("exit")

    receiver.call_context = framework_context
    receiver.on_any(lambda d: trail.append("callback"))
    receiver.handle(signed_request(sim_body()))
    anyio.run(receiver.ahandle, signed_request(sim_body("envelope-sent")))
    assert trail == ["enter", "callback", "exit"] * 2


@pytest.mark.parametrize(
    "body",
    [b'{"event": "envelope-sent", "data": ', b"\x00\x01garbage", b"<Envelope>", b""],
    ids=["truncated-json", "garbage", "truncated-xml", "empty"],
)
def test_a_signed_body_that_cannot_be_parsed_is_kept_as_a_dead_letter(
    body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = make_receiver()
    first = receiver.handle(signed_request(body))
    retry = anyio.run(receiver.ahandle, signed_request(body))
    assert (first.status, retry.status) == (200, 200)
    key = body_of(first.body)["key"]
    assert key.startswith("unparsed:")
    assert body_of(retry.body) == {"status": "duplicate", "key": key}
    (event,) = receiver.store.list_events(processing=ProcessingState.DEAD)
    assert (event.key, event.format, event.envelope_id, event.raw_size) == (
        key,
        PayloadFormat.UNPARSED,
        "",
        len(body),
    )
    assert event.error is not None and event.error.startswith("the signed body could not be parsed")
    assert receiver.store.list_envelopes() == []
    assert "cannot be parsed as dead letter" in caplog.text
    assert receiver.worker().run_once() == 0  # dead: nothing to claim


def test_replay_parses_a_dead_letter_again_once_the_parser_can() -> None:
    receiver = make_receiver()
    body = sim_body(status="completed")
    completed: list[str] = []
    receiver.on_envelope_completed(lambda d: completed.append(d.envelope_id))
    # Stored as unparsed (as an older version of the parser would have done).
    request = signed_request(body)
    outcome = drive(receiver._record_unparsed(request, ParseError("JSON: an old parser bug")))
    assert outcome.key.startswith("unparsed:")
    assert receiver.replay(outcome.key) is Replayed.REPARSED
    assert receiver.replay("no-such-key") is Replayed.UNKNOWN
    assert receiver.worker().run_once() == 1
    assert completed == ["e8b18544-c605-4499-abcf-52209a7f4438"]
    dead_letter = receiver.store.get_event(outcome.key)
    assert dead_letter is not None and dead_letter.processing is ProcessingState.PROCESSED
    assert dead_letter.error is not None and dead_letter.error.startswith("replayed as sim:")
    # The same delivery posted again is a duplicate of the replayed event.
    assert body_of(receiver.handle(request).body)["status"] == "duplicate"


def test_replay_leaves_a_still_unparsable_dead_letter_dead() -> None:
    receiver = make_receiver()
    response = receiver.handle(signed_request(b"{not json"))
    key = body_of(response.body)["key"]
    assert receiver.replay(key) is Replayed.STILL_UNPARSED
    (event,) = receiver.store.list_events()
    assert event.processing is ProcessingState.DEAD


@pytest.mark.parametrize("length", ["\u00b2", "1\u00b9", "\u0661\u0662"])  # "²", "1¹", Arabic 12
def test_a_content_length_of_non_ascii_digits_is_a_400(length: str) -> None:
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore())
    request = signed_request(sim_body(), content_length=length)
    response = receiver.handle(request)
    assert response.status == 400 and b"Content-Length" in response.body


@pytest.mark.parametrize(
    "option",
    [
        {"read_timeout": float("nan")},  # passed "<= 0": the body read was never cut off
        {"read_timeout": float("inf")},
        {"read_timeout": 0},
        {"max_body_size": float("nan")},  # passed "<= 0": no body was ever too large
        {"max_body_size": 0},
    ],
)
def test_body_limits_must_be_positive_and_finite(option: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError, match="max_body_size and read_timeout"):
        Receiver(hmac_keys=KEY, store=MemoryStore(), **option)  # type: ignore[arg-type]
