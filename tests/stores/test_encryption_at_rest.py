"""Encryption at rest: the contract holds through EncryptedStore, and no database file holds
a plaintext name, email, body or failure text."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from connect_mw import (
    ConfigurationError,
    Delivery,
    MemoryStore,
    ProcessingState,
    Receiver,
    RetryPolicy,
    SQLiteStore,
    parse,
)
from connect_mw.effects import drive
from connect_mw.encryption import MAGIC, TEXT_PREFIX, Encryptor
from connect_mw.recording import record
from connect_mw.stores.api import Progress, Store
from connect_mw.stores.encrypted import EncryptedStore, SealingQueue
from connect_mw.testing import StoreContract, notification, recipient
from support.deliveries import KEY, signed_request
from support.payloads import fixture_bytes
from support.services import (
    POSTGRES_DSN,
    REDIS_URL,
    open_test_store,
    postgres_namespace,
    redis_namespace,
)
from support.stored_state import overwrite_json_file, overwrite_sqlite

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from custom_store import JsonFileStore

ENCRYPTOR = Encryptor({"2026-11": Encryptor.generate_key()}, primary="2026-11")
BODY = fixture_bytes("xml_completed_documents.xml")
SECRET_EMAIL = "zoë.secret@example.com"
SECRET_BODY = b'{"event":"envelope-sent","signer":"zoe.secret@example.com"}'
LEASE = timedelta(minutes=5)
DEAD = ProcessingState.DEAD


def personal_data() -> set[str]:
    n = parse(BODY)
    found = {v for r in n.recipients for v in (r.email, r.name) if v}
    assert n.sender is not None and n.sender.email is not None
    return found | {n.sender.email}


class TestEncryptedMemoryStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return EncryptedStore(MemoryStore(), ENCRYPTOR)


class TestEncryptedSQLiteStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return EncryptedStore(SQLiteStore(tmp_path / "connect.sqlite3"), ENCRYPTOR)

    overwrite_state = staticmethod(overwrite_sqlite)


class TestEncryptedJsonFileStore(StoreContract):
    """Over the six-method custom store of ``examples/custom_store.py``."""

    def make_store(self, tmp_path: Path) -> Store:
        return EncryptedStore(JsonFileStore(tmp_path / "connect.json"), ENCRYPTOR)

    overwrite_state = staticmethod(overwrite_json_file)

    def test_markers_are_kept_when_supported(self, store: Store) -> None:
        # The suite skips this for a store that keeps no markers; check instead that the
        # wrapper answers exactly as the inner store does.
        with pytest.raises(ConfigurationError, match="JsonFileStore keeps no markers"):
            store.read_marker("reconcile:acct-1")
        with pytest.raises(ConfigurationError, match="JsonFileStore keeps no markers"):
            store.write_marker("reconcile:acct-1", "2026-01-05T09:00:00.0000000Z")


# Sealing through the queue and update_event, read back from the inner store and the file.


def open_inner(kind: str, tmp_path: Path, stack: ExitStack) -> Store:
    """An empty store of ``kind``; its namespace (PostgreSQL, Redis) dropped with ``stack``."""
    if kind == "memory":
        return MemoryStore()
    if kind == "json-file":
        return JsonFileStore(tmp_path / "connect.json")
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "connect.sqlite3")
    namespace = postgres_namespace() if kind == "postgres" else redis_namespace()
    return open_test_store(kind, stack.enter_context(namespace))


@pytest.fixture(params=["memory", "json-file", "sqlite", "postgres", "redis"])
def inner(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each kind of inner store: the default queue (memory, JSON file) and native ones."""
    with ExitStack() as stack:
        store = open_inner(request.param, tmp_path, stack)
        stack.callback(store.close)
        yield store


def files_of(directory: Path) -> bytes:
    """Every byte the store left in ``directory``."""
    return b"".join(path.read_bytes() for path in directory.iterdir() if path.is_file())


def record_secret(store: Store, key: str = "k1") -> None:
    n = notification("e1", "sent", recipients=(recipient("1", "sent", email=SECRET_EMAIL),))
    assert drive(record(store, n, SECRET_BODY, key)).inserted


def assert_sealed_at_rest(inner: Store, key: str, tmp_path: Path) -> None:
    """What the inner store holds for ``key``: sealed body, sealed error, plain size."""
    held = inner.get_event(key)
    assert held is not None and held.raw is not None and held.raw.startswith(MAGIC)
    assert held.raw_size == len(SECRET_BODY)
    assert held.error is not None and held.error.startswith(TEXT_PREFIX)
    assert SECRET_EMAIL not in held.error
    (listed,) = inner.list_events("e1")
    assert (listed.key, listed.error) == (key, held.error)
    snapshot = inner.load("e1")
    assert snapshot is not None and snapshot.state.recipients[0].email != SECRET_EMAIL
    on_disk = files_of(tmp_path)
    assert SECRET_EMAIL.encode() not in on_disk and b"zoe.secret" not in on_disk


def test_the_queue_is_the_inner_one_and_seals_the_error_it_writes(
    inner: Store, tmp_path: Path
) -> None:
    store = EncryptedStore(inner, ENCRYPTOR)
    queue = store.queue()
    assert isinstance(queue, SealingQueue) and type(queue.inner) is type(inner.queue())
    assert queue.wakeup is queue.inner.wakeup
    record_secret(store)
    (claimed,) = queue.claim("w1", lease_for=LEASE)
    assert queue.finish(claimed.key, "w1", DEAD, error=f"CRM refused {SECRET_EMAIL}")
    assert_sealed_at_rest(inner, "k1", tmp_path)
    (dead,) = store.list_events(processing=DEAD)
    assert (dead.error, dead.raw_size) == (f"CRM refused {SECRET_EMAIL}", len(SECRET_BODY))
    opened = store.get_event("k1")
    assert opened is not None and opened.raw == SECRET_BODY
    assert opened.error == f"CRM refused {SECRET_EMAIL}"
    assert queue.requeue("k1")  # the error stays, sealed; a new claim shows it opened
    assert_sealed_at_rest(inner, "k1", tmp_path)
    (again,) = queue.claim("w2", lease_for=LEASE)
    assert (again.key, again.attempts, again.error) == ("k1", 1, f"CRM refused {SECRET_EMAIL}")


