"""Folding notifications into an envelope's state, and deriving transitions.

Connect delivers duplicates and out-of-order messages, one legacy message can describe
several changes at once (signer 1 completed *and* signer 2 was sent), and a correction can
step an envelope or a recipient back (delivered → sent → delivered). The fold therefore
keeps, for the envelope and for each recipient, a *timeline*: every ``Observation`` of its
status — the message's current status at the message's time, and each per-status time the
message carries. In time order (lifecycle order on ties), a run of one status is one
*episode*; the status is the last observation's. Then:

* a transition fires each time a status gains an episode: a new status, or a status
  entered again after another one; a duplicate or an older message about a known episode
  adds no episode and fires nothing;
* completed, declined and voided seal the timeline: later observations are ignored, except
  that an envelope may still become ``deleted``, and a ``timedout`` one ``voided`` or
  ``deleted`` (listStatusChanges' from/to table);
* a full recipient list newer than every other sighting of a recipient it does not name
  marks that recipient removed (``recipient-removed`` fires once per recipient: ``removed``
  joins its ``reached``, so a later message naming it and a newer list omitting it again
  fire nothing more).

Folding is pure, and the final state and the episodes fired do not depend on the order the
messages came in, with one bound: a run of one status keeps its first observation and its
latest ones (``RUN_POINTS`` in all), so a state stays small however many messages an envelope
gets. Which older points of a long run remain can then depend on the order (they tell no
episode apart), and two or more late messages that step back and forth inside the dropped
part of a run (older than its ``RUN_POINTS - 1`` latest observations) may count as fewer
episodes than in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TypeVar

import msgspec
from msgspec.structs import replace

from .model import (
    ENVELOPE_TERMINAL,
    RECIPIENT_TERMINAL,
    EnvelopeState,
    EnvelopeStatus,
    Notification,
    Observation,
    Recipient,
    RecipientState,
    RecipientStatus,
    Transition,
)

_T = TypeVar("_T")
#: The most observations one run of a status keeps: its first, and its latest ones. Every
#: message adds one per recipient it names (its status at the message's time), so without a
#: bound a long-lived envelope's state (and each fold's time) grows with every message.
RUN_POINTS = 16
#: ``EnvelopeTimes`` fields and the status each one shows the envelope entered.
_ENVELOPE_TIME_FIELDS = {
    "created": "created",
    "sent": "sent",
    "delivered": "delivered",
    "signed": "signed",
    "completed": "completed",
    "declined": "declined",
    "voided": "voided",
    "deleted": "deleted",
    "timed_out": "timedout",
}


class FoldResult(msgspec.Struct, frozen=True):
    """The state after a fold and the transitions the notification caused."""

    state: EnvelopeState
    transitions: tuple[Transition, ...]
    stale: bool


class _Timeline(msgspec.Struct, frozen=True):
    """What the fold knows of one entity's status: its observations and their episodes."""

    points: tuple[Observation, ...]
    #: How many episodes each status has (absent: none).
    episodes: dict[str, int]
    status: str | None
    status_at: datetime | None


