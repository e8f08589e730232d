"""Reconciliation: find what Connect did not deliver, and feed it through the same pipeline.

:func:`reconcile` lists the envelopes whose status changed since a watermark
(``listStatusChanges``, every page, oldest change first), turns each into a ``rest-poll``
:class:`~connect_mw.model.Notification` and hands it to a :class:`Recorder` — a
:class:`~connect_mw.receiver.Receiver`, whose ``arecord`` runs the same pipeline as a
Connect delivery (key, fold, commit, then processing), so a poll that repeats what Connect
already delivered fires no transition. The watermark (kept by a :class:`Watermarks` store
under ``marker``: the receiver's store) advances only after a page's envelopes were all
committed: a crash mid-run repeats work on the next run, it never skips any.
:func:`reconcile_receiver` is the usual call: the receiver records, its store keeps the
watermark.

``stuck_envelopes`` (from :mod:`connect_mw.rest.stuck`, re-exported here) lists envelopes
still waiting with no activity for a while, from DocuSign's data alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from typing import TYPE_CHECKING, Protocol, TypeVar

from ..errors import ConfigurationError, ConnectError
from ..model import Notification
from ..parse.rest import envelope_bytes, rest_envelope_to_notification
from ..parse.timestamps import parse_timestamp
from .operations import DEFAULT_INCLUDE, DEFAULT_PAGE_SIZE, following_position
from .results import JSONObject, StatusChangesPage, moment
from .stuck import StuckEnvelope, find_stuck, stuck_envelopes

if TYPE_CHECKING:
    from ..receiver import Receiver
    from .client import AsyncESignClient

_R = TypeVar("_R")

#: The marker name the watermark is kept under by default.
WATERMARK = "docusign-reconcile"
#: The field pages are ordered by and the watermark follows.
CHANGED = "statusChangedDateTime"
#: How far before the stored watermark a run starts again (DocuSign indexes changes late).
DEFAULT_OVERLAP = timedelta(minutes=5)


__all__ = [
    "DEFAULT_OVERLAP",
    "WATERMARK",
    "FiredTransition",
    "NoWatermark",
    "ReconcileReport",
    "RecordOutcomeLike",
    "Recorder",
    "StuckEnvelope",
    "TransitionLike",
    "Watermarks",
    "find_stuck",
    "marker_value",
    "parse_watermark",
    "read_watermark",
    "reconcile",
    "reconcile_receiver",
    "stuck_envelopes",
]


class TransitionLike(Protocol):
    """A transition the recorder reports (``connect_mw.model.Transition`` is one)."""

    @property
    def name(self) -> str:
        """The transition's name: ``envelope-completed``, ``recipient-sent``…."""

    @property
    def recipient_id(self) -> str | None:
        """The recipient, for a recipient transition."""


class RecordOutcomeLike(Protocol):
    """What recording one notification did."""

    @property
    def inserted(self) -> bool:
        """``False`` when it was a duplicate of something already recorded."""

    @property
    def transitions(self) -> Sequence[TransitionLike]:
        """The transitions the notification caused (their callbacks fire once)."""


class Recorder(Protocol):
    """Records a notification exactly as a Connect delivery is recorded (a ``Receiver``)."""

    async def arecord(self, notification: Notification, raw: bytes) -> RecordOutcomeLike:
        """Store it once, fold it into its envelope's state, then process it."""


class Watermarks(Protocol):
    """Named markers kept in the store (every built-in ``Store`` is one)."""

    def read_marker(self, name: str) -> str | None:
        """The marker's value, ``None`` when never written."""

    def write_marker(self, name: str, value: str) -> None:
        """Store the marker's value (durably: it is written after a page is committed)."""

    async def offload(self, call: Callable[[], _R]) -> _R:
        """Run a blocking call of the store from async code."""


class NoWatermark(ConfigurationError):
    """The first run has no watermark to resume from: pass ``since``."""


