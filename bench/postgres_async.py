"""PostgresStore.arecord (group commit on a writer thread) against native async psycopg.

Runs ``--calls`` concurrent ``arecord`` calls (distinct keys over ``--envelopes`` envelopes)
against each variant on a fresh schema, ``--rounds`` times, and prints the calls per second
and the latency percentiles of the median round. Both variants use a pool of ``--pool``
connections. Needs PostgreSQL (``--dsn``) and the ``postgres`` extra.

    .venv/bin/python bench/postgres_async.py --dsn postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from connect_mw.model import Notification
from connect_mw.state import fold
from connect_mw.stores.base import Lease, RecordOutcome, utcnow
from connect_mw.stores.codec import load_state
from connect_mw.stores.postgres import (
    PostgresStore,
    _Duplicate,
    _insert_params,
    _state_params,
)
from connect_mw.testing import notification

RAW = b'{"event":"envelope-sent"}' * 40


class NativeAsyncPostgresStore(PostgresStore):
    """``arecord`` on an ``AsyncConnectionPool``: the same statements, awaited."""

    def __init__(self, dsn: str, **options: Any) -> None:
        super().__init__(dsn, **options)
        self._apool = AsyncConnectionPool(
            dsn, min_size=1, max_size=options["max_size"], open=False, kwargs={"autocommit": True}
        )

    async def arecord(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        params = _insert_params(notification, raw, key, lease, utcnow())
        try:
            async with self._apool.connection() as conn, conn.transaction():
                cursor = await conn.execute(self._q["lock_envelope"], (params["envelope_id"],))
                row = await cursor.fetchone()
                current = None if row is None or row[0] is None else load_state(row[0])
                result = fold(current, notification)
                params.update(_state_params(result.state, result.transitions))
                cursor = await conn.execute(self._q["insert"], params)
                if await cursor.fetchone() is None:
                    raise _Duplicate(current or result.state)
        except _Duplicate as duplicate:
            return RecordOutcome(key, False, duplicate.state)
        return RecordOutcome(key, True, result.state, result.transitions, result.stale)


async def one_round(store: PostgresStore, calls: int, envelopes: int) -> list[float]:
    latencies: list[float] = []

    async def deliver(i: int) -> None:
        start = time.perf_counter()
        await store.arecord(notification(f"e{i % envelopes}"), RAW, f"k{i}-{uuid.uuid4()}")
        latencies.append(time.perf_counter() - start)

    async with anyio.create_task_group() as group:
        for i in range(calls):
            group.start_soon(deliver, i)
    return latencies


async def measure(make: Callable[[], PostgresStore], args: argparse.Namespace) -> str:
    rounds: list[tuple[float, list[float]]] = []
    store = make()
    if isinstance(store, NativeAsyncPostgresStore):
        await store._apool.open()
    store.get_envelope("warm-up")  # creates the schema
    await store.arecord(notification("warm-up"), RAW, "warm-up")
    for _ in range(args.rounds):
        start = time.perf_counter()
        latencies = await one_round(store, args.calls, args.envelopes)
        rounds.append((time.perf_counter() - start, sorted(latencies)))
    if isinstance(store, NativeAsyncPostgresStore):
        await store._apool.close()
    store.close()
    elapsed, latencies = sorted(rounds)[len(rounds) // 2]
    p50, p95 = (latencies[int(len(latencies) * q)] * 1000 for q in (0.5, 0.95))
    return (
        f"{args.calls / elapsed:8.0f} calls/s   p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   "
        f"max {latencies[-1] * 1000:6.1f} ms   (best round {args.calls / min(rounds)[0]:.0f}/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--envelopes", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pool", type=int, default=10)
    args = parser.parse_args()
    schemas: list[str] = []

    def fresh(kind: type[PostgresStore]) -> Callable[[], PostgresStore]:
        schema = f"cmw_bench_{uuid.uuid4().hex[:8]}"
        schemas.append(schema)
        return lambda: kind(args.dsn, schema=schema, max_size=args.pool)

    variants: dict[str, Callable[[], Awaitable[str]]] = {
        "arecord (group commit)": lambda: measure(fresh(PostgresStore), args),
        "native async": lambda: measure(fresh(NativeAsyncPostgresStore), args),
    }
    print(f"{args.calls} concurrent arecord, {args.envelopes} envelopes, pool {args.pool}")
    try:
        for name, run in variants.items():
            print(f"{name:>15}: {anyio.run(run)}")
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            for schema in schemas:
                drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                conn.execute(drop)


if __name__ == "__main__":
    main()