class _Lifecycle:
    """The order statuses normally follow, and what may still follow a sealing status."""

    __slots__ = ("after", "keys", "ranks", "sealed")

    def __init__(self, order: tuple[str, ...], after: Mapping[str, frozenset[str]]) -> None:
        #: A sealing status and the statuses that may still follow it.
        self.after = after
        #: A sealing status and the statuses that still count after it: itself and ``after``.
        self.sealed = {seal: then | {seal} for seal, then in after.items()}
        self.ranks = {status: i for i, status in enumerate(order)}
        self.keys = {status: (i, status) for i, status in enumerate(order)}

    def rank(self, status: str) -> int:
        return self.ranks.get(status, -1)

    def _order_key(self, status: str) -> tuple[int, str]:
        """Lifecycle rank; unknown statuses after every known one, alphabetical."""
        return self.keys.get(status) or (len(self.keys), status)

    def _time_key(self, point: Observation) -> tuple[datetime | None, tuple[int, str]]:
        return point.at, self._order_key(point.status)

    def ordered(self, statuses: Iterable[str]) -> list[str]:
        """``statuses`` in lifecycle order, unknown ones last and alphabetical."""
        return sorted(statuses, key=self._order_key)

    def timeline(self, points: tuple[Observation, ...]) -> _Timeline:
        """The episodes and current status ``points`` show, and the points worth keeping.

        Timed observations are read in time order (lifecycle order on ties) up to a sealing
        status; after it only what may follow it counts. An untimed one (a message without
        any time) counts as an episode of a status no timed one shows. A run keeps at most
        :data:`RUN_POINTS` points: its first and its latest ones.
        """
        if not points:
            return _Timeline((), {}, None, None)
        timed: list[Observation] = []
        untimed: list[Observation] = []
        for point in points:
            (untimed if point.at is None else timed).append(point)
        timed.sort(key=self._time_key)
        kept: list[Observation] = []
        episodes: dict[str, int] = {}
        allowed: frozenset[str] | None = None  # once sealed, the statuses that still count
        run_start = 0
        previous = None
        for point in timed:
            if point == previous:  # the same observation twice: sorted, they are neighbours
                continue
            previous = point
            status = point.status
            if allowed is not None and status not in allowed:
                continue
            if kept and kept[-1].status == status:
                if allowed is None:  # a sealed run never splits: one point says it all
                    kept.append(point)
                    if len(kept) - run_start > RUN_POINTS:
                        del kept[run_start + 1]  # the oldest point inside the run
                continue
            run_start = len(kept)
            kept.append(point)
            episodes[status] = episodes.get(status, 0) + 1
            allowed = self.sealed.get(status, allowed)
        # the last run's status, and when it was entered: its first point's time
        current, current_at = (kept[run_start].status, kept[run_start].at) if kept else (None, None)
        untimed = sorted(
            {point.status: point for point in untimed}.values(),
            key=lambda point: self._order_key(point.status),
        )
        for point in untimed:
            status = point.status
            if allowed is not None and status not in allowed:
                continue
            episodes[status] = max(episodes.get(status, 0), 1)
            if current is None or self._replaces(current, status):
                current, current_at = status, None
        return _Timeline(tuple(kept + untimed), episodes, current, current_at)

    def _replaces(self, current: str, untimed: str) -> bool:
        """Whether a status seen without a time replaces ``current`` (lifecycle rank decides)."""
        if current in self.after:
            return False
        return untimed in self.after or self.rank(untimed) > self.rank(current)


#: Stand-ins for "nothing known yet": their ids are never used (the fold takes the
#: message's own), only their empty fields.
_NO_ENVELOPE = EnvelopeState(envelope_id="")
_NO_RECIPIENT = RecipientState(recipient_id="")

ENVELOPE_LIFECYCLE = _Lifecycle(
    (
        "created",
        "sent",
        "delivered",
        "signed",
        "completed",
        "declined",
        "timedout",
        "voided",
        "deleted",
    ),
    {
        **{status: frozenset({"deleted"}) for status in ENVELOPE_TERMINAL},
        "timedout": frozenset({"voided", "deleted"}),
        "deleted": frozenset(),
    },
)
RECIPIENT_LIFECYCLE = _Lifecycle(
    ("created", "sent", "delivered", "signed", "completed", "declined"),
    {status: frozenset() for status in RECIPIENT_TERMINAL},
)


def envelope_observations(notification: Notification) -> list[Observation]:
    """The envelope's current status at the message's time, and every per-status time."""
    n = notification
    seen = [
        Observation(stamp, status)
        for name, status in _ENVELOPE_TIME_FIELDS.items()
        if (stamp := getattr(n.times, name)) is not None
    ]
    if n.status is not None:
        seen.append(Observation(n.occurred_at, n.status.value))
        if n.times.status_changed is not None:
            seen.append(Observation(n.times.status_changed, n.status.value))
    return seen


