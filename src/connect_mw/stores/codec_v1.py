"""The first layout of the stored envelope state, read so that states stored by it load.

That codec wrote a hand-built dict with ``json.dumps``: recipients under short keys (``id``,
``type``, ``guid``), timeline points as ``[time, status]``, times as UTC text ending in ``Z``.
States stored before timelines, removals and rosters lack those keys; they load empty. A
store keeps such text until the envelope's next commit rewrites it in today's layout
(:func:`connect_mw.stores.codec.dump_state`).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from ..model import EnvelopeState, EnvelopeStatus, RecipientStatus


class _ObservationV1(msgspec.Struct, array_like=True):
    """A timeline point of the first layout: ``[time, status]``."""

    at: datetime | None
    status: str


class _RecipientV1(
    msgspec.Struct,
    rename={"recipient_id": "id", "recipient_type": "type", "recipient_id_guid": "guid"},
):
    """A recipient of the first layout (short keys; fields added later may be missing)."""

    recipient_id: str
    recipient_type: str | None = None
    email: str | None = None
    name: str | None = None
    routing_order: int | None = None
    status: RecipientStatus | None = None
    status_at: datetime | None = None
    reached: frozenset[str] = frozenset()
    removed_at: datetime | None = None
    last_seen_at: datetime | None = None
    identity_at: datetime | None = None
    timeline: tuple[_ObservationV1, ...] = ()
    recipient_id_guid: str | None = None


class _StateV1(msgspec.Struct):
    """A state of the first layout, which had the model's top-level keys."""

    envelope_id: str
    account_id: str | None = None
    status: EnvelopeStatus | None = None
    status_at: datetime | None = None
    updated_at: datetime | None = None
    subject: str | None = None
    void_reason: str | None = None
    decline_reason: str | None = None
    reached: frozenset[str] = frozenset()
    recipients: tuple[_RecipientV1, ...] = ()
    event_count: int = 0
    timeline: tuple[_ObservationV1, ...] = ()
    roster: frozenset[str] | None = None
    roster_at: datetime | None = None


_DECODER = msgspec.json.Decoder(_StateV1)


def load_state_v1(text: str | bytes) -> EnvelopeState:
    """A state stored in the first layout; ``msgspec.DecodeError`` if ``text`` is not one.

    The model's Structs are built from the decoded ones' attributes, field by field.
    """
    return msgspec.convert(_DECODER.decode(text), EnvelopeState, from_attributes=True)
