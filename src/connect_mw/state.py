"""Folding notifications into an envelope's state, and deriving transitions.

Connect delivers duplicates and out-of-order messages, and one legacy message can describe
several changes at once (signer 1 completed *and* signer 2 was sent). The fold therefore:

* adopts a message's status only when it is newer (DocuSign's timestamps, then lifecycle
  rank on ties) and never replaces a terminal status;
* collects every status the message gives evidence of — the current status plus every
  per-status timestamp it carries — for the envelope and for each recipient, and reports
  those not reached before as ``Transition`` values, in lifecycle order.

Folding is pure: the same inputs in any order end in the same final status and the same
set of reached statuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from .model import (
    ENVELOPE_TERMINAL,
    RECIPIENT_TERMINAL,
    EnvelopeState,
    Notification,
    Recipient,
    RecipientState,
    Transition,
)

_T = TypeVar("_T")
_ENVELOPE_TIME_FIELDS = (
    "created",
    "sent",
    "delivered",
    "signed",
    "completed",
    "declined",
    "voided",
    "deleted",
)


@dataclass(frozen=True, slots=True)
class FoldResult:
    """The state after a fold and the transitions the notification caused."""

    state: EnvelopeState
    transitions: tuple[Transition, ...]
    stale: bool


@dataclass(frozen=True, slots=True)
class _Lifecycle:
    """The order statuses normally follow, and those no later status replaces."""

    order: tuple[str, ...]
    terminal: frozenset[str]
    ranks: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ranks", {status: i for i, status in enumerate(self.order)})

    def rank(self, status: str) -> int:
        return self.ranks.get(status, -1)

    def _sort_key(self, status: str) -> tuple[bool, int, str]:
        rank = self.ranks.get(status, -1)
        return (rank < 0, rank, status)

    def consistent(self, evidence: set[str], final: str | None) -> set[str]:
        """``evidence`` without terminal statuses that contradict a terminal ``final``.

        A voided envelope cannot also be completed: a message claiming so is ignored for
        transitions, so ``on_envelope_completed`` never fires for it.
        """
        if final in self.terminal:
            return evidence - (self.terminal - {final})
        return evidence

    def ordered(self, statuses: set[str]) -> list[str]:
        """``statuses`` in lifecycle order, unknown ones last and alphabetical."""
        if len(statuses) < 2:
            return list(statuses)
        return sorted(statuses, key=self._sort_key)

    def supersedes(
        self, current: str | None, current_at: datetime | None, new: str, new_at: datetime | None
    ) -> bool:
        """Whether ``new`` seen at ``new_at`` replaces ``current`` seen at ``current_at``."""
        if current is None:
            return True
        if current in self.terminal:
            return False
        if new in self.terminal:
            return True
        if new_at is not None and current_at is not None and new_at != current_at:
            return new_at > current_at
        return self.rank(new) > self.rank(current)


#: Stand-ins for "nothing known yet": their ids are never used (the fold takes the
#: message's own), only their empty fields.
_NO_ENVELOPE = EnvelopeState(envelope_id="")
_NO_RECIPIENT = RecipientState(recipient_id="")

ENVELOPE_LIFECYCLE = _Lifecycle(
    ("created", "sent", "delivered", "signed", "completed", "declined", "voided"),
    ENVELOPE_TERMINAL,
)
RECIPIENT_LIFECYCLE = _Lifecycle(
    ("created", "sent", "delivered", "signed", "completed", "declined"), RECIPIENT_TERMINAL
)


def envelope_evidence(notification: Notification) -> set[str]:
    """Every envelope status the notification shows was reached."""
    seen = {name for name in _ENVELOPE_TIME_FIELDS if getattr(notification.times, name)}
    if notification.status is not None:
        seen.add(notification.status.value)
    return seen


def recipient_evidence(recipient: Recipient) -> set[str]:
    """Every recipient status the notification shows this recipient reached."""
    seen: set[str] = set()
    for status, stamp in (
        ("sent", recipient.sent_at),
        ("delivered", recipient.delivered_at),
        ("declined", recipient.declined_at),
    ):
        if stamp is not None:
            seen.add(status)
    if recipient.status is not None:
        seen.add(recipient.status.value)
    return seen


def _fold_recipient(
    current: RecipientState | None, recipient: Recipient, at: datetime | None
) -> tuple[RecipientState, list[Transition]]:
    state = current or _NO_RECIPIENT  # a constant: building an empty state costs a frozen init
    status, status_at = state.status, state.status_at
    newer = recipient.status is not None and RECIPIENT_LIFECYCLE.supersedes(
        None if status is None else status.value, status_at, recipient.status.value, at
    )
    if newer:
        status, status_at = recipient.status, at
    evidence = RECIPIENT_LIFECYCLE.consistent(
        recipient_evidence(recipient), None if status is None else status.value
    )
    new = [
        Transition("recipient", s, recipient.recipient_id)
        for s in RECIPIENT_LIFECYCLE.ordered(evidence - state.reached)
    ]
    folded = RecipientState(
        recipient_id=recipient.recipient_id if current is None else current.recipient_id,
        recipient_type=_pick(state.recipient_type, recipient.recipient_type, newer),
        email=_pick(state.email, recipient.email, newer),
        name=_pick(state.name, recipient.name, newer),
        routing_order=_pick(state.routing_order, recipient.routing_order, newer),
        status=status,
        status_at=status_at,
        reached=state.reached | evidence,
    )
    return folded, new


def _fold_recipients(
    state: EnvelopeState, notification: Notification
) -> tuple[tuple[RecipientState, ...], list[Transition]]:
    by_id = {r.recipient_id: r for r in state.recipients}
    transitions: list[Transition] = []
    for recipient in notification.recipients:
        folded, new = _fold_recipient(
            by_id.get(recipient.recipient_id), recipient, notification.occurred_at
        )
        by_id[recipient.recipient_id] = folded
        transitions.extend(new)
    return tuple(by_id.values()), transitions


def _pick(old: _T | None, new: _T | None, newer: bool) -> _T | None:
    """Keep ``old`` unless ``new`` is known and comes from a newer message (or fills a gap)."""
    if new is not None and (newer or old is None):
        return new
    return old


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def fold(state: EnvelopeState | None, notification: Notification) -> FoldResult:
    """Merge ``notification`` into ``state`` (``None`` for a new envelope)."""
    n = notification
    current = state or _NO_ENVELOPE
    at = n.occurred_at
    recipients, recipient_transitions = _fold_recipients(current, n)
    newer = n.status is not None and ENVELOPE_LIFECYCLE.supersedes(
        None if current.status is None else current.status.value,
        current.status_at,
        n.status.value,
        at,
    )
    status, status_at = (n.status, at) if newer else (current.status, current.status_at)
    evidence = ENVELOPE_LIFECYCLE.consistent(
        envelope_evidence(n), None if status is None else status.value
    )
    transitions = [
        Transition("envelope", s) for s in ENVELOPE_LIFECYCLE.ordered(evidence - current.reached)
    ]
    new_state = EnvelopeState(
        envelope_id=n.envelope_id if state is None else current.envelope_id,
        account_id=current.account_id or n.account_id,
        status=status,
        status_at=status_at,
        updated_at=_latest(current.updated_at, at),
        subject=_pick(current.subject, n.subject, newer),
        void_reason=_pick(current.void_reason, n.void_reason, newer),
        decline_reason=_pick(current.decline_reason, n.decline_reason, newer),
        reached=current.reached | evidence,
        recipients=recipients,
        event_count=current.event_count + 1,
    )
    stale = n.status is not None and not newer
    return FoldResult(new_state, tuple(transitions + recipient_transitions), stale)
