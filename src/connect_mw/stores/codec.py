"""Text encodings of states, events, transitions and times, shared by the stores.

Store authors get them from :mod:`connect_mw.stores.api`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, overload

import msgspec

from ..display import display
from ..model import EnvelopeState, EnvelopeStatus, PayloadFormat, Transition
from .codec_v1 import load_state_v1

if TYPE_CHECKING:
    from .api import Progress, StoredEvent

log = logging.getLogger("connect_mw")
#: How an encoding writes a time (``None`` included): :func:`dump_time`, or as it is.
TimeWriter = Callable[[datetime | None], Any]


@overload
def dump_time(value: datetime) -> str: ...
@overload
def dump_time(value: None) -> None: ...
@overload
def dump_time(value: datetime | None) -> str | None: ...


def dump_time(value: datetime | None) -> str | None:
    """A fixed-width UTC text that sorts like the time (``None`` stays ``None``)."""
    if value is None:
        return None
    if value.tzinfo is not timezone.utc:  # most parsed times already are; spare the convert
        value = value.astimezone(timezone.utc)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def load_time(text: str | None) -> datetime | None:
    """The inverse of :func:`dump_time`."""
    if text is None:
        return None
    return datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=timezone.utc)


def dump_transitions(transitions: tuple[Transition, ...]) -> str:
    """Transitions as a JSON list of ``[kind, status, recipient_id]``."""
    return json.dumps([[t.kind, t.status, t.recipient_id] for t in transitions])


def load_transitions(text: str) -> tuple[Transition, ...]:
    """The inverse of :func:`dump_transitions`."""
    return tuple(Transition(kind, status, rid) for kind, status, rid in json.loads(text))


class StoreEncodingError(ValueError):
    """A state or value a store cannot encode, or stored text that does not decode to one."""


#: States as msgspec writes the model's Structs: one JSON object per Struct, fields in model
#: order, sets sorted (so equal states are equal text), times in RFC 3339 with their offsets,
#: non-ASCII as is (``Dialect.search_text`` relies on that). The text is the same as when the
#: model was dataclasses (``tests/stores/fixtures/state_v2.json``).
_ENCODER = msgspec.json.Encoder(order="deterministic")
_DECODER = msgspec.json.Decoder(EnvelopeState)


def dump_state(state: EnvelopeState) -> str:
    """An envelope state as compact JSON text; :class:`StoreEncodingError` if it cannot be."""
    try:
        return _ENCODER.encode(state).decode("utf-8")
    except (UnicodeEncodeError, TypeError) as exc:  # a lone surrogate; a value of no JSON type
        raise StoreEncodingError(f"state of {state.envelope_id!r} cannot be stored: {exc}") from exc


def load_state(text: str | bytes) -> EnvelopeState:
    """The inverse of :func:`dump_state`; :class:`StoreEncodingError` for text that is not one.

    Also reads the first layout (short recipient keys, ``[time, status]`` timeline points;
    before that, no timelines, removals or rosters: those are then empty, and the fold starts
    their timelines from ``status``). The next commit of the envelope rewrites it.
    """
    try:
        return _DECODER.decode(text)
    except msgspec.ValidationError as exc:
        try:
            return load_state_v1(text)
        except msgspec.DecodeError:
            raise StoreEncodingError(f"stored state does not decode: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise StoreEncodingError(f"stored state does not decode: {exc}") from exc


def load_states(rows: Iterable[tuple[str, str | bytes]]) -> list[EnvelopeState]:
    """The states of a listing's rows ``(envelope_id, stored state text)``, in row order.

    A state that does not decode is left out, with one WARNING naming its envelope, so
    that one damaged row does not hide every other envelope; :func:`load_state` of it
    alone (``Store.load``) still raises :class:`StoreEncodingError`.
    """
    states: list[EnvelopeState] = []
    for envelope_id, text in rows:
        try:
            states.append(load_state(text))
        except StoreEncodingError as exc:
            log.warning("envelope %s left out of a listing: %s", display(envelope_id), exc)
    return states


def event_to_dict(event: StoredEvent) -> dict[str, Any]:
    """Every field of a stored event as JSON-ready values (``raw`` as base64, or ``None``)."""
    return {
        **event_fields(event),
        "raw": None if event.raw is None else base64.b64encode(event.raw).decode("ascii"),
        "sequence": event.sequence,
    }


def event_fields(event: StoredEvent, time: TimeWriter = dump_time) -> dict[str, Any]:
    """A stored event's fields but ``raw`` and ``sequence``, times written by ``time``.

    The names are those of :func:`event_to_dict` and of the SQL stores' columns.
    """
    return {
        "key": event.key,
        "envelope_id": event.envelope_id,
        "account_id": event.account_id,
        "event": event.event,
        "status": None if event.status is None else event.status.value,
        "format": event.format.value,
        "occurred_at": time(event.occurred_at),
        "received_at": time(event.received_at),
        "raw_size": event.raw_size,
        "transitions": dump_transitions(event.transitions),
        **progress_fields(event.progress, time),
    }


def progress_fields(progress: Progress, time: TimeWriter = dump_time) -> dict[str, Any]:
    """An event's processing fields (what ``Store.update_event`` replaces), as above."""
    lease = progress.lease
    return {
        "processing": progress.processing.value,
        "error": progress.error,
        "attempts": progress.attempts,
        "next_attempt_at": time(progress.next_attempt_at),
        "lease_worker": None if lease is None else lease.worker,
        "lease_until": None if lease is None else time(lease.until),
        "revision": progress.revision,
    }


def event_from_dict(d: dict[str, Any], *, with_raw: bool = True) -> StoredEvent:
    """The inverse of :func:`event_to_dict` (``with_raw=False`` leaves ``raw`` ``None``)."""
    from .api import Lease, ProcessingState, StoredEvent  # noqa: PLC0415 (api re-exports this)

    received = load_time(d["received_at"])
    assert received is not None
    until = load_time(d["lease_until"])
    raw = d["raw"] if with_raw else None
    return StoredEvent(
        key=d["key"],
        envelope_id=d["envelope_id"],
        account_id=d["account_id"],
        event=d["event"],
        status=None if d["status"] is None else EnvelopeStatus(d["status"]),
        format=PayloadFormat(d["format"]),
        occurred_at=load_time(d["occurred_at"]),
        received_at=received,
        raw_size=d["raw_size"],
        transitions=load_transitions(d["transitions"]),
        processing=ProcessingState(d["processing"]),
        error=d["error"],
        attempts=d["attempts"],
        next_attempt_at=load_time(d["next_attempt_at"]),
        lease=None if until is None else Lease(d["lease_worker"], until),
        raw=None if raw is None else base64.b64decode(raw),
        sequence=d["sequence"],
        revision=d["revision"],
    )
