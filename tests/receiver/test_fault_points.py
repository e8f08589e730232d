"""A sender that retries like DocuSign loses nothing whichever step fails.

Fault points: the store fails before committing; the commit succeeds but the answer is lost;
the process dies after answering, before processing; a callback fails midway. In every case
the sender's retry is deduplicated and every event is processed exactly once in the end.
"""

from __future__ import annotations

from datetime import timedelta

from connect_mw import Delivery, MemoryStore, Receiver
from connect_mw.http import Request, Response
from connect_mw.model import EnvelopeState
from connect_mw.processing import RetryPolicy
from connect_mw.stores import ProcessingState
from connect_mw.stores.api import Commit, StoredEvent, utcnow
from support.deliveries import KEY, signed_request, sim_body


class FlakyStore(MemoryStore):
    """Fails the first ``failures`` records before or after committing."""

    def __init__(self, failures: int, after_commit: bool) -> None:
        super().__init__()
        self.failures = failures
        self.after_commit = after_commit

    def commit(self, event: StoredEvent, state: EnvelopeState | None, version: int) -> Commit:
        if self.failures and not self.after_commit:
            self.failures -= 1
            raise ConnectionError("store down before commit")
        outcome = super().commit(event, state, version)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("connection lost after commit")
        return outcome


def deliver_like_docusign(receiver: Receiver, request: Request, attempts: int = 10) -> list[int]:
    """POST until a 2xx (DocuSign retries failures), returning every status seen."""
    statuses = []
    for _ in range(attempts):
        response: Response = receiver.handle(request)
        statuses.append(response.status)
        if 200 <= response.status < 300:
            break
    return statuses


def effects_of(receiver: Receiver) -> list[str]:
    effects: list[str] = []

    @receiver.on_any
    def effect(delivery: Delivery) -> None:
        effects.append(delivery.key)

    return effects


def drain(receiver: Receiver) -> None:
    worker = receiver.worker()
    later = utcnow() + timedelta(hours=2)
    while worker.run_once(now=later):
        pass


def test_store_down_before_commit() -> None:
    receiver = Receiver(hmac_keys=KEY, store=FlakyStore(2, after_commit=False))
    effects = effects_of(receiver)
    assert deliver_like_docusign(receiver, signed_request(sim_body())) == [503, 503, 200]
    drain(receiver)
    assert len(effects) == 1 and len(receiver.store.list_events()) == 1


def test_answer_lost_after_commit() -> None:
    receiver = Receiver(hmac_keys=KEY, store=FlakyStore(1, after_commit=True))
    effects = effects_of(receiver)
    assert deliver_like_docusign(receiver, signed_request(sim_body())) == [503, 200]
    drain(receiver)
    assert len(effects) == 1 and len(receiver.store.list_events()) == 1


def test_process_dies_after_answering_before_processing() -> None:
    store = MemoryStore()
    first_life = Receiver(hmac_keys=KEY, store=store)
    assert first_life.handle(signed_request(sim_body())).status == 200
    del first_life  # gone before any worker ran
    second_life = Receiver(hmac_keys=KEY, store=store)
    effects = effects_of(second_life)
    assert second_life.handle(signed_request(sim_body(retry_count=1))).status == 200  # a retry
    drain(second_life)
    assert len(effects) == 1
    assert store.list_events()[0].processing is ProcessingState.PROCESSED


def test_callback_fails_midway_then_succeeds() -> None:
    receiver = Receiver(
        hmac_keys=KEY, store=MemoryStore(), retry=RetryPolicy(base_delay=timedelta(0))
    )
    done: list[str] = []
    failures = [RuntimeError("first try fails")]

    @receiver.on_any
    def flaky(delivery: Delivery) -> None:
        if failures:
            raise failures.pop()
        done.append(delivery.key)

    assert deliver_like_docusign(receiver, signed_request(sim_body())) == [200]
    assert deliver_like_docusign(receiver, signed_request(sim_body(retry_count=2))) == [200]
    drain(receiver)
    assert len(done) == 1
    (event,) = receiver.store.list_events()
    assert (event.processing, event.attempts) == (ProcessingState.PROCESSED, 2)
