"""Signed bodies the parser refuses: kept as dead letters, never refused.

A request that passed authentication came from DocuSign. Answering it 4xx for its content
would mark the customer's Connect configuration as failing (DocuSign then holds back every
later message of it and retries about once a day), so such a body is stored as an event of
format ``unparsed``: about no envelope, already ``dead`` with the parser's reason as its
error, keyed by a hash of the body (DocuSign's retries of the same bytes are duplicates).
It is answered 200, logged as a warning, counted, listed with the dead letters, and
:mod:`connect_mw.replay` parses it again after an upgrade.
"""

from __future__ import annotations

import hashlib

from .model import PayloadFormat
from .stores.api import ProcessingState, StoredEvent, utcnow

#: The ``event`` name of an unparsed dead letter.
UNPARSED_EVENT = "unparsed"


def unparsed_key(raw: bytes) -> str:
    """The idempotency key of an unparsed body: the same bytes, the same key."""
    return "unparsed:" + hashlib.sha256(raw).hexdigest()[:40]


def unparsed_event(raw: bytes, reason: str, account_id: str | None) -> StoredEvent:
    """The dead letter to store for a signed body the parser refused with ``reason``."""
    now = utcnow()
    return StoredEvent(
        key=unparsed_key(raw),
        envelope_id="",
        account_id=account_id,
        event=UNPARSED_EVENT,
        status=None,
        format=PayloadFormat.UNPARSED,
        occurred_at=None,
        received_at=now,
        raw_size=len(raw),
        transitions=(),
        processing=ProcessingState.DEAD,
        error=f"the signed body could not be parsed: {reason}",
        next_attempt_at=now,
        raw=raw,
    )