def recipient_observations(recipient: Recipient, at: datetime | None) -> list[Observation]:
    """The recipient's status at ``at`` (the message's time), and its per-status times.

    ``signed_at`` dates a ``signed`` or ``completed`` status only: it is when the
    recipient signed, and says nothing of a recipient the message shows in another status.
    """
    status = None if recipient.status is None else recipient.status.value
    stamps = [
        ("sent", recipient.sent_at),
        ("delivered", recipient.delivered_at),
        ("declined", recipient.declined_at),
    ]
    if status in ("signed", "completed"):
        stamps.append((status, recipient.signed_at))
    seen = [Observation(stamp, name) for name, stamp in stamps if stamp is not None]
    if status is not None:
        seen.append(Observation(at, status))
    return seen


def _stored_points(
    points: tuple[Observation, ...], status: str | None, status_at: datetime | None
) -> tuple[Observation, ...]:
    """A state's observations; a state stored before timelines existed gives its status."""
    if points or status is None:
        return points
    return (Observation(status_at, status),)


def _new_episodes(
    lifecycle: _Lifecycle, before: _Timeline, after: _Timeline, reached: frozenset[str]
) -> list[str]:
    """Each status once per episode ``after`` has beyond ``before`` (or ``reached``)."""
    fired: list[str] = []
    for status in lifecycle.ordered(after.episodes):
        known = max(before.episodes.get(status, 0), 1 if status in reached else 0)
        fired.extend([status] * max(0, after.episodes[status] - known))
    return fired


def _fold_recipient(
    current: RecipientState | None, recipient: Recipient, at: datetime | None
) -> tuple[RecipientState, list[Transition]]:
    state = current or _NO_RECIPIENT  # a constant: building an empty state costs a frozen init
    old_status = None if state.status is None else state.status.value
    old_points = _stored_points(state.timeline, old_status, state.status_at)
    before = RECIPIENT_LIFECYCLE.timeline(old_points)
    after = RECIPIENT_LIFECYCLE.timeline(old_points + tuple(recipient_observations(recipient, at)))
    new = [
        Transition("recipient", s, recipient.recipient_id)
        for s in _new_episodes(RECIPIENT_LIFECYCLE, before, after, state.reached)
    ]
    newer = at is not None and (state.identity_at is None or at >= state.identity_at)
    folded = RecipientState(
        recipient_id=recipient.recipient_id if current is None else current.recipient_id,
        recipient_type=_pick(state.recipient_type, recipient.recipient_type, newer),
        email=_pick(state.email, recipient.email, newer),
        name=_pick(state.name, recipient.name, newer),
        routing_order=_pick(state.routing_order, recipient.routing_order, newer),
        status=None if after.status is None else RecipientStatus(after.status),
        status_at=after.status_at,
        reached=state.reached | frozenset(after.episodes),
        removed_at=state.removed_at,
        last_seen_at=_latest(state.last_seen_at, at),
        identity_at=_latest(state.identity_at, at)
        if _has_identity(recipient)
        else state.identity_at,
        timeline=after.points,
        recipient_id_guid=_pick(state.recipient_id_guid, recipient.recipient_id_guid, newer),
    )
    return folded, new


def _has_identity(recipient: Recipient) -> bool:
    """Whether the message says who the recipient is (a SIM recipient event does not)."""
    return recipient.email is not None or recipient.name is not None


def _fold_recipients(
    state: EnvelopeState, notification: Notification
) -> tuple[dict[str, RecipientState], list[Transition]]:
    by_id = {r.recipient_id: r for r in state.recipients}
    transitions: list[Transition] = []
    for recipient in notification.recipients:
        folded, new = _fold_recipient(
            by_id.get(recipient.recipient_id), recipient, notification.occurred_at
        )
        by_id[recipient.recipient_id] = folded
        transitions.extend(new)
    return by_id, transitions


