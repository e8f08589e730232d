"""A PostgreSQL outage bounds every commit by ``pool_timeout``, as docs/stores-postgres.md says.

Commits share batches (group commit). A call that queued behind a batch waiting for a
connection used to fail only after that batch's wait and then a whole wait of its own as
the next batch's writer: twice ``pool_timeout``. Now each call gives up ``pool_timeout``
after it was made, queued or writing, and the receiver answers 503.
"""

from __future__ import annotations

import threading
import time

import pytest

from support.services import require_module

require_module("psycopg")

from psycopg_pool import PoolTimeout  # noqa: E402

from connect_mw import Receiver  # noqa: E402
from connect_mw.stores.group_commit import CommitTimeout  # noqa: E402
from connect_mw.stores.postgres import PostgresStore  # noqa: E402
from connect_mw.testing.store_contract import state_of, stored_event  # noqa: E402
from support.deliveries import KEY, signed_request, sim_body  # noqa: E402
from support.servers import free_port  # noqa: E402

POOL_TIMEOUT = 1.5
SLACK = 0.5  # thread start-up and scheduling on a loaded machine: far below POOL_TIMEOUT


def unreachable_store() -> PostgresStore:
    """A store whose server is down: nothing listens on its port."""
    dsn = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    return PostgresStore(dsn, connect_timeout=1, pool_timeout=POOL_TIMEOUT)


class Attempt(threading.Thread):
    """One ``commit`` in a thread: how long it took and what it raised."""

    def __init__(self, store: PostgresStore, key: str) -> None:
        super().__init__(daemon=True)
        self.store, self.key = store, key
        self.elapsed = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        started = time.monotonic()
        try:
            self.store.commit(stored_event(self.key, self.key), state_of(self.key), 0)
        except Exception as exc:
            self.error = exc
        self.elapsed = time.monotonic() - started


def test_commits_queued_behind_a_waiting_batch_fail_within_pool_timeout() -> None:
    store = unreachable_store()
    try:
        leader = Attempt(store, "leader")
        leader.start()
        time.sleep(POOL_TIMEOUT / 3)  # the leader is waiting for a connection now
        queued = [Attempt(store, f"queued-{n}") for n in range(4)]
        for attempt in queued:
            attempt.start()
        for attempt in [leader, *queued]:
            attempt.join(timeout=4 * POOL_TIMEOUT)
        for attempt in [leader, *queued]:
            assert isinstance(attempt.error, PoolTimeout | CommitTimeout), attempt.error
            assert attempt.elapsed < POOL_TIMEOUT + SLACK, (attempt.key, attempt.elapsed)
    finally:
        store.close()


@pytest.mark.parametrize("concurrent", [1, 6])
def test_the_receiver_answers_503_within_pool_timeout(concurrent: int) -> None:
    receiver = Receiver(hmac_keys=KEY, store=unreachable_store())
    answers: list[tuple[int, float]] = []

    def deliver(number: int) -> None:
        request = signed_request(sim_body(envelope_id=f"outage-{number}"))
        started = time.monotonic()
        status = receiver.handle(request).status
        answers.append((status, time.monotonic() - started))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(concurrent)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=4 * POOL_TIMEOUT)
        assert len(answers) == concurrent
        assert all(status == 503 for status, _ in answers)
        assert max(elapsed for _, elapsed in answers) < POOL_TIMEOUT + SLACK
    finally:
        receiver.store.close()
