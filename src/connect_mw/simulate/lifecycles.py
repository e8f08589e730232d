"""Lifecycles as DocuSign would report them: events, each with the envelope after it.

Every one of Connect's 26 event triggers occurs in some lifecycle (:data:`KINDS`):
envelopes that are created, sent, resent, delivered, corrected (before and after delivery),
completed, declined, voided, purged, deleted or discarded; recipients of every type who are
sent, resent, delivered, bounced (``recipient-autoresponded``), fail authentication, finish
later, reassign or delegate (the new recipient replaces the old one in later recipient
lists), complete or decline; and template and click events, which are about no envelope.

A :class:`Lifecycle` knows its truth — each :class:`Moment` holds the envelope's status and
its recipients as they are right after the event — so a test can check that whatever order,
duplicates and retries the deliveries suffered, the receiver folded them into that truth.
Timestamps strictly increase, as DocuSign's do.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

#: The lifecycle kinds :func:`build_lifecycle` knows.
KINDS = (
    "completed",
    "routing",
    "declined",
    "voided",
    "corrected",
    "corrected-after-delivery",
    "resent",
    "bounced",
    "reassigned",
    "delegated",
    "finish-later",
    "authentication-failed",
    "purged",
    "deleted",
    "discarded",
    "every-recipient-type",
    "template",
    "clickwrap",
)
#: Kinds about no envelope: their messages carry a template or clickwrap id instead.
NON_ENVELOPE_KINDS = ("template", "clickwrap")
#: Every recipient type, in the order of DocuSign's ``recipients`` lists.
RECIPIENT_TYPES = (
    "signer",
    "agent",
    "editor",
    "intermediary",
    "carbon_copy",
    "certified_delivery",
    "in_person_signer",
    "seal",
    "witness",
    "notary",
)
#: Types that fill in form fields (tabs).
SIGNING_TYPES = frozenset({"signer", "in_person_signer", "witness", "notary"})

_NAMES = (
    ("Zoë Müller", "zoe.mueller@example.com"),
    ("渡辺 健", "ken.watanabe@example.jp"),
    ("Amara Okafor", "amara.okafor@example.org"),
    ("Liam O'Brien", "liam.obrien@example.ie"),
    ("Sofía Hernández", "sofia.hernandez@example.es"),
    ("Mei Chen", "mei.chen@example.cn"),
    ("Olu Adeyemi", "olu.adeyemi@example.ng"),
    ("Priya Nair", "priya.nair@example.in"),
    ("Jonas Berg", "jonas.berg@example.se"),
    ("Ana Silva", "ana.silva@example.br"),
    ("Tomás Novák", "tomas.novak@example.cz"),
    ("Lena Fischer", "lena.fischer@example.at"),
)
_SUBJECTS = ("Rahmenvertrag", "Mietvertrag", "NDA", "Statement of work", "Offer letter")
DECLINE_REASON = "The amounts in section 3 are wrong."
VOID_REASON = "Superseded by a corrected envelope."
BOUNCE_REASON = "550 5.1.1 mailbox unavailable"
#: The form fields each signing recipient fills in: (tab kind, label, value).
FORM_FIELDS = (("text", "Company", "ACME GmbH"), ("date", "Start date", "2026-02-01"))


@dataclass(frozen=True, slots=True)
class Party:
    """A recipient of the simulated envelope (``kind`` is one of :data:`RECIPIENT_TYPES`)."""

    recipient_id: str
    guid: str
    kind: str
    name: str
    email: str
    routing_order: int
    client_user_id: str | None = None
    #: Form fields the recipient fills in: (tab kind, label, value).
    tabs: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PartyState:
    """A recipient's status and per-status times at one moment."""

    status: str = "created"
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    signed_at: datetime | None = None
    declined_at: datetime | None = None
    decline_reason: str | None = None
    auto_responded_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Moment:
    """One event and the envelope right after it: what a Connect message reports.

    ``recipients`` are the envelope's recipients at that moment (a reassigned recipient is
    replaced by the new one). For an event about no envelope, ``subject_id`` is the
    template or clickwrap id and ``data`` the message's extra ``data`` fields.
    """

    event: str
    at: datetime
    status: str
    times: tuple[tuple[str, datetime], ...]
    recipients: tuple[tuple[Party, PartyState], ...]
    recipient_id: str | None = None
    void_reason: str | None = None
    subject_id: str | None = None
    data: tuple[tuple[str, str], ...] = ()

    def time(self, name: str) -> datetime | None:
        """The envelope's ``name`` time (``sent``, ``completed`` …) at this moment."""
        return dict(self.times).get(name)

    @property
    def about_envelope(self) -> bool:
        """Whether the event is about an envelope (template and click events are not)."""
        return self.subject_id is None


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """One simulated envelope (or template, or clickwrap) and the moments DocuSign reports."""

    envelope_id: str
    kind: str
    subject: str
    parties: tuple[Party, ...]
    moments: tuple[Moment, ...]
    #: The template or clickwrap id of a lifecycle about no envelope (``envelope_id`` "").
    subject_id: str | None = None

    @property
    def about_envelope(self) -> bool:
        """Whether this is an envelope's lifecycle."""
        return self.subject_id is None

    @property
    def lane(self) -> str:
        """What orders its messages: the envelope id, or the template/clickwrap id."""
        return self.envelope_id or self.subject_id or ""

    @property
    def events(self) -> tuple[str, ...]:
        """The event names of its moments, in order."""
        return tuple(moment.event for moment in self.moments)

    def only(self, events: Iterable[str] | None) -> Lifecycle:
        """The lifecycle as a subscription to ``events`` sees it (``None``: every event)."""
        if events is None:
            return self
        wanted = frozenset(events)
        return replace(self, moments=tuple(m for m in self.moments if m.event in wanted))

    @property
    def final_status(self) -> str:
        """The envelope status the receiver must end with (full-list formats)."""
        return self.moments[-1].status

    def final_recipients(self, *, by_guid: bool = False) -> dict[str, str]:
        """Each recipient's final status, by short id (JSON) or GUID (XML)."""
        return {
            (party.guid if by_guid else party.recipient_id): state.status
            for party, state in self.moments[-1].recipients
        }

    def removed_recipients(self, *, by_guid: bool = False) -> set[str]:
        """Recipients an earlier message listed and the last one no longer does."""
        final = {party.recipient_id for party, _ in self.moments[-1].recipients}
        return {
            party.guid if by_guid else party.recipient_id
            for moment in self.moments
            for party, _ in moment.recipients
            if party.recipient_id not in final
        }

    def reported_truth(self) -> tuple[str | None, dict[str, str]]:
        """What minimal SIM messages (no summary) can tell: envelope and recipient statuses.

        The status each ``envelope-<status>`` / ``recipient-<status>`` event names, the
        latest winning, as the receiver folds them (a terminal status stays).
        """
        status: str | None = None
        recipients: dict[str, str] = {}
        for moment in self.moments:
            kind, _, named = moment.event.partition("-")
            if kind == "envelope" and named in _ENVELOPE_EVENT_STATUSES:
                if status not in _TERMINAL or named == "deleted":
                    status = named
            elif kind == "recipient" and moment.recipient_id is not None:
                rid = moment.recipient_id  # named, so known, even without a status ("None")
                if named not in _RECIPIENT_EVENT_STATUSES:
                    recipients.setdefault(rid, "None")
                elif recipients.get(rid) not in ("completed", "declined"):
                    recipients[rid] = named
        return status, recipients


