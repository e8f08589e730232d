"""Envelope lifecycles as DocuSign would report them: events, each with the envelope after it.

A :class:`Lifecycle` knows its truth (final envelope status, final recipient statuses), so a
test can check that whatever order, duplicates and retries the deliveries suffered, the
receiver folded them into that truth. Timestamps strictly increase, as DocuSign's do.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

#: The lifecycle kinds :func:`build_lifecycle` knows.
KINDS = ("completed", "routing", "declined", "voided", "corrected", "resent")

_NAMES = (
    ("Zoë Müller", "zoe.mueller@example.com"),
    ("渡辺 健", "ken.watanabe@example.jp"),
    ("Amara Okafor", "amara.okafor@example.org"),
    ("Liam O'Brien", "liam.obrien@example.ie"),
    ("Sofía Hernández", "sofia.hernandez@example.es"),
)
_SUBJECTS = ("Rahmenvertrag", "Mietvertrag", "NDA", "Statement of work", "Offer letter")
DECLINE_REASON = "The amounts in section 3 are wrong."
VOID_REASON = "Superseded by a corrected envelope."


@dataclass(frozen=True, slots=True)
class Party:
    """A recipient of the simulated envelope (``kind`` is ``signer`` or ``carbon_copy``)."""

    recipient_id: str
    guid: str
    kind: str
    name: str
    email: str
    routing_order: int


@dataclass(frozen=True, slots=True)
class PartyState:
    """A recipient's status and per-status times at one moment."""

    status: str = "created"
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    signed_at: datetime | None = None
    declined_at: datetime | None = None
    decline_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Moment:
    """One event and the envelope right after it: what a Connect message reports."""

    event: str
    at: datetime
    status: str
    times: tuple[tuple[str, datetime], ...]
    parties: tuple[PartyState, ...]
    recipient_id: str | None = None
    void_reason: str | None = None

    def time(self, name: str) -> datetime | None:
        """The envelope's ``name`` time (``sent``, ``completed`` …) at this moment."""
        return dict(self.times).get(name)


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """One simulated envelope: its recipients and the moments DocuSign reports."""

    envelope_id: str
    kind: str
    subject: str
    parties: tuple[Party, ...]
    moments: tuple[Moment, ...]

    @property
    def final_status(self) -> str:
        """The envelope status the receiver must end with."""
        return self.moments[-1].status

    def final_recipients(
        self, *, by_guid: bool = False, reported_only: bool = False
    ) -> dict[str, str]:
        """Each recipient's final status, by short id (JSON) or GUID (XML).

        ``reported_only`` keeps recipients that some ``recipient-*`` event named: a minimal
        SIM message carries no recipient list, so only those reach the receiver.
        """
        named = {m.recipient_id for m in self.moments if m.recipient_id is not None}
        final = self.moments[-1].parties
        return {
            (party.guid if by_guid else party.recipient_id): state.status
            for party, state in zip(self.parties, final, strict=True)
            if not reported_only or party.recipient_id in named
        }


def _advance(state: PartyState, status: str, at: datetime) -> PartyState:
    """``state`` after the recipient reached ``status`` at ``at``."""
    if status == "sent":
        return replace(state, status=status, sent_at=at)
    if status == "delivered":
        return replace(state, status=status, delivered_at=at)
    if status == "declined":
        return replace(state, status=status, declined_at=at, decline_reason=DECLINE_REASON)
    return replace(state, status=status, signed_at=at)


