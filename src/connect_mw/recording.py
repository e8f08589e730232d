"""Recording a notification: load the envelope, fold, commit; again on a version conflict.

This is the one place that decides duplicates, folds state and derives transitions; stores
only load and commit (:mod:`connect_mw.stores.api`). The pipeline is written once as a
generator of effects (:mod:`connect_mw.effects`), driven in a thread or on an event loop.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass
from functools import partial

from .effects import Blocking, Steps, drive
from .model import EnvelopeState, Notification, Transition
from .state import fold
from .stores.api import Commit, Snapshot, Store, StoredEvent, utcnow

#: How often one record is tried again after another writer changed its envelope first.
MAX_CONFLICTS = 64
#: Records of one envelope in one process wait for each other on one of these locks instead
#: of racing to the store and conflicting (envelopes share a lock by a hash of their id).
_ENVELOPE_LOCKS = tuple(threading.Lock() for _ in range(256))


class EnvelopeContention(RuntimeError):
    """The envelope changed under every one of :data:`MAX_CONFLICTS` attempts (answered 503)."""


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What recording one delivery did.

    ``inserted`` is ``False`` for a duplicate: ``transitions`` is then empty and ``state``
    is the envelope's current state (an empty state when the envelope has none: a custom
    ``key_func`` may map two envelopes to one key). ``stale`` says the notification was
    older than the state it was folded into, so it changed no status.
    """

    key: str
    inserted: bool
    state: EnvelopeState
    transitions: tuple[Transition, ...] = ()
    stale: bool = False


def new_event(
    notification: Notification, raw: bytes, key: str, transitions: tuple[Transition, ...]
) -> StoredEvent:
    """The event row for a delivery about to be committed: pending, due at once."""
    n = notification
    received = utcnow()
    return StoredEvent(
        key=key,
        envelope_id=n.envelope_id,
        account_id=n.account_id,
        event=n.event,
        status=n.status,
        format=n.format,
        occurred_at=n.occurred_at,
        received_at=received,
        raw_size=len(raw),
        transitions=transitions,
        next_attempt_at=received,
        raw=raw,
    )


def record(store: Store, notification: Notification, raw: bytes, key: str) -> Steps[RecordOutcome]:
    """Store the delivery under ``key`` once, folded into its envelope's state.

    An event about no envelope (template, click) is stored alone: no state is loaded,
    folded or saved, and it causes no transitions.
    """
    n = notification
    if not n.about_envelope:
        alone = EnvelopeState(envelope_id="", account_id=n.account_id)
        call = partial(store.commit, new_event(n, raw, key, ()), None, 0)
        commit = yield Blocking(call, store.offload)
        return RecordOutcome(key, commit is Commit.INSERTED, alone)
    for _ in range(MAX_CONFLICTS):
        snapshot: Snapshot | None = yield Blocking(
            partial(store.load, n.envelope_id), store.offload
        )
        current = None if snapshot is None else snapshot.state
        result = fold(current, n)
        event = new_event(n, raw, key, result.transitions)
        version = 0 if snapshot is None else snapshot.version
        commit = yield Blocking(partial(store.commit, event, result.state, version), store.offload)
        if commit is Commit.INSERTED:
            return RecordOutcome(key, True, result.state, result.transitions, result.stale)
        if commit is Commit.DUPLICATE:
            state = current or EnvelopeState(envelope_id=n.envelope_id, account_id=n.account_id)
            return RecordOutcome(key, False, state)
    raise EnvelopeContention(f"envelope {n.envelope_id} changed {MAX_CONFLICTS} times in a row")


def record_here(store: Store, notification: Notification, raw: bytes, key: str) -> RecordOutcome:
    """Run :func:`record` to the end in the calling thread, as one blocking call.

    The receiver offloads this whole call once (one thread hop per delivery instead of one
    per store call), and records of the same envelope in this process take turns instead of
    conflicting at the store. Never hold the lock across an ``await``: this function does
    not yield, so it cannot.
    """
    stripe = zlib.crc32(notification.envelope_id.encode("utf-8", "surrogatepass"))
    with _ENVELOPE_LOCKS[stripe % len(_ENVELOPE_LOCKS)]:
        return drive(record(store, notification, raw, key))
