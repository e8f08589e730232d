"""XML legacy bodies (``DocuSignEnvelopeInformation``), on one line as DocuSign sends them.

Times carry no offset: they are written in the account's time zone, and the message says
which with ``TimeZone`` / ``TimeZoneOffset`` — only when the configuration asks for
``includeTimeZone`` (``time_zone=False`` leaves both out, as DocuSign does without it).
Statuses are capitalised, recipient ids are GUIDs, an absent decline reason is ``xsi:nil``.
Following DocuSign's WSDL, ``EnvelopeStatus`` has no ``Voided`` element (a voided envelope
shows its ``Status`` and ``VoidReason``) but may have ``Deleted``; each recipient has its
``ClientUserId`` (embedded signing) and the form fields it filled in as ``TabStatuses``; the
envelope lists its documents as ``DocumentStatuses``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from .account import Account
from .documents import encoded_pdf
from .lifecycles import Lifecycle, Moment, Party, PartyState

NAMESPACE = "http://www.docusign.net/API/3.0"
_ROOT_OPEN = (
    '<?xml version="1.0" encoding="utf-8"?><DocuSignEnvelopeInformation '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    f'xmlns="{NAMESPACE}">'
)
_ENVELOPE_TIMES = ("created", "sent", "delivered", "signed", "completed", "declined", "deleted")
_PARTY_TIMES = (
    ("Sent", "sent_at"),
    ("Delivered", "delivered_at"),
    ("Signed", "signed_at"),
    ("Declined", "declined_at"),
)
_TYPES = {
    "signer": "Signer",
    "agent": "Agent",
    "editor": "Editor",
    "intermediary": "Intermediary",
    "carbon_copy": "CarbonCopy",
    "certified_delivery": "CertifiedDelivery",
    "in_person_signer": "InPersonSigner",
    "seal": "Seal",
    "witness": "Witness",
    "notary": "Notary",
}
#: The XML ``TabType`` of each simulated form field kind.
_TAB_TYPES = {"text": "Custom", "date": "Date"}


def local_time(moment: datetime, account: Account) -> str:
    """``2024-04-02T11:31:14.5531207`` in the account's zone, without an offset."""
    local = moment.astimezone(timezone(timedelta(hours=account.utc_offset_hours)))
    return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond:06d}7"


def _element(name: str, value: str | None) -> str:
    if value is None:
        return ""
    return f"<{name}>{escape(value)}</{name}>"


def _recipient(party: Party, state: PartyState, account: Account) -> str:
    parts = [
        _element("Type", _TYPES[party.kind]),
        _element("Email", party.email),
        _element("UserName", party.name),
        _element("RoutingOrder", str(party.routing_order)),
    ]
    for name, attribute in _PARTY_TIMES:
        stamp = getattr(state, attribute)
        if stamp is not None:
            parts.append(_element(name, local_time(stamp, account)))
    if state.decline_reason:
        parts.append(_element("DeclineReason", state.decline_reason))
    else:
        parts.append('<DeclineReason xsi:nil="true" />')
    status = "AutoResponded" if state.status == "autoresponded" else state.status.capitalize()
    parts += [
        _element("AutoRespondedReason", state.auto_responded_reason),
        _element("Status", status),
        "<CustomFields />",
    ]
    if party.tabs and state.status == "completed":
        parts.append(_tab_statuses(party))
    parts += [
        _element("AccountStatus", "Active"),
        _element("ClientUserId", party.client_user_id),
        _element("RecipientId", party.guid),
    ]
    return "<RecipientStatus>" + "".join(parts) + "</RecipientStatus>"


def _tab_statuses(party: Party) -> str:
    """The recipient's filled-in form fields as ``TabStatuses``."""
    tabs = [
        "<TabStatus>"
        + _element("TabType", _TAB_TYPES.get(kind, "Custom"))
        + _element("Status", "Signed")
        + _element("XPosition", str(100 + 20 * number))
        + _element("YPosition", "200")
        + _element("TabLabel", label)
        + _element("TabName", label)
        + _element("TabValue", value)
        + _element("DocumentID", "1")
        + _element("PageNumber", "1")
        + "</TabStatus>"
        for number, (kind, label, value) in enumerate(party.tabs, start=1)
    ]
    return "<TabStatuses>" + "".join(tabs) + "</TabStatuses>"


def _documents(lifecycle: Lifecycle, moment: Moment, document_size: int) -> str:
    if document_size <= 0:
        return ""
    pdfs = [
        "<DocumentPDF>"
        + _element("Name", f"{lifecycle.subject}.pdf")
        + _element("PDFBytes", encoded_pdf(document_size, lifecycle.subject))
        + _element("DocumentID", "1")
        + _element("DocumentType", "CONTENT")
        + "</DocumentPDF>"
    ]
    if moment.status == "completed":
        pdfs.append(
            "<DocumentPDF>"
            + _element("Name", "CertificateOfCompletion.pdf")
            + _element("PDFBytes", encoded_pdf(max(2048, document_size // 10), "Certificate"))
            + _element("DocumentType", "SUMMARY")
            + "</DocumentPDF>"
        )
    return "<DocumentPDFs>" + "".join(pdfs) + "</DocumentPDFs>"


def _envelope_status(lifecycle: Lifecycle, moment: Moment, account: Account) -> str:
    recipients = "".join(_recipient(party, state, account) for party, state in moment.recipients)
    parts = [
        "<RecipientStatuses>" + recipients + "</RecipientStatuses>",
        _element("TimeGenerated", local_time(moment.at, account)),
        _element("EnvelopeID", lifecycle.envelope_id),
        _element("Subject", lifecycle.subject),
        _element("UserName", account.sender_name),
        _element("Email", account.sender_email),
        _element("Status", moment.status.capitalize()),
    ]
    for name in _ENVELOPE_TIMES:
        stamp = moment.time(name)
        if stamp is not None:
            parts.append(_element(name.capitalize(), local_time(stamp, account)))
    parts += [
        _element("ACStatus", "Original"),
        _element("SenderIPAddress", account.sender_ip),
        "<CustomFields><CustomField><Name>Source</Name><Show>False</Show>"
        "<Required>False</Required><Value>connect-mw simulator</Value>"
        "<CustomFieldType>Text</CustomFieldType></CustomField></CustomFields>",
        _element("VoidReason", moment.void_reason),
        "<DocumentStatuses><DocumentStatus>"
        + _element("ID", "1")
        + _element("Name", f"{lifecycle.subject}.pdf")
        + "<TemplateName />"
        + _element("Sequence", "1")
        + "</DocumentStatus></DocumentStatuses>",
    ]
    return "<EnvelopeStatus>" + "".join(parts) + "</EnvelopeStatus>"


def xml_body(
    lifecycle: Lifecycle,
    moment: Moment,
    account: Account,
    *,
    document_size: int = 0,
    time_zone: bool = True,
) -> bytes:
    """The XML legacy message for ``moment`` (XML carries no ``retryCount``).

    ``time_zone=False``: no ``TimeZone``/``TimeZoneOffset`` (times still in the account's
    zone, so a receiver reads them as UTC: wrong by the account's offset).
    """
    zone = (
        _element("TimeZone", account.time_zone)
        + _element("TimeZoneOffset", str(account.utc_offset_hours))
        if time_zone
        else ""
    )
    text = (
        _ROOT_OPEN
        + _envelope_status(lifecycle, moment, account)
        + _documents(lifecycle, moment, document_size)
        + zone
        + "</DocuSignEnvelopeInformation>"
    )
    return text.encode("utf-8")
