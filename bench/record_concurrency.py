"""Concurrent records from async code: one thread hop per store call, or one per delivery.

``per-call`` drives the record pipeline with ``adrive`` (each ``load`` and ``commit`` offloaded
on its own); ``one-hop`` offloads ``record_here`` once, as the receiver does (records of one
envelope in one process take turns). 400 concurrent records, on 400 envelopes (no
contention) and on 50 (8 deliveries per envelope at once); the median of 5 rounds.

    .venv/bin/python bench/record_concurrency.py sqlite postgres
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from functools import partial
from pathlib import Path
from time import perf_counter

from connect_mw.effects import adrive
from connect_mw.recording import RecordOutcome, record, record_here
from connect_mw.stores import SQLiteStore, Store
from connect_mw.testing import notification

RAW = b'{"event":"envelope-sent"}' * 40
DSN = "postgresql://postgres@127.0.0.1:5432/test"


def make(kind: str) -> Store:
    if kind == "sqlite":
        return SQLiteStore(Path(tempfile.mkdtemp()) / "bench.sqlite3")
    from connect_mw.stores.postgres import PostgresStore  # noqa: PLC0415 (optional driver)

    return PostgresStore(DSN, schema="bench_" + uuid.uuid4().hex[:8])


def drop(store: Store) -> None:
    schema = getattr(store, "schema", None)
    if schema is not None:
        import psycopg  # noqa: PLC0415 (optional driver)

        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def one_round(kind: str, mode: str, calls: int, envelopes: int) -> float:
    store = make(kind)
    store.get_envelope("warm-up")  # creates the schema

    async def one(i: int) -> RecordOutcome:
        n = notification(f"e{i % envelopes}", "sent")
        if mode == "per-call":
            return await adrive(record(store, n, RAW, f"k{i}"))
        return await store.offload(partial(record_here, store, n, RAW, f"k{i}"))

    started = perf_counter()
    outcomes = await asyncio.gather(*(one(i) for i in range(calls)))
    elapsed = perf_counter() - started
    assert sum(o.inserted for o in outcomes) == calls
    store.close()
    drop(store)
    return calls / elapsed


def main(kinds: list[str]) -> None:
    for kind in kinds:
        for envelopes in (400, 50):
            for mode in ("per-call", "one-hop"):
                rates = sorted(asyncio.run(one_round(kind, mode, 400, envelopes)) for _ in range(5))
                print(f"{kind:8} envelopes={envelopes:3} {mode:8} {rates[2]:8.0f} records/s")


if __name__ == "__main__":
    main(sys.argv[1:] or ["sqlite"])