_ENVELOPE_EVENT_STATUSES = frozenset(
    {"created", "sent", "delivered", "completed", "declined", "voided", "deleted"}
)
_RECIPIENT_EVENT_STATUSES = frozenset(
    {"sent", "delivered", "completed", "declined", "autoresponded"}
)
_TERMINAL = frozenset({"completed", "declined", "voided"})


def _advance(state: PartyState, status: str, at: datetime) -> PartyState:
    """``state`` after the recipient reached ``status`` at ``at``."""
    if status == "sent":
        return replace(state, status=status, sent_at=at, auto_responded_reason=None)
    if status == "delivered":
        return replace(state, status=status, delivered_at=at)
    if status == "declined":
        return replace(state, status=status, declined_at=at, decline_reason=DECLINE_REASON)
    if status == "autoresponded":
        return replace(state, status=status, auto_responded_reason=BOUNCE_REASON)
    return replace(state, status=status, signed_at=at)


@dataclass
class _Script:
    """Plays a lifecycle: each call advances the clock and records a :class:`Moment`."""

    rng: random.Random
    clock: datetime
    roster: list[tuple[Party, PartyState]]
    status: str = "created"
    times: dict[str, datetime] = field(default_factory=dict)
    void_reason: str | None = None
    moments: list[Moment] = field(default_factory=list)

    def tick(self) -> datetime:
        step = self.rng.uniform(1.0, 90.0)
        self.clock += timedelta(seconds=step, microseconds=self.rng.randrange(1, 999_999))
        return self.clock

    def envelope(self, status: str, *, event: str | None = None) -> None:
        """The envelope reaches ``status``, or ``event`` happens to it.

        ``envelope-corrected`` may step it back; ``envelope-purge`` leaves it as it is.
        """
        at = self.tick()
        if status != self.status or event is None:
            self.status = status
            self.times[status] = at
            if status == "completed":
                self.times["signed"] = at
        self.emit(event or f"envelope-{status}", at)

    def recipient(self, index: int, status: str | None, *, event: str | None = None) -> None:
        """Recipient ``index`` reaches ``status`` (``None``: an event that changes nothing)."""
        at = self.tick()
        party, state = self.roster[index]
        if status is not None:
            self.roster[index] = (party, _advance(state, status, at))
        self.emit(event or f"recipient-{status}", at, party.recipient_id)

    def replace_party(self, index: int, new: Party, event: str) -> None:
        """Recipient ``index`` reassigns (or delegates) to ``new``, who is sent the envelope."""
        at = self.tick()
        old, _ = self.roster[index]
        self.roster[index] = (new, _advance(PartyState(), "sent", at))
        self.emit(event, at, old.recipient_id)

    def fix_email(self, index: int, email: str) -> None:
        """A correction after a bounce: the recipient's address is fixed."""
        party, state = self.roster[index]
        self.roster[index] = (replace(party, email=email), state)
        self.envelope(self.status, event="envelope-corrected")

    def emit(self, event: str, at: datetime, recipient_id: str | None = None) -> None:
        self.moments.append(
            Moment(
                event=event,
                at=at,
                status=self.status,
                times=tuple(self.times.items()),
                recipients=tuple(self.roster),
                recipient_id=recipient_id,
                void_reason=self.void_reason,
            )
        )


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _parties(rng: random.Random, kinds: list[str], *, embedded: bool = False) -> list[Party]:
    people = rng.sample(_NAMES, len(kinds))
    return [
        Party(
            recipient_id=str(number),
            guid=_guid(rng),
            kind=kind,
            name=name,
            email=email,
            routing_order=number,
            client_user_id=f"user-{rng.randrange(10_000, 99_999)}"
            if embedded and number == 1
            else None,
            tabs=FORM_FIELDS if kind in SIGNING_TYPES else (),
        )
        for number, (kind, (name, email)) in enumerate(zip(kinds, people, strict=True), start=1)
    ]


