"""The first layout of the stored envelope state, read so that states stored by it load.

That codec wrote a hand-built dict with ``json.dumps``: recipients under short keys (``id``,
``type``, ``guid``), timeline points as ``[time, status]``, times as UTC text ending in ``Z``.
States stored before timelines, removals and rosters lack those keys; they load empty. A
store keeps such text until the envelope's next commit rewrites it in today's layout
(:func:`connect_mw.stores.codec.dump_state`).

No second copy of the state's shape is kept here: the text is decoded to plain values, the
few names and shapes that differ are renamed to today's, and msgspec converts the result
into the model's Structs, checking it as it checks today's text.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..model import EnvelopeState

#: A recipient's short keys in the first layout, and the model's names for them.
_RECIPIENT_KEYS = {"id": "recipient_id", "type": "recipient_type", "guid": "recipient_id_guid"}


def load_state_v1(text: str | bytes) -> EnvelopeState:
    """A state stored in the first layout; ``msgspec.DecodeError`` if ``text`` is not one.

    A value of an unexpected shape is passed on unchanged, so that msgspec refuses it
    (``msgspec.ValidationError``, a ``DecodeError``).
    """
    state = msgspec.json.decode(text)
    if isinstance(state, dict):
        _renamed_timeline(state)
        recipients = state.get("recipients")
        for recipient in recipients if isinstance(recipients, list) else ():
            if isinstance(recipient, dict):
                for short, name in _RECIPIENT_KEYS.items():
                    if short in recipient:
                        recipient[name] = recipient.pop(short)
                _renamed_timeline(recipient)
    return msgspec.convert(state, EnvelopeState)


def _renamed_timeline(entity: dict[str, Any]) -> None:
    """``entity``'s timeline points ``[time, status]`` as the model's ``{at, status}``."""
    timeline = entity.get("timeline")
    if isinstance(timeline, list):
        entity["timeline"] = [
            {"at": point[0], "status": point[1]}
            if isinstance(point, list) and len(point) == 2
            else point
            for point in timeline
        ]