@dataclass(frozen=True, slots=True)
class FiredTransition:
    """A transition a reconciled envelope caused (its callbacks fire in the worker)."""

    envelope_id: str
    name: str
    recipient_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What one run found, recorded and fired.

    ``found`` counts distinct envelopes; ``new`` the notifications recorded for the first
    time (``duplicates`` the others); ``unreadable`` the envelopes that could not be read
    (``id: reason``); ``watermark`` is the stored watermark after the run (``None`` for a
    dry run, which records nothing and moves nothing).
    """

    since: datetime
    until: datetime
    dry_run: bool
    pages: int
    found: int
    new: int
    duplicates: int
    transitions: tuple[FiredTransition, ...]
    unreadable: tuple[str, ...]
    envelopes: tuple[str, ...]
    watermark: str | None


@dataclass(slots=True)
class _Tally:
    """The running counts of a reconciliation."""

    pages: int = 0
    new: int = 0
    duplicates: int = 0
    seen: dict[str, None] = field(default_factory=dict)
    transitions: list[FiredTransition] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def marker_value(moment: datetime) -> str:
    """How a watermark is written: ISO 8601 in UTC."""
    return moment.astimezone(timezone.utc).isoformat()


async def read_watermark(watermarks: Watermarks, name: str) -> datetime | None:
    """The stored watermark as a datetime, ``None`` when there is none."""
    value = await watermarks.offload(lambda: watermarks.read_marker(name))
    return parse_watermark(value, name)


def parse_watermark(value: str | None, name: str) -> datetime | None:
    """A stored watermark's text as a datetime (``None`` for ``None``)."""
    if value is None:
        return None
    try:
        moment = parse_timestamp(value, f"watermark {name!r}")
    except ConnectError:
        moment = None
    if moment is None:
        raise ConfigurationError(f"the stored watermark {name!r} is not a timestamp: {value!r}")
    return moment


def page_high(page: StatusChangesPage) -> datetime | None:
    """The latest change on ``page`` if the page is in ascending order of change time.

    ``None`` when any envelope lacks a change time or the order is not the ascending one
    asked for.
    """
    times = [moment(envelope, CHANGED) for envelope in page.envelopes]
    known = [moment for moment in times if moment is not None]
    if len(known) != len(times) or not known:
        return None
    return known[-1] if all(a <= b for a, b in pairwise(known)) else None


@dataclass(slots=True)
class _Advance:
    """When the watermark may move mid-run.

    After a page is recorded its latest change time is *pending*; it is written once the
    next page shows it continues in ascending order (its first change is not earlier), so
    a server that ignored ``order=asc`` can never move the watermark past envelopes it has
    yet to list. One page out of order stops mid-run moves for the rest of the run; so
    does nothing after a page that showed the result set shrank (the next page is a re-read).
    """

    trusted: bool = True
    pending: datetime | None = None

    def confirmed(self, page: StatusChangesPage) -> datetime | None:
        """The pending time, if ``page`` (read right after its page) confirms the order."""
        pending, self.pending = self.pending, None
        if pending is None:
            return None
        first = moment(page.envelopes[0], CHANGED) if page.envelopes else None
        if first is None or first < pending:
            self.trusted = False
        return pending if self.trusted else None

    def recorded(self, page: StatusChangesPage, shrank: bool) -> None:
        """``page`` is recorded; its latest change becomes pending (when trustworthy)."""
        high = page_high(page)
        if high is None and page.envelopes:
            self.trusted = False
        self.pending = high if self.trusted and not shrank else None


@dataclass(slots=True)
class _Marker:
    """The stored watermark: moved forward only, never back, never on a dry run."""

    watermarks: Watermarks
    name: str
    current: datetime | None
    dry_run: bool
    written: str | None = None

    async def move(self, moment: datetime) -> None:
        """Store ``moment`` if it is later than the stored watermark."""
        if self.dry_run or (self.current is not None and moment <= self.current):
            return
        value = marker_value(moment)
        await self.watermarks.offload(lambda: self.watermarks.write_marker(self.name, value))
        self.current, self.written = moment, value


async def _record(
    envelope: JSONObject, account_id: str, recorder: Recorder, tally: _Tally, dry_run: bool
) -> None:
    """Convert one envelope and record it (unless ``dry_run``), counting what it did."""
    label = str(envelope.get("envelopeId") or "(no envelopeId)")
    try:
        notification = rest_envelope_to_notification(envelope, account_id)
    except ConnectError as exc:
        tally.unreadable.append(f"{label}: {exc.reason}")
        return
    tally.seen[notification.envelope_id] = None
    if dry_run:
        return
    outcome = await recorder.arecord(notification, envelope_bytes(envelope))
    if not outcome.inserted:
        tally.duplicates += 1
        return
    tally.new += 1
    tally.transitions.extend(
        FiredTransition(notification.envelope_id, t.name, t.recipient_id)
        for t in outcome.transitions
    )