def _sign(script: _Script, index: int, *, delivered_envelope: bool = False) -> None:
    script.recipient(index, "sent")
    script.recipient(index, "delivered")
    if delivered_envelope:
        script.envelope("delivered")
    script.recipient(index, "completed")


def _newcomer(script: _Script, index: int) -> Party:
    old, _ = script.roster[index]
    taken = {party.email for party, _ in script.roster}
    name, email = next(p for p in _NAMES if p[1] not in taken)
    number = str(len(script.roster) + 1)
    return replace(old, recipient_id=number, guid=_guid(script.rng), name=name, email=email)


def _play(kind: str, script: _Script) -> None:  # noqa: PLR0912 - one script per kind
    script.emit("envelope-created", script.clock)
    if kind == "discarded":
        script.envelope("created", event="envelope-discard")
        return
    script.envelope("sent")
    if kind in ("routing", "every-recipient-type"):
        _sign(script, 0, delivered_envelope=True)
        for index in range(1, len(script.roster)):
            party, _ = script.roster[index]
            script.recipient(index, "sent")
            if party.kind != "carbon_copy":
                script.recipient(index, "delivered")
            script.recipient(index, "completed")
        script.envelope("completed")
        return
    script.recipient(0, "sent")
    if kind == "corrected":
        script.envelope("sent", event="envelope-corrected")
    elif kind == "resent":
        script.envelope("sent", event="envelope-resent")
        script.recipient(0, "sent", event="recipient-resent")
    elif kind == "bounced":
        script.recipient(0, "autoresponded")
        script.fix_email(0, "fixed." + script.roster[0][0].email)
        script.recipient(0, "sent")
    elif kind == "authentication-failed":
        script.recipient(0, None, event="recipient-authenticationfailed")
    script.recipient(0, "delivered")
    script.envelope("delivered")
    if kind == "corrected-after-delivery":
        script.envelope("sent", event="envelope-corrected")
        script.recipient(0, "sent")
        script.recipient(0, "delivered")
        script.envelope("delivered")
    elif kind == "finish-later":
        script.recipient(0, None, event="recipient-finish-later")
    elif kind in ("reassigned", "delegated"):
        event = "recipient-reassign" if kind == "reassigned" else "recipient-delegate"
        script.replace_party(0, _newcomer(script, 0), event)
        script.recipient(0, "delivered")
    if kind == "declined":
        script.recipient(0, "declined")
        script.envelope("declined")
        return
    if kind in ("voided", "deleted"):
        script.void_reason = VOID_REASON
        script.envelope("voided")
        if kind == "deleted":
            script.envelope("deleted")
        return
    script.recipient(0, "completed")
    script.envelope("completed")
    if kind == "purged":
        script.envelope("completed", event="envelope-purge")


