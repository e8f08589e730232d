"""Encryption at rest: the contract holds through EncryptedStore, and no database file holds
a plaintext name or email."""

from __future__ import annotations

import subprocess
from pathlib import Path

from connect_mw import MemoryStore, Receiver, SQLiteStore, parse
from connect_mw.encryption import Encryptor
from connect_mw.stores import Store
from connect_mw.stores.encrypted import EncryptedStore
from connect_mw.testing import StoreContract
from connect_mw.worker import Worker
from support.deliveries import KEY, signed_request
from support.payloads import fixture_bytes
from support.services import (
    POSTGRES_DSN,
    REDIS_URL,
    open_test_store,
    postgres_namespace,
    redis_namespace,
)

ENCRYPTOR = Encryptor({"2026-11": Encryptor.generate_key()}, primary="2026-11")
BODY = fixture_bytes("xml_completed_documents.xml")


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


def deliver_and_process(receiver: Receiver) -> None:
    assert receiver.handle(signed_request(BODY, content_type="text/xml")).status == 200
    assert Worker(receiver).run_once() == 1


def test_sqlite_files_hold_no_plaintext_personal_data(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(db, durable=True), encryptor=ENCRYPTOR)
    seen: list[str] = []
    receiver.on_envelope_completed(
        lambda d: seen.extend(r.email or "" for r in d.notification.recipients)
    )
    deliver_and_process(receiver)
    state = receiver.store.list_envelopes()[0]
    assert {r.email for r in state.recipients} <= personal_data()  # reads come back opened
    assert set(seen) <= personal_data() and seen  # callbacks see the plaintext
    receiver.store.close()
    on_disk = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    leaked = sorted(secret for secret in personal_data() if secret.encode() in on_disk)
    assert leaked == []
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
    (event,) = store.events()
    stored = store.get_event(event.key)
    assert stored is not None and stored.raw == BODY and stored.raw_size == len(BODY)
    store.close()
