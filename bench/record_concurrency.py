"""Records per second from async code, as the receiver records: 1 or 8 deliveries at once.

Each delivery offloads ``record_here`` (load, fold, commit) once, as the receiver does, on an
envelope of its own (or on one of ``--envelopes``, to measure contention); ``concurrency``
deliveries are in flight at any time, ``--records`` in all, on a fresh store per round.
Stores: ``sqlite-wal`` (``durable=False``: WAL, ``synchronous=NORMAL``), ``sqlite-durable``
(fsync before each commit returns) and ``postgres``. Prints the minimum and the median of
``--rounds`` rounds.

    .venv/bin/python bench/record_concurrency.py [sqlite-wal sqlite-durable postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import uuid
from functools import partial
from pathlib import Path
from time import perf_counter

from connect_mw.recording import record_here
from connect_mw.stores import SQLiteStore, Store
from connect_mw.testing import notification

RAW = b'{"event":"envelope-sent"}' * 40
DSN = "postgresql://postgres@127.0.0.1:5432/test"
KINDS = ("sqlite-wal", "sqlite-durable")


def make(kind: str, scratch: Path) -> Store:
    """A fresh store of ``kind``."""
    if kind.startswith("sqlite"):
        path = Path(tempfile.mkdtemp(dir=scratch)) / "bench.sqlite3"
        return SQLiteStore(path, durable=kind == "sqlite-durable")
    from connect_mw.stores.postgres import PostgresStore  # noqa: PLC0415 (optional driver)

    return PostgresStore(DSN, schema="bench_" + uuid.uuid4().hex[:8])


def drop(store: Store) -> None:
    """Drop a PostgreSQL store's schema (a SQLite file goes with its directory)."""
    schema = getattr(store, "schema", None)
    if schema is not None:
        import psycopg  # noqa: PLC0415 (optional driver)

        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def one_round(store: Store, records: int, concurrency: int, envelopes: int) -> float:
    """Records per second, ``concurrency`` deliveries in flight."""
    store.get_envelope("warm-up")  # creates the schema
    numbers = iter(range(records))

    async def deliveries() -> int:
        done = 0
        for i in numbers:
            n = notification(f"e{i % envelopes}", "sent")
            outcome = await store.offload(partial(record_here, store, n, RAW, f"k{i}"))
            done += outcome.inserted
        return done

    started = perf_counter()
    done = await asyncio.gather(*(deliveries() for _ in range(concurrency)))
    elapsed = perf_counter() - started
    assert sum(done) == records
    return records / elapsed


def main() -> None:
    """Run every store kind named (default: both SQLite modes) at 1 and 8 deliveries."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kinds", nargs="*", default=list(KINDS))
    parser.add_argument("--records", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--envelopes", type=int, help="shared by the records (default: one each)")
    args = parser.parse_args()
    envelopes = args.envelopes or args.records
    with tempfile.TemporaryDirectory(prefix="connect-mw-records-", dir="/var/tmp") as tmp:
        for kind in args.kinds:
            for concurrency in (1, 8):
                rates = []
                for _ in range(args.rounds):
                    store = make(kind, Path(tmp))
                    rates.append(
                        asyncio.run(one_round(store, args.records, concurrency, envelopes))
                    )
                    store.close()
                    drop(store)
                print(
                    f"{kind:15} x{concurrency}: min {min(rates):7.0f}  "
                    f"median {statistics.median(rates):7.0f} records/s"
                )


if __name__ == "__main__":
    main()