def _non_envelope(kind: str, rng: random.Random, start: datetime) -> Lifecycle:
    """A template's life (created, modified, deleted) or a clickwrap's (agreed, declined)."""
    subject_id = _guid(rng)
    clock = start
    moments = []
    steps: list[tuple[str, tuple[tuple[str, str], ...]]]
    if kind == "template":
        steps = [(f"template-{step}", ()) for step in ("created", "modified", "deleted")]
    else:
        steps = [
            (f"click-{answer}", (("agreementId", _guid(rng)), ("clientUserId", f"visitor-{n}")))
            for n, answer in enumerate(("agreed", "declined"), start=1)
        ]
    for event, data in steps:
        clock += timedelta(seconds=rng.uniform(1.0, 90.0), microseconds=rng.randrange(1, 999_999))
        moments.append(Moment(event, clock, "", (), (), subject_id=subject_id, data=data))
    name = "Standard NDA template" if kind == "template" else "Terms of use"
    return Lifecycle("", kind, name, (), tuple(moments), subject_id=subject_id)


def build_lifecycle(
    kind: str = "completed",
    *,
    rng: random.Random | None = None,
    envelope_id: str | None = None,
    start: datetime | None = None,
) -> Lifecycle:
    """Play one lifecycle of ``kind`` (one of :data:`KINDS`).

    Every envelope lifecycle starts with ``envelope-created``. ``completed``: one embedded
    signer (with a ``clientUserId``) signs. ``routing``: two signers in routing order, then
    a carbon copy. ``every-recipient-type``: one recipient of each of the ten types, in
    routing order. ``declined``: the signer declines with a reason. ``voided``: the sender
    voids it after delivery; ``deleted``: then deletes it. ``corrected`` / ``resent``: the
    envelope is corrected or resent before delivery; ``corrected-after-delivery``: after
    it (envelope and signer step back to sent, then go on). ``bounced``: the signer's email
    bounces (``recipient-autoresponded``), a correction fixes the address, the signer is
    sent again. ``reassigned`` / ``delegated``: the signer hands over to someone new, who
    signs. ``finish-later``, ``authentication-failed``: those recipient events, then the
    signer signs. ``purged``: completed, then its documents purged. ``discarded``: a draft
    discarded. ``template``: a template created, modified, deleted; ``clickwrap``: one
    visitor agrees, another declines (both about no envelope).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown lifecycle {kind!r}; choose from {', '.join(KINDS)}")
    rng = rng or random.Random()
    moment = start or datetime.now(timezone.utc) - timedelta(hours=rng.uniform(1, 48))
    if kind in NON_ENVELOPE_KINDS:
        return _non_envelope(kind, rng, moment)
    if kind == "routing":
        kinds = ["signer", "signer", "carbon_copy"]
    elif kind == "every-recipient-type":
        kinds = list(RECIPIENT_TYPES)
    else:
        kinds = ["signer"]
    parties = _parties(rng, kinds, embedded=kind == "completed")
    script = _Script(rng, moment, [(party, PartyState()) for party in parties], "created")
    script.times["created"] = moment
    _play(kind, script)
    everyone = {party.recipient_id: party for m in script.moments for party, _ in m.recipients}
    return Lifecycle(
        envelope_id=envelope_id or _guid(rng),
        kind=kind,
        subject=f"{rng.choice(_SUBJECTS)} {rng.randrange(1000, 9999)}",
        parties=tuple(everyone.values()),
        moments=tuple(script.moments),
    )


def build_lifecycles(
    count: int, kinds: tuple[str, ...] = KINDS, *, rng: random.Random | None = None
) -> list[Lifecycle]:
    """``count`` lifecycles, cycling through ``kinds``."""
    rng = rng or random.Random()
    return [build_lifecycle(kinds[n % len(kinds)], rng=rng) for n in range(count)]


def every_event(lifecycles: Iterable[Lifecycle]) -> set[str]:
    """The event names ``lifecycles`` produce between them."""
    return {event for lifecycle in lifecycles for event in lifecycle.events}
