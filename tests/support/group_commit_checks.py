"""Checks shared by the group-commit tests of every store that batches commits."""

from __future__ import annotations

import threading

from connect_mw.effects import drive
from connect_mw.recording import record
from connect_mw.stores.api import Store
from connect_mw.testing.builders import notification

RAW = b'{"event":"envelope-sent"}'


def check_thread_records_each_committed(store: Store, threads: int = 16) -> None:
    """``threads`` threads record at once (4 envelopes): each gets its own record committed.

    Records of one envelope meet in a batch at the same version: one commits, the others
    conflict and are folded again onto it, so no event and no fold is lost.
    """
    barrier = threading.Barrier(threads)
    results: list[bool] = []

    def deliver(i: int) -> None:
        barrier.wait()
        n = notification(f"e{i % 4}", "sent")
        results.append(drive(record(store, n, RAW, f"k{i}")).inserted)

    workers = [threading.Thread(target=deliver, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert results == [True] * threads
    assert sum(len(store.list_events(f"e{i}")) for i in range(4)) == threads
    counts = [store.get_envelope(f"e{i}") for i in range(4)]
    assert [None if s is None else s.event_count for s in counts] == [threads // 4] * 4
