"""Replaying a stored event: requeue it, or parse a dead letter's body again.

A processed or dead event is made pending again through the queue. A signed body the
parser refused (format ``unparsed``, see :mod:`connect_mw.unparsed`) is parsed again: after
an upgrade that fixed the parser it is recorded as the notification it is (its own key,
folded, callbacks queued) and the dead letter is marked processed with a note of the new
key; if it still cannot be parsed it stays a dead letter. Written once as effects
(:mod:`connect_mw.effects`); :func:`replay` and :func:`areplay` drive it.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from functools import partial

import msgspec

from .display import display
from .effects import Blocking, Steps, adrive, drive
from .errors import ParseError
from .keys import KeyFunc, derive_key
from .model import PayloadFormat
from .parse import parse
from .queues.api import Queue
from .recording import RecordOutcome, record_here
from .stores.api import ProcessingState, Progress, Store, StoredEvent, utcnow

log = logging.getLogger("connect_mw")


class Replayed(str, enum.Enum):
    """What replaying one key did."""

    REQUEUED = "requeued"  # pending again: a worker runs its callbacks
    REPARSED = "reparsed"  # a dead letter's body parsed now: recorded as its notification
    STILL_UNPARSED = "still-unparsed"  # the body still cannot be parsed: left dead
    BUSY = "busy"  # a worker holds it under a live lease
    UNKNOWN = "unknown"  # no such key
    PURGED = "purged"  # retention dropped its body: only the key is left (a tombstone)

    @property
    def ok(self) -> bool:
        """Whether the event was put back into processing."""
        return self in (Replayed.REQUEUED, Replayed.REPARSED)


def steps(store: Store, queue: Queue, key: str, key_func: KeyFunc | None = None) -> Steps[Replayed]:
    """Replay ``key`` (see the module docstring)."""
    event: StoredEvent | None = yield Blocking(partial(store.get_event, key), store.offload)
    if event is None:
        return Replayed.UNKNOWN
    if event.processing is ProcessingState.PURGED:
        return Replayed.PURGED
    if event.format is not PayloadFormat.UNPARSED:
        requeued: bool = yield Blocking(partial(queue.requeue, key), queue.offload)
        return Replayed.REQUEUED if requeued else Replayed.BUSY
    assert event.raw is not None  # get_event returns the body
    try:
        notification = parse(event.raw, None)
    except ParseError as exc:
        log.warning("replay: key=%s still cannot be parsed: %s", display(key), exc.reason)
        return Replayed.STILL_UNPARSED
    if notification.account_id is None and event.account_id is not None:
        notification = msgspec.structs.replace(notification, account_id=event.account_id)
    new_key = derive_key(notification, key_func)
    call = partial(record_here, store, notification, event.raw, new_key)
    outcome: RecordOutcome = yield Blocking(call, store.offload)
    if outcome.inserted:
        queue.notify(new_key)
    note = f"replayed as {new_key}" + ("" if outcome.inserted else " (already stored)")
    resolved = Progress(ProcessingState.PROCESSED, event.attempts, utcnow(), None, note)
    resolved = dataclasses.replace(resolved, revision=event.revision + 1)
    yield Blocking(partial(store.update_event, key, event.revision, resolved), store.offload)
    log.info("replay: key=%s parsed now and recorded as key=%s", display(key), display(new_key))
    return Replayed.REPARSED


def replay(store: Store, queue: Queue, key: str, key_func: KeyFunc | None = None) -> Replayed:
    """Replay ``key`` in this thread."""
    return drive(steps(store, queue, key, key_func))


async def areplay(
    store: Store, queue: Queue, key: str, key_func: KeyFunc | None = None
) -> Replayed:
    """Replay ``key`` on the event loop."""
    return await adrive(steps(store, queue, key, key_func))
