"""Checks shared by the group-commit tests of every store that batches records."""

from __future__ import annotations

import threading

from connect_mw.stores.base import Store
from connect_mw.testing.builders import notification

RAW = b'{"event":"envelope-sent"}'


def check_thread_records_each_committed(store: Store, threads: int = 16) -> None:
    """``threads`` threads record at once (4 envelopes): each gets its own record committed."""
    barrier = threading.Barrier(threads)
    results: list[bool] = []

    def deliver(i: int) -> None:
        barrier.wait()
        results.append(store.record(notification(f"e{i % 4}", "sent"), RAW, f"k{i}").inserted)

    workers = [threading.Thread(target=deliver, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert results == [True] * threads
    assert sum(len(store.events(f"e{i}")) for i in range(4)) == threads
