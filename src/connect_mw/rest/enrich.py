"""Enrichment: complete a minimal Connect message with the envelope read from DocuSign.

A Connect configuration may send *minimal* SIM messages: the event, the envelope id, the
account (and the recipient id of a recipient event), no ``envelopeSummary`` — no subject,
recipients, times or custom fields. Given as ``Receiver(enrich=...)``, an enricher fetches
the envelope with its recipients and custom fields (``GET …/envelopes/{id}?include=…``, one
call) before the event's callbacks run, and returns the notification a message *with* a
summary would have given, read by the JSON parser's own envelope reader::

    client = ESignClient(DocuSignSettings.from_env())
    receiver = Receiver(hmac_keys=..., enrich=EnvelopeEnricher(client))

A message that already carries a summary (and every XML, aggregate or ``rest-poll``
notification) passes through untouched, without a call. The envelope is read when the
callbacks run, so its fields are DocuSign's current ones; the status the event names
(``envelope-sent`` → ``sent``) is kept, and a recipient event, which names none, takes the
envelope's current status. If the call fails the attempt fails and is retried like a
failing callback. Enrichment changes what callbacks see, not what was recorded: the
envelope's folded state and the transitions come from the message as it arrived.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import ParseError
from ..model import EnvelopeTimes, Notification, PayloadFormat
from ..parse.json_envelope import read_envelope
from .errors import DocuSignError
from .operations import get_envelope
from .session import Session
from .wire import Steps

if TYPE_CHECKING:
    from .client import AsyncESignClient, ESignClient

#: What the envelope is fetched with: what a summary carries by default.
DEFAULT_ENRICH_INCLUDE = ("recipients", "custom_fields")


def needs_summary(notification: Notification) -> bool:
    """Whether ``notification`` is a SIM message that came without an envelope summary.

    A summary always brings the subject, the sender or the envelope's times; a minimal
    message has none of them, and at most the one recipient a recipient event names.
    """
    n = notification
    return (
        n.format is PayloadFormat.JSON_SIM
        and n.subject is None
        and n.sender is None
        and n.times == EnvelopeTimes()
        and not n.custom_fields
        and not n.documents
        and all(r.email is None and r.name is None for r in n.recipients)
    )


def with_summary(notification: Notification, envelope: Mapping[str, Any]) -> Notification:
    """``notification`` with the fields the REST ``envelope`` object gives, as a summary does.

    Raises ``ParseError`` when the object is malformed or names another envelope.
    """
    parts = read_envelope(dict(envelope), "envelope")
    fetched = parts.envelope_id
    if fetched is not None and fetched.lower() != notification.envelope_id.lower():
        raise ParseError(f"DocuSign answered envelope {fetched} for {notification.envelope_id}")
    status = notification.status if notification.status is not None else parts.status
    return msgspec.structs.replace(
        notification,
        status=status,
        subject=parts.subject,
        sender=parts.sender,
        times=parts.times,
        recipients=parts.recipients,
        void_reason=parts.void_reason,
        decline_reason=parts.decline_reason,
        custom_fields=parts.custom_fields,
        documents=parts.documents,
        full_recipient_list=parts.full_recipient_list,
    )


def enrich_steps(
    session: Session, notification: Notification, include: Sequence[str]
) -> Steps[Notification]:
    """The enrichment of one notification, as steps either client face runs."""
    if not needs_summary(notification):
        return notification
    account = yield from session.account()
    theirs = notification.account_id
    if theirs is not None and theirs.lower() != account.account_id.lower():
        raise DocuSignError(
            f"envelope {notification.envelope_id} belongs to account {theirs}, but the "
            f"DocuSign client acts for account {account.account_id}"
        )
    envelope = yield from get_envelope(session, notification.envelope_id, include=include)
    return with_summary(notification, envelope)


class EnvelopeEnricher:
    """``Receiver(enrich=EnvelopeEnricher(client))``: completes minimal messages (see module).

    Built on the blocking :class:`~connect_mw.rest.ESignClient`, it works under every
    entry point (on an event loop the worker calls it in a thread). Share one client: it
    caches the token and the account.
    """

    def __init__(
        self, client: ESignClient, include: Sequence[str] = DEFAULT_ENRICH_INCLUDE
    ) -> None:
        self.client = client
        self.include = tuple(include)

    def __repr__(self) -> str:
        return f"EnvelopeEnricher({self.client!r})"

    def __call__(self, notification: Notification) -> Notification:
        """The notification completed (or itself, when it has a summary)."""
        return self.client.execute(enrich_steps(self.client.session, notification, self.include))


class AsyncEnvelopeEnricher:
    """:class:`EnvelopeEnricher` over an :class:`~connect_mw.rest.AsyncESignClient`.

    For callbacks that run on one event loop (the ASGI adapters' worker,
    ``Worker.arun``): an async client belongs to the loop it was first used on.
    """

    def __init__(
        self, client: AsyncESignClient, include: Sequence[str] = DEFAULT_ENRICH_INCLUDE
    ) -> None:
        self.client = client
        self.include = tuple(include)

    def __repr__(self) -> str:
        return f"AsyncEnvelopeEnricher({self.client!r})"

    async def __call__(self, notification: Notification) -> Notification:
        """The notification completed (or itself, when it has a summary)."""
        steps = enrich_steps(self.client.session, notification, self.include)
        return await self.client.execute(steps)
