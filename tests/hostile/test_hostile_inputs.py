"""The hostile corpus through every entry point: the promised 4xx, never a 5xx, nothing
stored for a rejected body, and no network access (a canary listener counts connections)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from corpus import CASES, DEAD_LETTER, Canary, Case

from connect_mw import PayloadFormat, ProcessingState, Receiver, SQLiteStore, Store
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.entry_points import ENTRY_POINTS, ASGIClient, Client, asgi_echo, pure_asgi
from support.services import open_test_store, postgres_namespace, redis_namespace

LIMIT = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


def send(client: Client, case: Case, canary: Canary) -> int:
    status, _ = client.request(
        case.method, PATH, case.payload(canary.port), case.headers(canary.port)
    )
    return status


@pytest.mark.parametrize("factory", ENTRY_POINTS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_case(factory: Callable[..., Client], case: Case, canary: Canary) -> None:
    client = factory(LIMIT)
    status = send(client, case, canary)
    events = client.receiver.store.list_events()
    if case.expected == DEAD_LETTER:  # signed, so kept: 200 and an unparsed dead letter
        assert status == 200
        assert [(e.format, e.processing, e.envelope_id) for e in events] == [
            (PayloadFormat.UNPARSED, ProcessingState.DEAD, "")
        ]
        assert client.receiver.store.list_envelopes() == []
    else:
        assert status == case.expected
        assert len(events) == (1 if case.stored else 0)
    assert canary.hits == 0


def test_smuggled_ids_are_the_docusign_ones(canary: Canary) -> None:
    for name in ("foreign_namespace_envelope_id_first", "envelope_id_split_by_comment"):
        client = pure_asgi(LIMIT)
        case = next(c for c in CASES if c.name == name)
        assert send(client, case, canary) == 200
        assert [e.envelope_id for e in client.receiver.store.list_events()] == ["hostile-env"]


@pytest.mark.parametrize("factory", ENTRY_POINTS, ids=lambda f: f.__name__)
def test_oversized_body_is_413(factory: Callable[..., Client]) -> None:
    client = factory(64 * 1024)
    body = sim_body().replace(b'"userId"', b'"pad": "' + b"x" * 100_000 + b'", "userId"')
    status, _ = client.post(PATH, body, signed_headers(body))
    assert status == 413
    assert client.receiver.store.list_events() == []


@pytest.mark.parametrize(
    "name", ["path_traversal_id_is_stored_safely", "sql_syntax_id_is_stored_safely"]
)
def test_odd_ids_are_stored_verbatim_in_sqlite(name: str, tmp_path: Path, canary: Canary) -> None:
    case = next(c for c in CASES if c.name == name)
    store = SQLiteStore(tmp_path / "events.sqlite3")
    receiver = Receiver(hmac_keys=KEY, store=store, mode="inline")
    client = ASGIClient(ConnectASGIMiddleware(asgi_echo, receiver=receiver), receiver)
    assert send(client, case, canary) == 200
    (event,) = client.receiver.store.list_events()
    assert client.receiver.store.get_envelope(event.envelope_id) is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "events.sqlite3",
        "events.sqlite3-shm",
        "events.sqlite3-wal",
    ]


STORED_CASES = [c for c in CASES if c.stored]


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def server_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each real store, on a fresh namespace."""
    if request.param == "sqlite":
        with SQLiteStore(tmp_path / "events.sqlite3") as sqlite_store:
            yield sqlite_store
        return
    namespace = postgres_namespace() if request.param == "postgres" else redis_namespace()
    with namespace as name:
        store = open_test_store(request.param, name)
        yield store
        store.close()


@pytest.mark.parametrize("case", STORED_CASES, ids=lambda c: c.name)
def test_accepted_hostile_cases_in_every_store(
    case: Case, server_store: Store, canary: Canary
) -> None:
    receiver = Receiver(hmac_keys=KEY, store=server_store, mode="inline")
    client = ASGIClient(ConnectASGIMiddleware(asgi_echo, receiver=receiver), receiver)
    assert send(client, case, canary) == case.expected == 200
    (event,) = server_store.list_events()
    if event.envelope_id == "":  # an event about no envelope (click): stored alone
        assert server_store.list_envelopes() == []
    else:
        state = server_store.get_envelope(event.envelope_id)
        assert state is not None and state.envelope_id == event.envelope_id
    stored = server_store.get_event(event.key)
    assert stored is not None and stored.raw == case.payload(canary.port)
    assert canary.hits == 0