def test_update_event_seals_the_error(inner: Store, tmp_path: Path) -> None:
    store = EncryptedStore(inner, ENCRYPTOR)
    record_secret(store)
    event = store.get_event("k1")
    assert event is not None
    failed = Progress(error=f"timeout for {SECRET_EMAIL}", revision=event.revision + 1)
    assert store.update_event("k1", event.revision, failed)
    assert_sealed_at_rest(inner, "k1", tmp_path)
    stored = store.get_event("k1")
    assert stored is not None and stored.progress == failed
    (listed,) = store.list_events("e1")
    assert listed.error == failed.error and listed.raw is None


# End to end: a receiver and a worker over real backends.


def deliver_and_process(receiver: Receiver) -> None:
    assert receiver.handle(signed_request(BODY, content_type="text/xml")).status == 200
    assert receiver.worker().run_once() == 1


def test_sqlite_files_hold_no_plaintext_personal_data(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"
    receiver = Receiver(
        hmac_keys=KEY,
        store=SQLiteStore(db, durable=True),
        encryptor=ENCRYPTOR,
        retry=RetryPolicy(max_attempts=1),
    )
    seen: list[str] = []

    def crm(delivery: Delivery) -> None:
        emails = [r.email or "" for r in delivery.notification.recipients]
        seen.extend(emails)
        raise RuntimeError(f"CRM refused {' '.join(emails)}")

    receiver.on_envelope_completed(crm)
    deliver_and_process(receiver)
    state = receiver.store.list_envelopes()[0]
    assert {r.email for r in state.recipients} <= personal_data()  # reads come back opened
    assert set(seen) <= personal_data() and seen  # callbacks see the plaintext
    (dead,) = receiver.store.list_events(processing=DEAD)
    assert dead.error is not None and f"CRM refused {seen[0]}" in dead.error  # opened
    assert dead.raw_size == len(BODY)  # listings report the plain size
    receiver.store.close()
    on_disk = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    leaked = sorted(secret for secret in personal_data() if secret.encode() in on_disk)
    assert leaked == []
    assert b"CRM refused" not in on_disk  # the failure text is sealed too
    assert b"%PDF" not in on_disk and b"JVBERi" not in on_disk  # no document, raw or base64


def dump_postgres(schema: str) -> bytes:
    """Every byte PostgreSQL holds for ``schema``: a plain-format pg_dump of it."""
    dump = subprocess.run(
        ["pg_dump", "--schema", schema, "--data-only", POSTGRES_DSN],
        capture_output=True,
        check=True,
    )
    return dump.stdout


def dump_redis(prefix: str) -> bytes:
    """Every value under ``prefix``, serialized by Redis (DUMP)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        return b"".join(client.dump(key) or b"" for key in client.scan_iter(match=prefix + "*"))
    finally:
        client.close()


def test_postgres_holds_no_plaintext_personal_data() -> None:
    with postgres_namespace() as schema:
        inner = open_test_store("postgres", schema)
        deliver_and_process(Receiver(hmac_keys=KEY, store=inner, encryptor=ENCRYPTOR))
        inner.close()
        stored = dump_postgres(schema)
    assert b"COPY" in stored  # the dump did see the tables
    assert sorted(s for s in personal_data() if s.encode() in stored) == []


def test_redis_holds_no_plaintext_personal_data() -> None:
    with redis_namespace() as prefix:
        inner = open_test_store("redis", prefix)
        deliver_and_process(Receiver(hmac_keys=KEY, store=inner, encryptor=ENCRYPTOR))
        stored = dump_redis(prefix)
    assert stored
    assert sorted(s for s in personal_data() if s.encode() in stored) == []


def test_rotation_keeps_old_records_readable(tmp_path: Path) -> None:
    old_key, new_key = Encryptor.generate_key(), Encryptor.generate_key()
    db = tmp_path / "events.sqlite3"
    before = Receiver(
        hmac_keys=KEY, store=SQLiteStore(db), encryptor=Encryptor.from_spec(f"old:{old_key}")
    )
    assert before.handle(signed_request(BODY, content_type="text/xml")).status == 200
    before.store.close()
    rotated = Encryptor.from_spec(f"new:{new_key},old:{old_key}")
    store = EncryptedStore(SQLiteStore(db), rotated)
    (state,) = store.list_envelopes()
    assert {r.email for r in state.recipients} <= personal_data()
    (event,) = store.list_events()
    assert event.raw_size == len(BODY)
    stored = store.get_event(event.key)
    assert stored is not None and stored.raw == BODY and stored.raw_size == len(BODY)
    # New writes are sealed with the new primary key; the old ones still open.
    queue = store.queue()
    (claimed,) = queue.claim("w", lease_for=LEASE)
    assert queue.finish(claimed.key, "w", ProcessingState.FAILED, error="after rotation")
    held = store.inner.get_event(event.key)
    assert held is not None and held.error is not None and held.raw is not None
    assert Encryptor.from_spec(f"new:{new_key}").open_str(held.error) == "after rotation"
    assert Encryptor.from_spec(f"old:{old_key}").open(held.raw) == BODY
    store.close()
