"""The first state codec (``json.dumps`` of hand-built dicts), kept for ``state_codec.py``.

A copy of ``connect_mw.stores.codec`` before the state went through msgspec; the package
still reads its text (``tests/stores/fixtures/state_v1.json``). Only the bench imports this.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, overload

from connect_mw.model import (
    EnvelopeState,
    EnvelopeStatus,
    Observation,
    PayloadFormat,
    RecipientState,
    RecipientStatus,
    Transition,
)

if TYPE_CHECKING:
    from connect_mw.stores.api import StoredEvent


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


def _dump_timeline(timeline: tuple[Observation, ...]) -> list[list[str | None]]:
    return [[dump_time(point.at), point.status] for point in timeline]


def _load_timeline(items: list[list[str | None]] | None) -> tuple[Observation, ...]:
    """Observations as ``[time, status]`` pairs; a state stored before timelines has none."""
    return tuple(Observation(load_time(at), str(status)) for at, status in items or ())


def _recipient_dict(r: RecipientState) -> dict[str, Any]:
    return {
        "id": r.recipient_id,
        "type": r.recipient_type,
        "email": r.email,
        "name": r.name,
        "routing_order": r.routing_order,
        "status": None if r.status is None else r.status.value,
        "status_at": dump_time(r.status_at),
        "reached": sorted(r.reached),
        "removed_at": dump_time(r.removed_at),
        "last_seen_at": dump_time(r.last_seen_at),
        "identity_at": dump_time(r.identity_at),
        "timeline": _dump_timeline(r.timeline),
        "guid": r.recipient_id_guid,
    }


def _recipient_from(d: dict[str, Any]) -> RecipientState:
    return RecipientState(
        recipient_id=d["id"],
        recipient_type=d["type"],
        email=d["email"],
        name=d["name"],
        routing_order=d["routing_order"],
        status=None if d["status"] is None else RecipientStatus(d["status"]),
        status_at=load_time(d["status_at"]),
        reached=frozenset(d["reached"]),
        removed_at=load_time(d.get("removed_at")),
        last_seen_at=load_time(d.get("last_seen_at")),
        identity_at=load_time(d.get("identity_at")),
        timeline=_load_timeline(d.get("timeline")),
        recipient_id_guid=d.get("guid"),
    )


def dump_state(state: EnvelopeState) -> str:
    """An envelope state as compact JSON text."""
    return json.dumps(
        {
            "envelope_id": state.envelope_id,
            "account_id": state.account_id,
            "status": None if state.status is None else state.status.value,
            "status_at": dump_time(state.status_at),
            "updated_at": dump_time(state.updated_at),
            "subject": state.subject,
            "void_reason": state.void_reason,
            "decline_reason": state.decline_reason,
            "reached": sorted(state.reached),
            "recipients": [_recipient_dict(r) for r in state.recipients],
            "event_count": state.event_count,
            "timeline": _dump_timeline(state.timeline),
            "roster": None if state.roster is None else sorted(state.roster),
            "roster_at": dump_time(state.roster_at),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def load_state(text: str) -> EnvelopeState:
    """The inverse of :func:`dump_state`.

    Also reads states written before timelines, removals and rosters were stored: those
    fields are then empty, and the fold starts their timelines from ``status``.
    """
    d = json.loads(text)
    roster = d.get("roster")
    return EnvelopeState(
        envelope_id=d["envelope_id"],
        account_id=d["account_id"],
        status=None if d["status"] is None else EnvelopeStatus(d["status"]),
        status_at=load_time(d["status_at"]),
        updated_at=load_time(d["updated_at"]),
        subject=d["subject"],
        void_reason=d["void_reason"],
        decline_reason=d["decline_reason"],
        reached=frozenset(d["reached"]),
        recipients=tuple(_recipient_from(r) for r in d["recipients"]),
        event_count=d["event_count"],
        timeline=_load_timeline(d.get("timeline")),
        roster=None if roster is None else frozenset(roster),
        roster_at=load_time(d.get("roster_at")),
    )


def event_to_dict(event: StoredEvent) -> dict[str, Any]:
    """Every field of a stored event as JSON-ready values (``raw`` as base64, or ``None``)."""
    lease = event.lease
    return {
        "key": event.key,
        "envelope_id": event.envelope_id,
        "account_id": event.account_id,
        "event": event.event,
        "status": None if event.status is None else event.status.value,
        "format": event.format.value,
        "occurred_at": dump_time(event.occurred_at),
        "received_at": dump_time(event.received_at),
        "raw_size": event.raw_size,
        "transitions": dump_transitions(event.transitions),
        "processing": event.processing.value,
        "error": event.error,
        "attempts": event.attempts,
        "next_attempt_at": dump_time(event.next_attempt_at),
        "lease_worker": None if lease is None else lease.worker,
        "lease_until": None if lease is None else dump_time(lease.until),
        "raw": None if event.raw is None else base64.b64encode(event.raw).decode("ascii"),
        "sequence": event.sequence,
        "revision": event.revision,
    }


def event_from_dict(d: dict[str, Any], *, with_raw: bool = True) -> StoredEvent:
    """The inverse of :func:`event_to_dict` (``with_raw=False`` leaves ``raw`` ``None``)."""
    from connect_mw.stores.api import Lease, ProcessingState, StoredEvent  # noqa: PLC0415

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