def _roster(
    state: EnvelopeState, notification: Notification
) -> tuple[frozenset[str] | None, datetime | None]:
    """The newest full recipient list's ids and time, this message's if it is one."""
    at = notification.occurred_at
    if not notification.full_recipient_list or at is None:
        return state.roster, state.roster_at
    ids = frozenset(r.recipient_id for r in notification.recipients) | frozenset(
        r.recipient_id_guid for r in notification.recipients if r.recipient_id_guid
    )
    if state.roster is None or state.roster_at is None or at > state.roster_at:
        return ids, at
    if at == state.roster_at:
        return state.roster | ids, at
    return state.roster, state.roster_at


def _mark_removed(
    by_id: dict[str, RecipientState],
    was_removed: set[str],
    roster: frozenset[str] | None,
    roster_at: datetime | None,
) -> tuple[tuple[RecipientState, ...], list[Transition]]:
    """Mark removed each recipient the newest full list omits and no newer message names."""
    recipients: list[RecipientState] = []
    transitions: list[Transition] = []
    for rid, known in by_id.items():
        removed = (
            roster is not None
            and roster_at is not None
            and rid not in roster
            and known.recipient_id_guid not in roster
            and _seen_before(known, roster_at)
        )
        removed_at = roster_at if removed else None
        reached = known.reached
        if removed and "removed" not in reached:
            # a removal counts as reached: a later message naming the recipient and a newer
            # list omitting it again fire nothing more
            if rid not in was_removed:
                transitions.append(Transition("recipient", "removed", rid))
            reached = reached | {"removed"}
        same = removed_at == known.removed_at and reached == known.reached
        recipients.append(known if same else replace(known, removed_at=removed_at, reached=reached))
    return tuple(recipients), transitions


def _seen_before(r: RecipientState, moment: datetime) -> bool:
    """Whether nothing shows ``r`` after ``moment``.

    A state stored before ``last_seen_at`` existed knows only the recipient's ``status_at``.
    """
    seen = r.last_seen_at or r.status_at
    return seen is None or seen < moment


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
    was_removed = {r.recipient_id for r in current.recipients if r.removed_at is not None}
    by_id, recipient_transitions = _fold_recipients(current, n)
    roster, roster_at = _roster(current, n)
    recipients, removals = _mark_removed(by_id, was_removed, roster, roster_at)
    old_status = None if current.status is None else current.status.value
    old_points = _stored_points(current.timeline, old_status, current.status_at)
    before = ENVELOPE_LIFECYCLE.timeline(old_points)
    after = ENVELOPE_LIFECYCLE.timeline(old_points + tuple(envelope_observations(n)))
    transitions = [
        Transition("envelope", s)
        for s in _new_episodes(ENVELOPE_LIFECYCLE, before, after, current.reached)
    ]
    newer = at is not None and (current.updated_at is None or at >= current.updated_at)
    new_state = EnvelopeState(
        envelope_id=n.envelope_id if state is None else current.envelope_id,
        account_id=current.account_id or n.account_id,
        status=None if after.status is None else EnvelopeStatus(after.status),
        status_at=after.status_at,
        updated_at=_latest(current.updated_at, at),
        subject=_pick(current.subject, n.subject, newer),
        void_reason=_pick(current.void_reason, n.void_reason, newer),
        decline_reason=_pick(current.decline_reason, n.decline_reason, newer),
        reached=current.reached | frozenset(after.episodes),
        recipients=recipients,
        event_count=current.event_count + 1,
        timeline=after.points,
        roster=roster,
        roster_at=roster_at,
    )
    stale = n.status is not None and _stale(n, before, after)
    return FoldResult(new_state, tuple(transitions + recipient_transitions + removals), stale)


def _stale(n: Notification, before: _Timeline, after: _Timeline) -> bool:
    """Whether the message's status is not the envelope's latest: an older message."""
    assert n.status is not None
    if after.status != n.status.value:
        return True
    latest = max((p.at for p in before.points if p.at is not None), default=None)
    at = n.occurred_at
    return latest is not None and at is not None and at < latest
