"""Builders of :class:`~connect_mw.model.Notification` values for tests."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..model import (
    EnvelopeStatus,
    EnvelopeTimes,
    Notification,
    PayloadFormat,
    Recipient,
    RecipientStatus,
)

BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def recipient(
    recipient_id: str = "1",
    status: str | None = "sent",
    *,
    recipient_type: str = "signer",
    **fields: Any,
) -> Recipient:
    """A recipient with ``status`` (``None`` for unknown) and any other model fields."""
    return Recipient(
        recipient_id=recipient_id,
        recipient_type=recipient_type,
        status=None if status is None else RecipientStatus(status),
        **fields,
    )


def notification(
    envelope_id: str = "e1",
    status: str | None = "sent",
    *,
    at: datetime = BASE_TIME,
    event: str | None = None,
    account_id: str | None = "acct-1",
    recipients: tuple[Recipient, ...] = (),
    times: EnvelopeTimes | None = None,
    payload_format: PayloadFormat = PayloadFormat.JSON_SIM,
    **fields: Any,
) -> Notification:
    """A notification for ``envelope_id`` in ``status`` generated at ``at``.

    ``event`` defaults to ``envelope-<status>``; ``times`` defaults to the status' own time
    set to ``at`` when the status has a time field.
    """
    if times is None:
        known = status in EnvelopeTimes.__struct_fields__
        times = EnvelopeTimes(**{status: at}) if known and status else EnvelopeTimes()
    return Notification(
        event=event or f"envelope-{status or 'unknown'}",
        envelope_id=envelope_id,
        format=payload_format,
        account_id=account_id,
        status=None if status is None else EnvelopeStatus(status),
        generated_at=at,
        times=times,
        recipients=recipients,
        **fields,
    )