class _Script:
    """Plays a lifecycle: each call advances the clock and records a :class:`Moment`."""

    def __init__(self, rng: random.Random, start: datetime, parties: tuple[Party, ...]) -> None:
        self.rng = rng
        self.clock = start
        self.status = "created"
        self.times: dict[str, datetime] = {"created": start}
        self.states = [PartyState() for _ in parties]
        self.parties = parties
        self.void_reason: str | None = None
        self.moments: list[Moment] = []

    def _tick(self) -> datetime:
        step = self.rng.uniform(1.0, 90.0)
        self.clock += timedelta(seconds=step, microseconds=self.rng.randrange(1, 999_999))
        return self.clock

    def envelope(self, status: str, *, event: str | None = None) -> None:
        """The envelope reaches ``status`` (or an event such as ``envelope-corrected``)."""
        at = self._tick()
        if event is None:
            self.status = status
            self.times[status] = at
            if status == "completed":
                self.times["signed"] = at
        self._emit(event or f"envelope-{status}", at)

    def recipient(self, index: int, status: str, *, event: str | None = None) -> None:
        """Recipient ``index`` reaches ``status`` (or a status-less event: ``resent``)."""
        at = self._tick()
        state = self.states[index]
        if event is None:
            self.states[index] = _advance(state, status, at)
        self._emit(event or f"recipient-{status}", at, self.parties[index].recipient_id)

    def _emit(self, event: str, at: datetime, recipient_id: str | None = None) -> None:
        self.moments.append(
            Moment(
                event=event,
                at=at,
                status=self.status,
                times=tuple(self.times.items()),
                parties=tuple(self.states),
                recipient_id=recipient_id,
                void_reason=self.void_reason,
            )
        )


def _parties(rng: random.Random, signers: int, carbon_copies: int = 0) -> tuple[Party, ...]:
    people = rng.sample(_NAMES, signers + carbon_copies)
    kinds = ["signer"] * signers + ["carbon_copy"] * carbon_copies
    return tuple(
        Party(
            recipient_id=str(number),
            guid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            kind=kind,
            name=name,
            email=email,
            routing_order=number,
        )
        for number, (kind, (name, email)) in enumerate(zip(kinds, people, strict=True), start=1)
    )


def _sign(script: _Script, index: int, *, delivered_envelope: bool = False) -> None:
    script.recipient(index, "sent")
    script.recipient(index, "delivered")
    if delivered_envelope:
        script.envelope("delivered")
    script.recipient(index, "completed")


def _play(kind: str, script: _Script) -> None:
    script.envelope("sent")
    if kind == "routing":
        _sign(script, 0, delivered_envelope=True)
        _sign(script, 1)
        script.recipient(2, "sent")
        script.recipient(2, "completed")
        script.envelope("completed")
        return
    script.recipient(0, "sent")
    if kind == "corrected":
        script.envelope("sent", event="envelope-corrected")
    elif kind == "resent":
        script.envelope("sent", event="envelope-resent")
        script.recipient(0, "sent", event="recipient-resent")
    script.recipient(0, "delivered")
    script.envelope("delivered")
    if kind == "declined":
        script.recipient(0, "declined")
        script.envelope("declined")
    elif kind == "voided":
        script.void_reason = VOID_REASON
        script.envelope("voided")
    else:
        script.recipient(0, "completed")
        script.envelope("completed")


def build_lifecycle(
    kind: str = "completed",
    *,
    rng: random.Random | None = None,
    envelope_id: str | None = None,
    start: datetime | None = None,
) -> Lifecycle:
    """Play one lifecycle of ``kind`` (one of :data:`KINDS`).

    ``completed``: one signer signs. ``routing``: two signers in routing order, then a carbon
    copy. ``declined``: the signer declines with a reason. ``voided``: the sender voids it
    with a reason after delivery. ``corrected`` / ``resent``: the envelope is corrected or
    resent before the signer completes it.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown lifecycle {kind!r}; choose from {', '.join(KINDS)}")
    rng = rng or random.Random()
    parties = _parties(rng, 2, 1) if kind == "routing" else _parties(rng, 1)
    moment = start or datetime.now(timezone.utc) - timedelta(hours=rng.uniform(1, 48))
    script = _Script(rng, moment, parties)
    _play(kind, script)
    return Lifecycle(
        envelope_id=envelope_id or str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        kind=kind,
        subject=f"{rng.choice(_SUBJECTS)} {rng.randrange(1000, 9999)}",
        parties=parties,
        moments=tuple(script.moments),
    )


def build_lifecycles(
    count: int, kinds: tuple[str, ...] = KINDS, *, rng: random.Random | None = None
) -> list[Lifecycle]:
    """``count`` lifecycles, cycling through ``kinds``."""
    rng = rng or random.Random()
    return [build_lifecycle(kinds[n % len(kinds)], rng=rng) for n in range(count)]
