"""One behaviour suite over every way of mounting a receiver.

Each entry point is a factory returning a :class:`Client`: the same requests must give the
same answers and the same stored results whichever adapter and framework carry them. To add
an entry point (Django, …), write one factory and append it to ``ENTRY_POINTS``.

Receivers run in inline mode so callbacks have run when the answer arrives; deferred
processing under real servers is covered by ``test_framework_examples.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from connect_mw import Delivery, Receiver
from support.deliveries import ACCOUNT, PATH, signed_headers, sim_body
from support.entry_points import ENTRY_POINTS, LIMIT, Client, Reply
from support.payloads import fixture_bytes


@pytest.fixture(params=ENTRY_POINTS, ids=lambda factory: factory.__name__)
def client(request: pytest.FixtureRequest) -> Client:
    factory: Callable[[], Client] = request.param
    return factory()


@pytest.fixture
def fired(client: Client) -> list[Delivery]:
    """Every delivery an ``on_any`` callback of the entry point's receiver saw."""
    deliveries: list[Delivery] = []
    client.receiver.on_any(deliveries.append)
    return deliveries


def stored(receiver: Receiver) -> list[tuple[str, str | None, list[str]]]:
    """(envelope id, status, processing state of each stored event) per stored envelope."""
    return sorted(
        (
            state.envelope_id,
            state.status.value if state.status else None,
            [event.processing.value for event in receiver.store.list_events(state.envelope_id)],
        )
        for state in receiver.store.list_envelopes()
    )


ENVELOPE = "e8b18544-c605-4499-abcf-52209a7f4438"
XML_ENVELOPE = "3f2b9c1e-7a4d-4e8b-9c60-1d2e3f4a5b6c"


def test_valid_xml_is_accepted_and_stored(client: Client, fired: list[Delivery]) -> None:
    body = fixture_bytes("xml_sent_single_line.xml")
    status, answer = client.post(PATH, body, signed_headers(body, content_type="text/xml"))
    assert (status, answer["status"]) == (200, "accepted")
    assert stored(client.receiver) == [(XML_ENVELOPE, "sent", ["processed"])]
    assert [d.envelope_id for d in fired] == [XML_ENVELOPE]


def test_valid_json_is_accepted_and_stored(client: Client, fired: list[Delivery]) -> None:
    body = sim_body(status="completed")
    status, answer = client.post(PATH, body, signed_headers(body))
    assert (status, answer["status"]) == (200, "accepted")
    assert stored(client.receiver) == [(ENVELOPE, "completed", ["processed"])]
    assert fired[0].notification.account_id == ACCOUNT


def test_duplicate_is_200_and_stored_once(client: Client, fired: list[Delivery]) -> None:
    first, retry = sim_body(status="completed"), sim_body(status="completed", retry_count=1)
    assert client.post(PATH, first, signed_headers(first))[0] == 200
    status, answer = client.post(PATH, retry, signed_headers(retry))
    assert (status, answer["status"]) == (200, "duplicate")
    assert stored(client.receiver) == [(ENVELOPE, "completed", ["processed"])]
    assert len(fired) == 1


def assert_refused(client: Client, reply: Reply, status: int, reason: str) -> None:
    assert reply[0] == status
    assert reason in reply[1]["error"]
    assert stored(client.receiver) == []


def test_wrong_signature_is_401(client: Client) -> None:
    body = sim_body()
    reply = client.post(PATH, body, signed_headers(body, key="not-the-key"))
    assert_refused(client, reply, 401, "does not match")


def test_missing_signature_is_401(client: Client) -> None:
    body = sim_body()
    headers = signed_headers(body)
    del headers["x-docusign-signature-1"]
    assert_refused(client, client.post(PATH, body, headers), 401, "missing X-DocuSign-Signature")


def test_signed_malformed_body_is_200_and_a_dead_letter(client: Client) -> None:
    body = b'{"event": "envelope-completed", "data": '
    status, answer = client.post(PATH, body, signed_headers(body))
    assert (status, answer["status"]) == (200, "accepted")
    (event,) = client.receiver.store.list_events()
    assert (event.key, event.processing.value, event.format.value) == (
        answer["key"],
        "dead",
        "unparsed",
    )
    assert stored(client.receiver) == []


def test_unsigned_malformed_body_is_401_and_stores_nothing(client: Client) -> None:
    body = b'{"event": "envelope-completed", "data": '
    headers = {"content-type": "application/json", "content-length": str(len(body))}
    assert_refused(client, client.post(PATH, body, headers), 401, "X-DocuSign-Signature-1")
    assert client.receiver.store.list_events() == []


def test_oversized_body_is_413(client: Client) -> None:
    body = sim_body(summary={"emailSubject": "x" * LIMIT})
    assert_refused(client, client.post(PATH, body, signed_headers(body)), 413, "larger")


def test_wrong_method_is_405(client: Client) -> None:
    assert_refused(client, client.request("GET", PATH, b"", {}), 405, "method not allowed")


def test_wrong_content_type_is_415(client: Client) -> None:
    body = sim_body()
    headers = signed_headers(body, content_type="text/plain")
    assert_refused(client, client.post(PATH, body, headers), 415, "media type")


def test_other_paths_reach_the_app_with_their_body(client: Client) -> None:
    body = b'{"not": "for connect"}' * 100
    assert client.post("/echo", body, {"content-type": "application/json"}) == (
        200,
        b"echo:" + body,
    )
    assert stored(client.receiver) == []


def test_async_on_error_handler_runs_inline(client: Client) -> None:
    heard: list[tuple[str, str]] = []

    @client.receiver.on_envelope_completed
    async def fails(delivery: Delivery) -> None:
        raise RuntimeError("downstream is down")

    @client.receiver.on_error
    async def report(delivery: Delivery, exc: BaseException) -> None:
        await anyio.sleep(0)  # really a coroutine, awaited wherever the entry point runs it
        heard.append((delivery.envelope_id, str(exc)))

    body = sim_body(status="completed")
    assert client.post(PATH, body, signed_headers(body))[0] == 200
    assert heard == [(ENVELOPE, "downstream is down")]
    assert stored(client.receiver) == [(ENVELOPE, "completed", ["failed"])]