def _window(
    stored: datetime | None,
    marker: str,
    *,
    since: datetime | None,
    until: datetime | None,
    overlap: timedelta,
    now: datetime,
) -> tuple[datetime, datetime]:
    """The ``[since, until]`` window of a run: ``since`` or the watermark less ``overlap``."""
    if since is None:
        if stored is None:
            raise NoWatermark(
                f"no watermark {marker!r} stored yet: give the first run a start "
                "(since=..., or --since), e.g. when your Connect listener went live"
            )
        since = stored - overlap
    end = until or now
    for name, bound in (("since", since), ("until", end)):
        if bound.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    if since >= end:
        raise ValueError(f"nothing to reconcile: since ({since}) is not before until ({end})")
    return since, end


async def reconcile(
    client: AsyncESignClient,
    recorder: Recorder,
    watermarks: Watermarks,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    dry_run: bool = False,
    marker: str = WATERMARK,
    overlap: timedelta = DEFAULT_OVERLAP,
    page_size: int = DEFAULT_PAGE_SIZE,
    include: Sequence[str] = DEFAULT_INCLUDE,
    now: Callable[[], datetime] | None = None,
) -> ReconcileReport:
    """Record every envelope whose status changed in ``[since, until]``; see the module.

    Without ``since`` the run resumes from the stored watermark (less ``overlap``); without
    ``until`` it ends now. Once a page is recorded the watermark moves to its latest change
    (written when the next page confirms DocuSign kept the ascending order asked for; see
    ``_Advance``), and after the last page to ``until`` — never backwards: a run over an
    older window leaves a later watermark where it is.
    """
    stored = await read_watermark(watermarks, marker)
    start, end = _window(
        stored, marker, since=since, until=until, overlap=overlap, now=(now or _utcnow)()
    )
    account = await client.get_account()
    tally, advance = _Tally(), _Advance()
    watermark = _Marker(watermarks, marker, stored, dry_run)
    position: int | None = 0
    total: int | None = None
    while position is not None:
        page = await client.list_status_changes_page(
            start, end, include=include, start_position=position, count=page_size
        )
        tally.pages += 1
        confirmed = advance.confirmed(page)
        if confirmed is not None:
            await watermark.move(confirmed)
        for envelope in page.envelopes:
            await _record(envelope, account.account_id, recorder, tally, dry_run)
        following = following_position(page, total)
        advance.recorded(page, following is not None and following <= page.start_position)
        position, total = following, page.total_set_size
    await watermark.move(end)
    return _report(tally, start, end, dry_run, watermark.current if not dry_run else None)


def _report(
    tally: _Tally, since: datetime, until: datetime, dry_run: bool, watermark: datetime | None
) -> ReconcileReport:
    return ReconcileReport(
        since=since,
        until=until,
        dry_run=dry_run,
        pages=tally.pages,
        found=len(tally.seen),
        new=tally.new,
        duplicates=tally.duplicates,
        transitions=tuple(tally.transitions),
        unreadable=tuple(tally.unreadable),
        envelopes=tuple(tally.seen),
        watermark=marker_value(watermark) if watermark is not None else None,
    )


async def reconcile_receiver(
    receiver: Receiver,
    client: AsyncESignClient,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    dry_run: bool = False,
    marker: str = WATERMARK,
    overlap: timedelta = DEFAULT_OVERLAP,
    page_size: int = DEFAULT_PAGE_SIZE,
    include: Sequence[str] = DEFAULT_INCLUDE,
    now: Callable[[], datetime] | None = None,
) -> ReconcileReport:
    """:func:`reconcile` into ``receiver``: recorded by it, the watermark in its store.

    Each envelope goes through ``receiver.arecord`` (its ``key_func``, store, encryption
    and mode: a deferred receiver leaves the callbacks to its workers, an inline one runs
    them before the next envelope).
    """
    return await reconcile(
        client,
        receiver,
        receiver.store,
        since=since,
        until=until,
        dry_run=dry_run,
        marker=marker,
        overlap=overlap,
        page_size=page_size,
        include=include,
        now=now,
    )


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)
