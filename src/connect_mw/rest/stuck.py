"""Stuck envelopes: still waiting on someone, with no activity for a while.

Read from DocuSign's data alone (``listStatusChanges`` with recipients), so it needs no
store: an envelope is stuck when its status is ``sent`` or ``delivered`` and neither its
status nor any recipient (sent, delivered, signed, declined) moved for ``idle_for``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .results import JSONObject, moment

if TYPE_CHECKING:
    from .client import AsyncESignClient

#: Envelope statuses that wait on someone: what can be stuck.
IN_FLIGHT = ("sent", "delivered")
_RECIPIENT_TIMES = ("sentDateTime", "deliveredDateTime", "signedDateTime", "declinedDateTime")


@dataclass(frozen=True, slots=True)
class StuckEnvelope:
    """An envelope still waiting on someone, with no activity since ``last_activity``.

    ``waiting_on`` names the recipients that have not finished (email, else name).
    """

    envelope_id: str
    status: str
    last_activity: datetime
    idle: timedelta
    subject: str | None
    waiting_on: tuple[str, ...]


def _recipients(envelope: JSONObject) -> list[dict[str, Any]]:
    lists = envelope.get("recipients")
    if not isinstance(lists, dict):
        return []
    found: list[dict[str, Any]] = []
    for members in lists.values():
        if isinstance(members, list):
            found.extend(member for member in members if isinstance(member, dict))
    return found


def last_activity(envelope: JSONObject) -> datetime | None:
    """The latest of the envelope's status change and its recipients' sent/delivered/signed."""
    stamps = [moment(envelope, "statusChangedDateTime")]
    for recipient in _recipients(envelope):
        stamps.extend(moment(recipient, key) for key in _RECIPIENT_TIMES)
    known = [stamp for stamp in stamps if stamp is not None]
    return max(known) if known else None


def _waiting_on(envelope: JSONObject) -> tuple[str, ...]:
    waiting = []
    for recipient in _recipients(envelope):
        if str(recipient.get("status", "")).lower() in IN_FLIGHT:
            who = recipient.get("email") or recipient.get("name") or recipient.get("recipientId")
            waiting.append(str(who))
    return tuple(waiting)


def find_stuck(
    envelopes: Iterable[JSONObject],
    now: datetime,
    idle_for: timedelta,
    statuses: Sequence[str] = IN_FLIGHT,
) -> list[StuckEnvelope]:
    """The envelopes in ``statuses`` with no activity for ``idle_for``, longest idle first."""
    wanted = {status.lower() for status in statuses}
    stuck = []
    for envelope in envelopes:
        status = str(envelope.get("status", "")).lower()
        latest = last_activity(envelope)
        if status not in wanted or latest is None or now - latest < idle_for:
            continue
        subject = envelope.get("emailSubject")
        stuck.append(
            StuckEnvelope(
                envelope_id=str(envelope.get("envelopeId", "")),
                status=status,
                last_activity=latest,
                idle=now - latest,
                subject=subject if isinstance(subject, str) else None,
                waiting_on=_waiting_on(envelope),
            )
        )
    return sorted(stuck, key=lambda item: item.last_activity)


async def stuck_envelopes(
    client: AsyncESignClient,
    idle_for: timedelta,
    *,
    look_back: timedelta = timedelta(days=90),
    statuses: Sequence[str] = IN_FLIGHT,
    now: datetime | None = None,
) -> list[StuckEnvelope]:
    """Envelopes still ``sent``/``delivered`` whose last activity is ``idle_for`` old or more.

    Asks DocuSign for envelopes in ``statuses`` whose status last changed between
    ``look_back`` and ``idle_for`` ago, then keeps those whose recipients did nothing since.
    """
    at = now or datetime.now(timezone.utc)
    envelopes = await client.list_status_changes(
        at - look_back, at - idle_for, status=statuses, include=("recipients",)
    )
    return find_stuck(envelopes, at, idle_for, statuses)
